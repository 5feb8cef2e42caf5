import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../lib/crypto.ts';
import { LIMITS } from '../../lib/limits.ts';
import {
  type AuthorizeRequest,
  type ConnectorOperation,
  type ConnectorOutcome,
  type DisputeNotice,
  FAILURE_CODES,
  type ProcessorNotice,
  type RetrieveOutcome,
  type WebhookNotice,
} from '../types.ts';
import {
  type PspSimCharge,
  type PspSimChargeRequest,
  PspSimChargeSchema,
  PspSimDisputeNoticeSchema,
  PspSimErrorSchema,
  type PspSimLookup,
  PspSimLookupSchema,
  type PspSimNotice,
  PspSimNoticeSchema,
  PspSimOperationSchema,
} from './wire.ts';

// Pure mapping between Payrail's connector contract and the psp-sim wire
// format (docs/psp-sim.md). No I/O here: connector.ts does the calls.

/** One HTTP answer, as the client read it; `body` is null when it was not JSON. */
export interface PspSimHttpAnswer {
  httpStatus: number;
  body: unknown;
}

/** The body of POST /v1/charges for an authorization. */
export function toPspSimChargeRequest(request: AuthorizeRequest): PspSimChargeRequest {
  const base = {
    reference: request.reference,
    payment_reference: request.paymentIntentId,
    amount: request.amountMinor,
    currency: request.currency.toLowerCase(),
    capture: request.capture,
    authenticated: request.authenticated,
    statement_descriptor: request.statementDescriptor,
  };
  const instrument = request.instrument;
  switch (instrument.type) {
    case 'card':
      return {
        ...base,
        payment_method_type: 'card',
        card: {
          number: instrument.number.reveal(),
          exp_month: instrument.expMonth,
          exp_year: instrument.expYear,
        },
      };
    case 'sepa_debit':
    case 'us_bank_account':
      return { ...base, payment_method_type: instrument.type, last4: instrument.last4 };
    case 'wallet':
      return { ...base, payment_method_type: 'wallet' };
    default: {
      const never: never = instrument;
      throw new Error(`unhandled instrument ${JSON.stringify(never)}`);
    }
  }
}

/** Stripe's `processing_error` is the one card error another processor may well approve. */
const RETRYABLE_CARD_CODES: ReadonlySet<string> = new Set(['processing_error']);

/** A recorded charge, whether it was just made or found by reference. */
export function fromPspSimCharge(charge: PspSimCharge): ConnectorOutcome {
  switch (charge.status) {
    case 'authorized':
    case 'captured':
      return { status: 'succeeded', connectorReference: charge.id };
    case 'requires_action':
      if (!charge.redirect_url) return unknown('psp-sim requires_action without redirect_url');
      return {
        status: 'requires_action',
        connectorReference: charge.id,
        nextAction: { type: 'redirect_to_url', url: charge.redirect_url },
      };
    case 'declined':
      return declined({
        charge: charge.id,
        code: charge.failure_code ?? 'card_declined',
        declineCode: charge.decline_code,
        message: charge.failure_message ?? 'The card was declined.',
      });
    default: {
      const never: never = charge.status;
      throw new Error(`unhandled psp-sim charge status ${JSON.stringify(never)}`);
    }
  }
}

function declined(input: {
  charge: string | null;
  code: string;
  declineCode: string | null;
  message: string;
}): ConnectorOutcome {
  if (RETRYABLE_CARD_CODES.has(input.code)) {
    // Parity with the sandbox connector: the processor certainly did not charge.
    return { status: 'failed_retryable', code: input.code, message: input.message };
  }
  return {
    status: 'declined',
    connectorReference: input.charge,
    code: input.code,
    declineCode: input.declineCode,
    message: input.message,
  };
}

function unknown(reason: string): ConnectorOutcome {
  return { status: 'unknown', reason };
}

/** A 200 body: the charge (authorize) or the operation object (capture, void, refund). */
function fromSuccessBody(body: unknown, operation: ConnectorOperation): ConnectorOutcome {
  if (operation === 'authorize') {
    const charge = PspSimChargeSchema.safeParse(body);
    return charge.success
      ? fromPspSimCharge(charge.data)
      : unknown('psp-sim answered 200 with an unreadable charge');
  }
  const op = PspSimOperationSchema.safeParse(body);
  if (!op.success || op.data.object !== operation) {
    return unknown(`psp-sim answered 200 without a ${operation} object`);
  }
  return { status: 'succeeded', connectorReference: op.data.id };
}

