import type { ConnectorOutcome, RetrieveOutcome } from '../connectors/types.ts';
import type { Tx } from '../db/database.ts';
import { toJson } from '../db/database.ts';
import type {
  ChargesTable,
  PaymentAttemptsTable,
  PaymentIntentsTable,
  PaymentMethodsTable,
} from '../db/schema.ts';
import type { EventsService, NewEvent } from '../events/service.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { VaultService } from '../vault/types.ts';
import { failureOf, type IntentResult } from './result.ts';
import { serializeCharge, serializeIntent } from './serialize.ts';
import {
  type EventContext,
  findCharge,
  insertCharge,
  requireIntent,
  saveIntent,
  settleAttempt,
  transition,
  updateCharge,
} from './store.ts';

// Phase two of "persist, call out, reconcile": given an attempt and the
// processor's answer, write the attempt, the charge, the intent's new state and
// its events in one transaction. The request path and recovery both call these,
// so a recovered payment ends exactly as an uninterrupted one would.

export type Answer = ConnectorOutcome | RetrieveOutcome;

export interface SettleInput {
  attempt: PaymentAttemptsTable;
  outcome: Answer;
  latencyMs: number | null;
  expandCharge?: boolean;
}

const APPROVED = {
  network_status: 'approved_by_network',
  reason: null,
  risk_level: 'normal',
  seller_message: 'Payment complete.',
  type: 'authorized',
};

function declinedOutcome(reason: string | null) {
  return {
    network_status: 'declined_by_network',
    reason,
    risk_level: 'normal',
    seller_message: 'The bank did not return any further details with this decline.',
    type: 'issuer_declined',
  };
}

