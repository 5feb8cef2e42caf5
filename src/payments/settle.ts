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
import type { LedgerPostings } from '../ledger/service.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { newId, randomBase36 } from '../lib/ids.ts';
import type { SecondaryMethod } from '../routing/types.ts';
import type { VaultService } from '../vault/types.ts';
import { failureOf, type IntentResult } from './result.ts';
import { serializeCharge, serializeIntent } from './serialize.ts';
import { splitsOf } from './splits.ts';
import {
  type EventContext,
  findCharge,
  insertCharge,
  linkChargeBalanceTransaction,
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
  /** Offered instead of failing when the processors failed (not when the card was declined). */
  secondary?: SecondaryMethod | null;
}

/** Authorize attempts of an intent still waiting for an answer, other than `exceptId`. */
export async function openAuthorizeAttempts(tx: Tx, intentId: string, exceptId: string) {
  return tx
    .selectFrom('payment_attempts')
    .select(['id', 'status'])
    .where('payment_intent_id', '=', intentId)
    .where('operation', 'in', ['authorize', 'authenticate'])
    .where('status', 'in', ['pending', 'unknown'])
    .where('id', '!=', exceptId)
    .execute();
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
  ledger: LedgerPostings;
}) {
  const { clock, events, vault, ledger } = deps;

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
      // The ledger posts the split from these when the charge is captured.
      ...splitsOf(intent),
      balance_transaction: null,
    };
  }

  /**
   * Posts a captured charge (the row as written, splits included) and links
   * the ledger's balance transaction to it, in the caller's transaction.
   */
  async function postCaptured(tx: Tx, charge: ChargesTable): Promise<ChargesTable> {
    const txn = await ledger.postCharge(tx, charge);
    await linkChargeBalanceTransaction(tx, charge.id, txn.id);
    return { ...charge, balance_transaction: txn.id };
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
      let charge = newCharge(before, pm, attempt);
      const captureNow = before.capture_method !== 'manual';
      if (captureNow) {
        Object.assign(charge, { captured: 1, amount_captured: charge.amount });
        // Posted first, so the charge is written once, already linked to its posting.
        const txn = await ledger.postCharge(tx, charge);
        charge = { ...charge, balance_transaction: txn.id };
      }
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
    } else if ((await openAuthorizeAttempts(tx, before.id, attempt.id)).length > 0) {
      // An earlier try's outcome is unknown: it may have charged. The intent
      // waits in `processing` until recovery learns what happened there; the
      // client sees `processing` (200), not this attempt's failure.
      return { intent: serializeIntent(before), failure: null };
    } else if (outcome.status !== 'declined' && input.secondary) {
      const reason = `Every payment processor tried failed (${attempt.error_code ?? 'processing_error'}: ${attempt.error_message ?? ''}).`;
      return offerSecondary(tx, ctx, { before, changes: {}, secondary: input.secondary, reason });
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
      code: attempt.status === 'failed_retryable' ? 'processing_error' : attempt.error_code,
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
    const written: ChargesTable = {
      ...charge,
      captured: 1,
      amount_captured: attempt.amount,
      released: attempt.amount < charge.amount ? 1 : 0,
      // Capture may have set a new fee on the intent (checked against this amount).
      application_fee_amount: before.application_fee_amount ?? null,
    };
    await updateCharge(tx, charge, written);
    const captured = await postCaptured(tx, written);
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
        await updateCharge(tx, charge, { ...charge, released: 1 });
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

  /**
   * Instead of failing a payment that no processor could take, show the
   * customer bank transfer instructions with a unique reference; the event
   * carries the reason.
   */
  async function offerSecondary(
    tx: Tx,
    ctx: EventContext,
    input: {
      before: PaymentIntentsTable;
      changes: Partial<PaymentIntentsTable>;
      secondary: SecondaryMethod;
      reason: string;
    },
  ): Promise<IntentResult> {
    const { before, secondary } = input;
    const bank = secondary.bank_transfer;
    const reference = `${bank.reference_prefix}${randomBase36(12).toUpperCase()}`;
    const iban = bank.iban.replace(/\s+/g, '').toUpperCase();
    const nextAction = {
      type: 'display_bank_transfer_instructions',
      display_bank_transfer_instructions: {
        amount_remaining: before.amount,
        currency: before.currency,
        type: 'eu_bank_transfer',
        reference,
        financial_addresses: [
          {
            type: 'iban',
            iban: {
              account_holder_name: bank.account_holder_name,
              bic: bank.bic ?? null,
              country: iban.slice(0, 2),
              iban,
            },
            supported_networks: ['sepa'],
          },
        ],
        hosted_instructions_url: null,
        reason: input.reason,
      },
    };
    const processing =
      before.status === 'processing'
        ? before.status
        : transition(before, 'begin_confirm', 'confirm');
    const after: PaymentIntentsTable = {
      ...before,
      ...input.changes,
      status: transition({ ...before, status: processing }, 'authorize_action', 'settle'),
      next_action: toJson(nextAction),
      secondary_method: toJson({
        type: secondary.type,
        reference,
        offered_at_ms: clock.nowMs(),
        reason: input.reason,
      }),
    };
    const saved = await saveIntent(tx, before, after);
    await events.record(tx, ctx, [
      { type: 'payment_intent.requires_action', object: serializeIntent(saved) },
    ]);
    return { intent: serializeIntent(saved), failure: null };
  }

  /** No processor can be tried at all: offer the secondary method, or fail cleanly. */
  async function noProcessor(
    tx: Tx,
    ctx: EventContext,
    input: {
      before: PaymentIntentsTable;
      changes: Partial<PaymentIntentsTable>;
      pm: PaymentMethodsTable;
      secondary: SecondaryMethod | null;
      reason: string;
    },
  ): Promise<IntentResult> {
    if (input.secondary) return offerSecondary(tx, ctx, { ...input, secondary: input.secondary });
    const { before } = input;
    transition(before, 'begin_confirm', 'confirm');
    const lastError = {
      type: 'card_error',
      code: 'processing_error',
      message: input.reason,
      doc_url: 'https://docs.payrail.dev/errors#processing_error',
      payment_method: vault.serialize(input.pm),
    };
    const after: PaymentIntentsTable = {
      ...before,
      ...input.changes,
      status: 'requires_payment_method',
      payment_method_id: null,
      last_payment_error: toJson(lastError),
    };
    const saved = await saveIntent(tx, before, after);
    await events.record(tx, ctx, [
      { type: 'payment_intent.payment_failed', object: serializeIntent(saved) },
    ]);
    return {
      intent: serializeIntent(saved),
      failure: {
        code: 'processing_error',
        declineCode: null,
        message: input.reason,
        chargeId: null,
      },
    };
  }

  return { authorize, capture, voided, result, noProcessor, offerSecondary };
}

export type Settlement = ReturnType<typeof createSettlement>;