function errorMessage(body: unknown, fallback: string): string {
  const parsed = PspSimErrorSchema.safeParse(body);
  return parsed.success ? parsed.data.error.message : fallback;
}

/**
 * The answer to POST /v1/charges, /capture, /void or /v1/refunds. Only the
 * statuses the simulator documents as "before acting" become
 * failed_retryable; anything unexpected is `unknown`, never a failure.
 */
export function fromPspSimAnswer(
  answer: PspSimHttpAnswer,
  operation: ConnectorOperation,
): ConnectorOutcome {
  const { httpStatus, body } = answer;
  if (httpStatus === 200) return fromSuccessBody(body, operation);
  if (httpStatus === 503) {
    return {
      status: 'failed_retryable',
      code: FAILURE_CODES.unavailable,
      message: errorMessage(body, 'psp-sim is unavailable (503)'),
    };
  }
  if (httpStatus === 500) {
    return {
      status: 'failed_retryable',
      code: FAILURE_CODES.error,
      message: errorMessage(body, 'psp-sim internal error (500)'),
    };
  }
  if (httpStatus === 429) {
    return {
      status: 'failed_retryable',
      code: FAILURE_CODES.rateLimited,
      message: errorMessage(body, 'psp-sim is rate limiting (429)'),
    };
  }
  if (httpStatus === 401) {
    // A wrong api_key: the simulator refused before acting, and another
    // connector may take the payment; the message tells the operator why.
    return {
      status: 'failed_retryable',
      code: FAILURE_CODES.error,
      message: `psp-sim rejected the api_key (401): ${errorMessage(body, 'unauthorized')}`,
    };
  }
  if (httpStatus === 402 || httpStatus === 400 || httpStatus === 404 || httpStatus === 409) {
    // The simulator refused the request and documents that it changed nothing
    // (a 402 records the declined charge, which is no money movement).
    const parsed = PspSimErrorSchema.safeParse(body);
    if (!parsed.success) return unknown(`psp-sim answered ${httpStatus} with an unreadable error`);
    const error = parsed.data.error;
    return declined({
      charge: error.charge ?? null,
      code: error.code,
      declineCode: error.decline_code ?? null,
      message: error.message,
    });
  }
  return unknown(`psp-sim answered HTTP ${httpStatus}`);
}

/** The answer to GET /v1/charges?reference=...: 404 means it never saw the request. */
export function fromPspSimLookup(
  answer: PspSimHttpAnswer,
  operation: ConnectorOperation,
): RetrieveOutcome {
  if (answer.httpStatus === 404) return { status: 'not_found' };
  if (answer.httpStatus !== 200) {
    return unknown(`psp-sim lookup answered HTTP ${answer.httpStatus}`);
  }
  const parsed = PspSimLookupSchema.safeParse(answer.body);
  if (!parsed.success) return unknown('psp-sim lookup answered an unreadable object');
  return fromLookupObject(parsed.data, operation);
}

function fromLookupObject(found: PspSimLookup, operation: ConnectorOperation): ConnectorOutcome {
  const foundOperation: ConnectorOperation = found.object === 'charge' ? 'authorize' : found.object;
  if (foundOperation !== operation) {
    return unknown(`reference ${found.reference} is a ${found.object}, not a ${operation}`);
  }
  return found.object === 'charge'
    ? fromPspSimCharge(found)
    : { status: 'succeeded', connectorReference: found.id };
}