export function createSettlement(deps: {
  clock: Clock;
  events: EventsService;
  vault: VaultService;
}) {
  const { clock, events, vault } = deps;

  function newCharge(
    intent: PaymentIntentsTable,
    pm: PaymentMethodsTable,
    attempt: PaymentAttemptsTable,
  ): ChargesTable {
    return {
      id: newId('ch', clock.nowMs()),
      account_id: intent.account_id,
      livemode: intent.livemode,
      payment_intent_id: intent.id,
      customer_id: intent.customer_id,
      payment_method_id: pm.id,
      amount: intent.amount,
      amount_captured: 0,
      amount_refunded: 0,
      currency: intent.currency,
      status: 'succeeded',
      captured: 0,
      released: 0,
      connector: attempt.connector,
      connector_reference: attempt.connector_reference,
      failure_code: null,
      failure_message: null,
      outcome: toJson(APPROVED),
      payment_method_details: toJson(vault.chargeDetails(pm)),
      description: intent.description,
      receipt_email: intent.receipt_email,
      metadata: intent.metadata,
      created: unixSeconds(clock),
    };
  }

  async function result(
    tx: Tx,
    ctx: EventContext,
    intent: PaymentIntentsTable,
    attempt: PaymentAttemptsTable,
    expand: boolean,
  ) {
    const charge =
      expand && intent.latest_charge
        ? await findCharge(tx, ctx.scope, intent.latest_charge)
        : undefined;
    const api = serializeIntent(intent, charge ? { charge: serializeCharge(charge) } : {});
    return { intent: api, failure: failureOf(attempt, intent.latest_charge) };
  }

  /** Settles an authorize (or authenticate) attempt. */
  async function authorize(
    tx: Tx,
    ctx: EventContext,
    pm: PaymentMethodsTable,
    input: SettleInput,
  ): Promise<IntentResult> {
    const attempt = await settleAttempt(tx, input.attempt, input.outcome, {
      latencyMs: input.latencyMs,
      nowMs: clock.nowMs(),
    });
    const before = await requireIntent(tx, ctx.scope, attempt.payment_intent_id);
    if (attempt.status === 'unknown') return result(tx, ctx, before, attempt, false);
    assert(before.status === 'processing', `${before.id} is processing while an attempt is out`);
    const outcome = input.outcome;
    const out: NewEvent[] = [];
    let after: PaymentIntentsTable;
    if (outcome.status === 'succeeded') {
      const charge = newCharge(before, pm, attempt);
      const captureNow = before.capture_method !== 'manual';
      if (captureNow) Object.assign(charge, { captured: 1, amount_captured: charge.amount });
      await insertCharge(tx, charge);
      after = {
        ...before,
        status: transition(before, captureNow ? 'authorize_captured' : 'authorize_held', 'settle'),
        amount_received: captureNow ? before.amount : 0,
        amount_capturable: captureNow ? 0 : before.amount,
        latest_charge: charge.id,
      };
      out.push({ type: 'charge.succeeded', object: serializeCharge(charge) });
      out.push({
        type: captureNow ? 'payment_intent.succeeded' : 'payment_intent.amount_capturable_updated',
        object: serializeIntent(after),
      });
    } else if (outcome.status === 'requires_action') {
      const nextAction = {
        type: 'redirect_to_url',
        redirect_to_url: { url: outcome.nextAction.url, return_url: before.return_url },
      };
      after = {
        ...before,
        status: transition(before, 'authorize_action', 'settle'),
        next_action: toJson(nextAction),
      };
      out.push({ type: 'payment_intent.requires_action', object: serializeIntent(after) });
    } else {
      after = await declined(tx, before, pm, attempt, out);
    }
    const saved = await saveIntent(tx, before, after);
    await events.record(tx, ctx, out);
    return result(tx, ctx, saved, attempt, input.expandCharge ?? false);
  }

  async function declined(
    tx: Tx,
    before: PaymentIntentsTable,
    pm: PaymentMethodsTable,
    attempt: PaymentAttemptsTable,
    out: NewEvent[],
  ): Promise<PaymentIntentsTable> {
    const charge: ChargesTable = {
      ...newCharge(before, pm, attempt),
      status: 'failed',
      failure_code: attempt.error_code,
      failure_message: attempt.error_message,
      outcome: toJson(declinedOutcome(attempt.decline_code ?? attempt.error_code)),
    };
    await insertCharge(tx, charge);
    const lastError = {
      type: 'card_error',
      code: attempt.error_code,
      decline_code: attempt.decline_code ?? undefined,
      message: attempt.error_message,
      charge: charge.id,
      doc_url: `https://docs.payrail.dev/errors#${attempt.error_code ?? 'card_declined'}`,
      payment_method: vault.serialize(pm),
    };
    const after: PaymentIntentsTable = {
      ...before,
      status: transition(before, 'authorize_failed', 'settle'),
      payment_method_id: null,
      last_payment_error: toJson(lastError),
      latest_charge: charge.id,
    };
    out.push({ type: 'charge.failed', object: serializeCharge(charge) });
    out.push({ type: 'payment_intent.payment_failed', object: serializeIntent(after) });
    return after;
  }

  /** Settles a capture attempt: the charge is captured for the attempt's amount, the rest released. */
  async function capture(tx: Tx, ctx: EventContext, input: SettleInput): Promise<IntentResult> {
    const attempt = await settleAttempt(tx, input.attempt, input.outcome, {
      latencyMs: input.latencyMs,
      nowMs: clock.nowMs(),
    });
    const before = await requireIntent(tx, ctx.scope, attempt.payment_intent_id);
    if (attempt.status === 'unknown') return result(tx, ctx, before, attempt, false);
    assert(before.latest_charge !== null, `${before.id} has a charge to capture`);
    const charge = await findCharge(tx, ctx.scope, before.latest_charge);
    assert(charge !== undefined, `charge ${before.latest_charge} exists`);
    if (attempt.status !== 'succeeded') {
      const after = { ...before, status: transition(before, 'capture_failed', 'settle') };
      return result(tx, ctx, await saveIntent(tx, before, after), attempt, false);
    }
    const captured: ChargesTable = {
      ...charge,
      captured: 1,
      amount_captured: attempt.amount,
      released: attempt.amount < charge.amount ? 1 : 0,
    };
    await updateCharge(tx, captured);
    const after: PaymentIntentsTable = {
      ...before,
      status: transition(before, 'capture_succeeded', 'settle'),
      amount_received: attempt.amount,
      amount_capturable: 0,
    };
    const saved = await saveIntent(tx, before, after);
    await events.record(tx, ctx, [
      { type: 'charge.captured', object: serializeCharge(captured) },
      { type: 'payment_intent.succeeded', object: serializeIntent(saved) },
    ]);
    return result(tx, ctx, saved, attempt, input.expandCharge ?? false);
  }

  /** Settles a void attempt (cancel of an uncaptured payment): the authorization is released. */
  async function voided(tx: Tx, ctx: EventContext, input: SettleInput): Promise<IntentResult> {
    const attempt = await settleAttempt(tx, input.attempt, input.outcome, {
      latencyMs: input.latencyMs,
      nowMs: clock.nowMs(),
    });
    const before = await requireIntent(tx, ctx.scope, attempt.payment_intent_id);
    if (attempt.status === 'unknown') return result(tx, ctx, before, attempt, false);
    if (attempt.status !== 'succeeded') {
      const after = {
        ...before,
        status: transition(before, 'void_failed', 'settle'),
        cancellation_reason: null,
      };
      return result(tx, ctx, await saveIntent(tx, before, after), attempt, false);
    }
    if (before.latest_charge) {
      const charge = await findCharge(tx, ctx.scope, before.latest_charge);
      if (charge && charge.status === 'succeeded')
        await updateCharge(tx, { ...charge, released: 1 });
    }
    const after: PaymentIntentsTable = {
      ...before,
      status: transition(before, 'void_succeeded', 'settle'),
      amount_capturable: 0,
      canceled_at: unixSeconds(clock),
    };
    const saved = await saveIntent(tx, before, after);
    await events.record(tx, ctx, [
      { type: 'payment_intent.canceled', object: serializeIntent(saved) },
    ]);
    return result(tx, ctx, saved, attempt, false);
  }

  return { authorize, capture, voided, result };
}

export type Settlement = ReturnType<typeof createSettlement>;
