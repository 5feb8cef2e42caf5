import type { z } from 'zod';
import {
  PspSimCaptureRequestSchema,
  type PspSimCharge,
  PspSimChargeRequestSchema,
  type PspSimOperation,
  PspSimRefundRequestSchema,
  PspSimVoidRequestSchema,
} from '../connectors/psp-sim/wire.ts';
import { sandboxOutcome } from '../connectors/sandbox/outcomes.ts';
import { assert } from '../lib/assert.ts';
import { Secret } from '../lib/crypto.ts';
import { randomBase36 } from '../lib/ids.ts';
import type { ChargeInstrument } from '../vault/types.ts';
import type { SimStore } from './store.ts';

// What the simulator does with each /v1 request, once the fault mode let it
// through. Every state change is written durably (store.ts) before the reply
// is built. Requests are handled synchronously after their body is read, so
// the reference check and the write cannot interleave with another request.

export interface SimReply {
  httpStatus: number;
  body: unknown;
}

export interface SimContext {
  store: SimStore;
  nowMs(): number;
  /** Where the simulated 3-D Secure page of a charge is. */
  challengeUrl(chargeId: string): string;
}

function newSimId(prefix: string, nowMs: number): string {
  return `${prefix}_${nowMs.toString(36)}${randomBase36(14)}`;
}

/** A 400 naming the first field zod refused (an unknown key, or the path of a bad value). */
export function invalidParamsReply(error: z.ZodError): SimReply {
  const issue = error.issues[0];
  const param =
    issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? '') : (issue?.path.join('.') ?? '');
  return errorReply(400, {
    code: 'parameter_invalid',
    param,
    message: `${param}: ${issue?.message ?? 'invalid'}`,
  });
}

export function errorReply(
  httpStatus: number,
  error: {
    type?: string;
    code: string;
    message: string;
    param?: string | null;
    decline_code?: string | null;
    /** The declined charge that was recorded (402 only). */
    charge?: string;
  },
): SimReply {
  return {
    httpStatus,
    body: { error: { type: error.type ?? 'invalid_request_error', param: null, ...error } },
  };
}

function parse<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { ok: true; data: z.output<T> } | { ok: false; reply: SimReply } {
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const param = issue?.path.map(String).join('.') || null;
  return {
    ok: false,
    reply: errorReply(400, {
      code:
        issue?.code === 'invalid_type' && issue.input === undefined
          ? 'parameter_missing'
          : 'parameter_invalid',
      param,
      message: `${param ?? 'body'}: ${issue?.message ?? 'invalid'}`,
    }),
  };
}

const storageFull = (): SimReply =>
  errorReply(503, {
    type: 'api_error',
    code: 'storage_full',
    message: 'psp-sim record limit reached',
  });

/** A charge as the caller sees it: a declined one is a 402 card error, like Stripe. */
function chargeReply(charge: PspSimCharge): SimReply {
  if (charge.status !== 'declined') return { httpStatus: 200, body: charge };
  return errorReply(402, {
    type: 'card_error',
    code: charge.failure_code ?? 'card_declined',
    message: charge.failure_message ?? 'Your card was declined.',
    decline_code: charge.decline_code,
    charge: charge.id,
  });
}

type ChargeInput = z.output<typeof PspSimChargeRequestSchema>;

/** A ChargeInstrument for the sandbox's outcome table; only a card's number matters to it. */
function instrumentOf(input: ChargeInput): ChargeInstrument | null {
  const last4 = input.last4 ?? '';
  switch (input.payment_method_type) {
    case 'card':
      if (!input.card) return null;
      return {
        type: 'card',
        number: new Secret(input.card.number),
        brand: 'unknown',
        last4: input.card.number.slice(-4),
        expMonth: input.card.exp_month,
        expYear: input.card.exp_year,
        funding: 'unknown',
        country: null,
      };
    case 'sepa_debit':
      return { type: 'sepa_debit', iban: new Secret(''), last4, country: null };
    case 'us_bank_account':
      return { type: 'us_bank_account', accountNumber: new Secret(''), routingNumber: '', last4 };
    case 'wallet':
      return { type: 'wallet', wallet: 'unknown', token: new Secret('') };
    default: {
      const never: never = input.payment_method_type;
      throw new Error(`unhandled payment method type ${JSON.stringify(never)}`);
    }
  }
}