/** Error codes that mean the connection was never made, so the request never left. */
const NOT_CONNECTED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function errorCode(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

/** Whether fetch failed before connecting (its `cause`, or every address tried, refused). */
export function neverConnected(error: unknown): boolean {
  const cause =
    typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : null;
  const code = errorCode(cause);
  if (code !== null) return NOT_CONNECTED_CODES.has(code);
  const attempts = (cause as { errors?: unknown } | null)?.errors;
  return (
    Array.isArray(attempts) &&
    attempts.length > 0 &&
    attempts.every((e) => NOT_CONNECTED_CODES.has(errorCode(e) ?? ''))
  );
}

/** A fetch that threw: refused before connecting is safe to retry, anything else is unknown. */
export function fromPspSimTransportError(error: unknown): ConnectorOutcome {
  if (neverConnected(error)) {
    return {
      status: 'failed_retryable',
      code: FAILURE_CODES.unreachable,
      message: `psp-sim is unreachable: ${describe(error)}`,
    };
  }
  return unknown(`psp-sim call failed after sending: ${describe(error)}`);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

// --- signed notices ---

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(api_key, t + '.' + body)>`. */
export function signPspSimPayload(input: {
  apiKey: string;
  rawBody: string;
  timestampSeconds: number;
}): string {
  const v1 = createHmac('sha256', input.apiKey)
    .update(`${input.timestampSeconds}.${input.rawBody}`)
    .digest('hex');
  return `t=${input.timestampSeconds},v1=${v1}`;
}

/** Throws an Error naming what is wrong unless `header` signs `rawBody` with `apiKey`, recently. */
export function verifyPspSimSignature(input: {
  header: string | undefined;
  rawBody: string;
  apiKey: string;
  nowMs: number;
}): void {
  if (!input.header) throw new Error('psp-sim notice has no PspSim-Signature header');
  const parts = new Map<string, string[]>();
  for (const item of input.header.split(',')) {
    const [key, value] = item.split('=', 2).map((s) => s.trim());
    if (key && value) parts.set(key, [...(parts.get(key) ?? []), value]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  const signatures = parts.get('v1') ?? [];
  if (!Number.isSafeInteger(timestamp) || signatures.length === 0) {
    throw new Error('psp-sim PspSim-Signature header is malformed (want t=...,v1=...)');
  }
  const ageSeconds = Math.abs(input.nowMs / 1000 - timestamp);
  if (ageSeconds > LIMITS.pspSimSignatureToleranceSeconds) {
    throw new Error('psp-sim notice timestamp is outside the tolerance');
  }
  const expected = signPspSimPayload({
    apiKey: input.apiKey,
    rawBody: input.rawBody,
    timestampSeconds: timestamp,
  }).slice(`t=${timestamp},v1=`.length);
  if (!signatures.some((s) => constantTimeEqual(s, expected))) {
    throw new Error('psp-sim notice signature does not match');
  }
}

/** Parses a verified notice body into Payrail's notice. */
export function fromPspSimNotice(rawBody: string): WebhookNotice {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new Error('psp-sim notice body is not JSON');
  }
  const parsed = PspSimNoticeSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`psp-sim notice body is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return {
    reference: parsed.data.reference,
    operation: parsed.data.operation,
    outcome: noticeOutcome(parsed.data),
  };
}

function noticeOutcome(notice: PspSimNotice): ConnectorOutcome {
  const connectorReference = notice.id ?? null;
  switch (notice.status) {
    case 'succeeded':
      if (!connectorReference) throw new Error('psp-sim notice: succeeded without id');
      return { status: 'succeeded', connectorReference };
    case 'requires_action':
      if (!connectorReference || !notice.redirect_url) {
        throw new Error('psp-sim notice: requires_action without id and redirect_url');
      }
      return {
        status: 'requires_action',
        connectorReference,
        nextAction: { type: 'redirect_to_url', url: notice.redirect_url },
      };
    case 'declined':
      return declined({
        charge: connectorReference,
        code: notice.code ?? 'card_declined',
        declineCode: notice.decline_code ?? null,
        message: notice.message ?? 'The card was declined.',
      });
    default: {
      const never: never = notice.status;
      throw new Error(`unhandled psp-sim notice status ${JSON.stringify(never)}`);
    }
  }
}

/** A verified notice body of either kind: a dispute (`object: "dispute"`) or an attempt outcome. */
export function fromPspSimNotices(rawBody: string): ProcessorNotice[] {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new Error('psp-sim notice body is not JSON');
  }
  if ((json as { object?: unknown } | null)?.object === 'dispute') return [fromPspSimDispute(json)];
  return [{ kind: 'attempt', ...fromPspSimNotice(rawBody) }];
}

function fromPspSimDispute(json: unknown): DisputeNotice {
  const parsed = PspSimDisputeNoticeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `psp-sim dispute notice is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
    );
  }
  const d = parsed.data;
  return {
    kind: 'dispute',
    disputeReference: d.id,
    paymentReferences: [d.charge, d.reference].filter(
      (r): r is string => typeof r === 'string' && r !== '',
    ),
    status: d.status,
    cycle: d.cycle ?? 1,
    amountMinor: d.amount,
    currency: d.currency,
    reason: d.reason ?? 'general',
    networkReasonCode: d.network_reason_code ?? null,
    evidenceDueBy: d.evidence_due_by ?? null,
  };
}