/** POST /v1/charges: idempotent by `reference`; a repeat answers the stored charge. */
export function createCharge(ctx: SimContext, body: unknown): SimReply {
  const parsed = parse(PspSimChargeRequestSchema, body);
  if (!parsed.ok) return parsed.reply;
  const input = parsed.data;
  const existing = ctx.store.byReference(input.reference);
  if (existing) {
    return existing.object === 'charge'
      ? chargeReply(existing)
      : errorReply(409, {
          code: 'idempotency_error',
          param: 'reference',
          message: `reference ${input.reference} was used by a ${existing.object}`,
        });
  }
  const instrument = instrumentOf(input);
  if (!instrument) {
    return errorReply(400, {
      code: 'parameter_missing',
      param: 'card',
      message: 'card: required when payment_method_type is card',
    });
  }
  if (!ctx.store.hasRoom()) return storageFull();
  const charge = decideCharge(ctx, input, instrument);
  ctx.store.saveCharge(charge);
  return chargeReply(charge);
}

function decideCharge(
  ctx: SimContext,
  input: ChargeInput,
  instrument: ChargeInstrument,
): PspSimCharge {
  const nowMs = ctx.nowMs();
  const id = newSimId('simch', nowMs);
  const base: PspSimCharge = {
    id,
    object: 'charge',
    reference: input.reference,
    payment_reference: input.payment_reference,
    status: 'authorized',
    amount: input.amount,
    currency: input.currency,
    amount_captured: 0,
    amount_refunded: 0,
    voided: false,
    payment_method_type: input.payment_method_type,
    last4: instrument.type === 'wallet' ? null : instrument.last4 || null,
    redirect_url: null,
    failure_code: null,
    decline_code: null,
    failure_message: null,
    created_ms: nowMs,
  };
  const outcome = sandboxOutcome(instrument, input.authenticated);
  switch (outcome.kind) {
    case 'succeed':
      return input.capture ? { ...base, status: 'captured', amount_captured: input.amount } : base;
    case 'authenticate':
      return { ...base, status: 'requires_action', redirect_url: ctx.challengeUrl(id) };
    case 'decline':
      return {
        ...base,
        status: 'declined',
        failure_code: outcome.code,
        decline_code: outcome.declineCode,
        failure_message: outcome.message,
      };
    case 'retryable':
      return {
        ...base,
        status: 'declined',
        failure_code: outcome.code,
        failure_message: outcome.message,
      };
    default: {
      const never: never = outcome;
      throw new Error(`unhandled sandbox outcome ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The shared part of capture, void and refund: a repeated reference answers
 * the stored operation; a reference used for something else is a 409.
 */
function replayOperation(
  ctx: SimContext,
  reference: string,
  object: PspSimOperation['object'],
): SimReply | null {
  const existing = ctx.store.byReference(reference);
  if (!existing) return null;
  if (existing.object === object) return { httpStatus: 200, body: existing };
  return errorReply(409, {
    code: 'idempotency_error',
    param: 'reference',
    message: `reference ${reference} was used by a ${existing.object}`,
  });
}

function findCharge(ctx: SimContext, id: string, param: string): PspSimCharge | SimReply {
  const charge = ctx.store.chargeById(id);
  return (
    charge ??
    errorReply(404, { code: 'resource_missing', param, message: `no such charge: '${id}'` })
  );
}

function record(
  ctx: SimContext,
  input: { object: PspSimOperation['object']; reference: string; amount: number },
  charge: PspSimCharge,
): SimReply {
  if (!ctx.store.hasRoom()) return storageFull();
  const nowMs = ctx.nowMs();
  const prefix = { capture: 'simcap', void: 'simvoid', refund: 'simre' }[input.object];
  const operation: PspSimOperation = {
    id: newSimId(prefix, nowMs),
    object: input.object,
    reference: input.reference,
    charge: charge.id,
    amount: input.amount,
    status: 'succeeded',
    created_ms: nowMs,
  };
  ctx.store.saveOperation(operation, charge);
  return { httpStatus: 200, body: operation };
}

function notAuthorized(charge: PspSimCharge): SimReply | null {
  if (charge.status === 'captured') {
    return errorReply(400, {
      code: 'charge_already_captured',
      message: `charge ${charge.id} is already captured`,
    });
  }
  if (charge.voided) {
    return errorReply(400, { code: 'charge_voided', message: `charge ${charge.id} is voided` });
  }
  if (charge.status !== 'authorized') {
    return errorReply(400, {
      code: 'charge_not_authorized',
      message: `charge ${charge.id} is ${charge.status}`,
    });
  }
  return null;
}

/** POST /v1/charges/:id/capture. */
export function captureCharge(ctx: SimContext, chargeId: string, body: unknown): SimReply {
  const parsed = parse(PspSimCaptureRequestSchema, body);
  if (!parsed.ok) return parsed.reply;
  const input = parsed.data;
  const replay = replayOperation(ctx, input.reference, 'capture');
  if (replay) return replay;
  const charge = findCharge(ctx, chargeId, 'id');
  if (!('object' in charge)) return charge;
  const refused = notAuthorized(charge);
  if (refused) return refused;
  if (input.amount > charge.amount) {
    return errorReply(400, {
      code: 'amount_too_large',
      param: 'amount',
      message: `amount: cannot capture ${input.amount}, the authorization is ${charge.amount}`,
    });
  }
  const captured: PspSimCharge = { ...charge, status: 'captured', amount_captured: input.amount };
  return record(
    ctx,
    { object: 'capture', reference: input.reference, amount: input.amount },
    captured,
  );
}

/** POST /v1/charges/:id/void: releases an uncaptured authorization. */
export function voidCharge(ctx: SimContext, chargeId: string, body: unknown): SimReply {
  const parsed = parse(PspSimVoidRequestSchema, body);
  if (!parsed.ok) return parsed.reply;
  const replay = replayOperation(ctx, parsed.data.reference, 'void');
  if (replay) return replay;
  const charge = findCharge(ctx, chargeId, 'id');
  if (!('object' in charge)) return charge;
  const refused = notAuthorized(charge);
  if (refused) return refused;
  const voided: PspSimCharge = { ...charge, voided: true };
  return record(
    ctx,
    { object: 'void', reference: parsed.data.reference, amount: charge.amount },
    voided,
  );
}

/** POST /v1/refunds: never more than was captured, in total. */
export function createRefund(ctx: SimContext, body: unknown): SimReply {
  const parsed = parse(PspSimRefundRequestSchema, body);
  if (!parsed.ok) return parsed.reply;
  const input = parsed.data;
  const replay = replayOperation(ctx, input.reference, 'refund');
  if (replay) return replay;
  const charge = findCharge(ctx, input.charge, 'charge');
  if (!('object' in charge)) return charge;
  if (charge.status !== 'captured') {
    return errorReply(400, {
      code: 'charge_not_captured',
      param: 'charge',
      message: `charge ${charge.id} is ${charge.voided ? 'voided' : charge.status}, not captured`,
    });
  }
  const refundableMinor = charge.amount_captured - charge.amount_refunded;
  if (input.amount > refundableMinor) {
    return errorReply(400, {
      code: 'amount_too_large',
      param: 'amount',
      message: `amount: cannot refund ${input.amount}, ${refundableMinor} is left to refund`,
    });
  }
  const refunded: PspSimCharge = {
    ...charge,
    amount_refunded: charge.amount_refunded + input.amount,
  };
  assert(refunded.amount_refunded <= refunded.amount_captured, 'refunds never exceed the capture');
  return record(
    ctx,
    { object: 'refund', reference: input.reference, amount: input.amount },
    refunded,
  );
}

/** GET /v1/charges?reference=...: the charge or operation that carries it. */
export function lookupByReference(ctx: SimContext, reference: string | null): SimReply {
  if (!reference) {
    return errorReply(400, {
      code: 'parameter_missing',
      param: 'reference',
      message: 'reference: required query parameter',
    });
  }
  const found = ctx.store.byReference(reference);
  return found
    ? { httpStatus: 200, body: found }
    : errorReply(404, {
        code: 'resource_missing',
        param: 'reference',
        message: `nothing has reference '${reference}'`,
      });
}
