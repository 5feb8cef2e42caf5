import { z } from 'zod';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, fromJson, type Tx, toJson } from '../db/database.ts';
import type { BankTransferReceiptsTable, ChargesTable, PaymentIntentsTable } from '../db/schema.ts';
import type { EventsService, NewEvent } from '../events/service.ts';
import { intField, strField } from '../http/validation.ts';
import { BANK_TRANSFER_CONNECTOR, createBankTransferBooking } from '../ledger/bank-transfers.ts';
import type { BookingDeps } from '../ledger/book.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { IntentResult } from './result.ts';
import { serializeCharge, serializeIntent } from './serialize.ts';
import { splitsOf } from './splits.ts';
import {
  type EventContext,
  insertCharge,
  requireIntent,
  saveIntent,
  transition,
  unexpectedState,
} from './store.ts';

// The receiving side of the secondary method (docs/bank-transfers.md). When no
// processor could take a payment, settle.ts `offerSecondary` left the intent in
// `requires_action` with bank transfer instructions and a unique reference.
// Here a transfer the customer made is recorded, from the API (an operator) or
// from a camt.053 statement (src/reconciliation/bank-match.ts), by one
// function, `receive`, in the caller's database transaction:
//
//   every receipt        its row and its posting (cash +R, bank_transfers_unapplied −R):
//                        the money is in the books the day it is recorded
//   full (what remains)  charge (connector bank_transfer) + its posting, which
//                        releases the held receipts to the merchant; intent
//                        succeeded, events charge.succeeded + payment_intent.succeeded
//   partial              intent stays requires_action, amount_remaining reduced,
//                        event payment_intent.partially_funded; the receipt stays
//                        held for the customer (not the merchant's balance yet, like
//                        Stripe's customer cash balance)
//   more than remains, an intent not awaiting a transfer, a bank reference
//   already recorded, a statement credit that looks like a receipt the intent
//   already has       an outcome value: nothing is written
//
// Every receipt bumps the intent's version (saveIntent), so two receipts for
// one intent at once cannot both count what remains: the loser re-reads.
//
// A credit must be counted once, whoever records it first. The bank's entry
// reference is unique per account and mode, but an operator may not type the
// reference the statement will carry, and banks fill AcctSvcrRef with
// placeholders (NONREF) or reuse it across their accounts. So the same
// reference is the same credit only when it also names the same intent,
// amount and currency, and a statement credit whose amount the intent already
// received (around its booking date) under another reference is left to a
// human as a reconciliation exception rather than booked twice.

/** How often `receive` re-reads an intent another transaction changed meanwhile. */
const CONFLICT_RETRIES = 3;
/** A received_at this far ahead of our clock is a mistake, not clock skew. */
const RECEIVED_AT_SKEW_S = 300;
/** A bank's entry reference (camt AcctSvcrRef is at most 35) or an operator's note of it. */
const BANK_REFERENCE_LENGTH_MAX = 140;
const UNIX_SECONDS_MAX = 253_402_300_799;
/** References in one remittance text that are looked up, at most. */
const REFERENCE_CANDIDATES_MAX = 8;
/** What offerSecondary writes: a prefix of 1–8 of A-Z0-9, then 12 of A-Z0-9. */
const REFERENCE_TOKEN = /^[A-Z0-9]{13,20}$/;
/**
 * A receipt of the same amount is a possible twin of a statement credit when
 * recorded this many days before / after its booking date: the bank's booking
 * date is in its own time zone, and an operator records a credit when they
 * see it, often a day or a weekend later.
 */
const LOOKALIKE_DAYS_BEFORE = 1;
const LOOKALIKE_DAYS_AFTER = 3;
const DAY_S = 86_400;
/**
 * What banks write where they have no reference (ISO 20022 NOTPROVIDED,
 * SWIFT NONREF and friends), compared in upper case without punctuation.
 */
const PLACEHOLDER_REFERENCE =
  /^(?:NONREF|NOREF|NOREFERENCE|NOTPROVIDED|NONE|NA|NULL|UNKNOWN)?$|^0+$/;

/** True for a bank reference that identifies nothing: empty, NONREF, NOTPROVIDED, 0000, … */
export function isPlaceholderReference(reference: string | null | undefined): boolean {
  return PLACEHOLDER_REFERENCE.test((reference ?? '').toUpperCase().replace(/[^A-Z0-9]/g, ''));
}

export const BankTransferReceived = z.strictObject({
  /** Minor units of the intent's currency. */
  amount: intField({ min: 1, max: LIMITS.amountMinorMax }),
  /** When the money arrived (unix seconds); default now. */
  received_at: intField({ min: 0, max: UNIX_SECONDS_MAX }).optional(),
  /**
   * The bank's reference of the credit (camt AcctSvcrRef), required: the same
   * reference is recorded once, so the statement cannot count it again.
   */
  bank_reference: strField(BANK_REFERENCE_LENGTH_MAX),
});
export type BankTransferReceivedInput = z.output<typeof BankTransferReceived>;

export interface ReceiptInput {
  intentId: string;
  amountMinor: number;
  /** The credit's currency; null: the intent's (the API takes amounts in it). */
  currency: string | null;
  receivedAt: number;
  bankReference: string | null;
  source: 'api' | 'camt053';
  reconciliationId: string | null;
  /**
   * Statement credits: refuse (outcome `lookalike`) when the intent already
   * has a receipt of the same amount and currency under another reference,
   * around `bookedAt` (the booking date; any day when null).
   */
  lookalikes?: { bookedAt: number | null };
}

/** What recording one transfer did. Only `funded` and `partially_funded` wrote anything. */
export type ReceiptOutcome =
  | {
      kind: 'funded';
      intent: PaymentIntentsTable;
      charge: ChargesTable;
      receipt: BankTransferReceiptsTable;
    }
  | { kind: 'partially_funded'; intent: PaymentIntentsTable; receipt: BankTransferReceiptsTable }
  | { kind: 'duplicate'; intent: PaymentIntentsTable; receipt: BankTransferReceiptsTable }
  /** The bank reference was recorded for another intent, amount or currency. */
  | { kind: 'reference_reused'; intent: PaymentIntentsTable; receipt: BankTransferReceiptsTable }
  /** A statement credit the intent may already have under another reference. */
  | { kind: 'lookalike'; intent: PaymentIntentsTable; receipt: BankTransferReceiptsTable }
  | { kind: 'not_awaiting'; intent: PaymentIntentsTable; message: string }
  | { kind: 'currency_mismatch'; intent: PaymentIntentsTable; message: string }
  | { kind: 'overpaid'; intent: PaymentIntentsTable; remainingMinor: number; message: string };

interface Awaiting {
  reference: string;
  nextAction: Record<string, unknown>;
  instructions: Record<string, unknown>;
}

/** The transfer an intent waits for, or why it waits for none. */
export function awaitingTransfer(intent: PaymentIntentsTable): Awaiting | string {
  const offered = fromJson<{ reference?: unknown }>(intent.secondary_method);
  if (!offered || typeof offered.reference !== 'string')
    return `PaymentIntent ${intent.id} was never offered a bank transfer.`;
  const nextAction = fromJson<Record<string, unknown>>(intent.next_action);
  const instructions = nextAction?.display_bank_transfer_instructions;
  if (
    intent.status !== 'requires_action' ||
    nextAction?.type !== 'display_bank_transfer_instructions' ||
    typeof instructions !== 'object' ||
    instructions === null
  ) {
    return `PaymentIntent ${intent.id} is not awaiting a bank transfer (status ${intent.status}).`;
  }
  return {
    reference: offered.reference,
    nextAction,
    instructions: instructions as Record<string, unknown>,
  };
}

/** Tokens of a remittance text that may be a reference offerSecondary made. */
export function referenceCandidates(texts: ReadonlyArray<string | null | undefined>): string[] {
  const tokens = texts.flatMap((t) => (t ? t.toUpperCase().split(/[^A-Z0-9]+/) : []));
  return [...new Set(tokens.filter((t) => REFERENCE_TOKEN.test(t)))].slice(
    0,
    REFERENCE_CANDIDATES_MAX,
  );
}

/** What an update (or a confirmation) of an intent asks to change. */
export interface IntentChange {
  amount?: number | undefined;
  currency?: string | undefined;
  payment_method?: unknown;
  payment_method_data?: unknown;
}

/** The first field of `change` that would strand the intent's receipts, if any. */
function strandingParam(intent: PaymentIntentsTable, change: IntentChange): string | null {
  if (change.amount !== undefined && change.amount !== intent.amount) return 'amount';
  if (change.currency !== undefined && change.currency.toLowerCase() !== intent.currency)
    return 'currency';
  if (change.payment_method !== undefined) return 'payment_method';
  if (change.payment_method_data !== undefined) return 'payment_method_data';
  return null;
}

/**
 * Refuses (400 payment_intent_unexpected_state) what would strand the bank
 * transfers an intent already received: a new amount or currency (the
 * receipts were counted against the old ones; lowered to what was received,
 * the intent would wait forever), another payment method or a confirmation
 * (a new reference and the full amount asked again, or a card charging what
 * was partly paid). Cancelling stays allowed: the receipts remain the
 * customer's, owed back, as `ledger verify` lists them. Call it in the
 * transaction that saves the intent (saveIntent's version check makes a
 * receipt recorded meanwhile refuse the save).
 */
export async function refuseWhileHoldingReceipts(
  ex: Executor,
  intent: PaymentIntentsTable,
  change: IntentChange | 'confirm',
): Promise<void> {
  // Only an intent offered a transfer can have received one: no query for the others.
  if (intent.secondary_method === null) return;
  const param = change === 'confirm' ? null : strandingParam(intent, change);
  if (change !== 'confirm' && param === null) return;
  const row = await ex
    .selectFrom('bank_transfer_receipts')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.sum<number | string>('amount').as('total'),
    ])
    .where('payment_intent_id', '=', intent.id)
    .executeTakeFirstOrThrow();
  const count = Number(row.n);
  if (count === 0) return;
  const what = param === null ? 'be confirmed again' : `change its ${param}`;
  throw new ApiError(
    'payment_intent_unexpected_state',
    `PaymentIntent ${intent.id} holds bank transfer receipts (${Number(row.total)} ${intent.currency} received in ${count} transfer(s)), so it cannot ${what}. Record the rest of the transfer, or cancel it: the receipts stay owed to the customer (ledger verify lists them).`,
    { param: param ?? undefined, extra: { payment_intent: serializeIntent(intent) } },
  );
}

const isConflict = (error: unknown) =>
  error instanceof ApiError && error.code === 'payment_intent_unexpected_state';

/** True when the database refused a row for a unique index (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function createBankTransfers(deps: {
  db: Db;
  clock: Clock;
  events: EventsService;
  booking: Omit<BookingDeps, 'clock'>;
}) {
  const { db, clock, events } = deps;
  const booking = createBankTransferBooking({ ...deps.booking, clock });

  async function receiptByBankReference(ex: Executor, scope: Scope, bankReference: string) {
    return ex
      .selectFrom('bank_transfer_receipts')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('bank_reference', '=', bankReference)
      .executeTakeFirst();
  }

  /**
   * A receipt of the intent with this amount and currency recorded around a
   * statement's booking date (any day when it has none): maybe the same credit.
   */
  async function lookalikeReceipt(
    ex: Executor,
    intentId: string,
    input: { amountMinor: number; currency: string; bookedAt: number | null },
  ) {
    let query = ex
      .selectFrom('bank_transfer_receipts')
      .selectAll()
      .where('payment_intent_id', '=', intentId)
      .where('amount', '=', input.amountMinor)
      .where('currency', '=', input.currency);
    if (input.bookedAt !== null) {
      const day = input.bookedAt - (input.bookedAt % DAY_S);
      query = query
        .where('received_at', '>=', day - LOOKALIKE_DAYS_BEFORE * DAY_S)
        .where('received_at', '<', day + (LOOKALIKE_DAYS_AFTER + 1) * DAY_S);
    }
    return query.orderBy('id').executeTakeFirst();
  }

  /** What earlier receipts of the intent add up to, per currency. */
  async function receivedSoFar(ex: Executor, intentId: string): Promise<Map<string, number>> {
    const rows = await ex
      .selectFrom('bank_transfer_receipts')
      .select(['currency', (eb) => eb.fn.sum<number | string>('amount').as('total')])
      .where('payment_intent_id', '=', intentId)
      .groupBy('currency')
      .execute();
    const sums = new Map<string, number>();
    for (const row of rows) {
      const total = Number(row.total);
      assertSafeInteger(total, `receipts of ${intentId}`);
      sums.set(row.currency, total);
    }
    return sums;
  }

  function newCharge(intent: PaymentIntentsTable, awaiting: Awaiting): ChargesTable {
    // The payment method the processors could not charge; the charge says how it was paid.
    assert(intent.payment_method_id !== null, `${intent.id} awaiting a transfer has its method`);
    return {
      id: newId('ch', clock.nowMs()),
      account_id: intent.account_id,
      livemode: intent.livemode,
      payment_intent_id: intent.id,
      customer_id: intent.customer_id,
      payment_method_id: intent.payment_method_id,
      amount: intent.amount,
      amount_captured: intent.amount,
      amount_refunded: 0,
      currency: intent.currency,
      status: 'succeeded',
      captured: 1,
      released: 0,
      connector: BANK_TRANSFER_CONNECTOR,
      connector_reference: awaiting.reference,
      failure_code: null,
      failure_message: null,
      outcome: toJson({
        network_status: null,
        reason: null,
        risk_level: 'not_assessed',
        seller_message: 'Payment complete.',
        type: 'authorized',
      }),
      payment_method_details: toJson({
        type: 'customer_balance',
        customer_balance: {},
        bank_transfer: { type: 'eu_bank_transfer', reference: awaiting.reference },
      }),
      description: intent.description,
      receipt_email: intent.receipt_email,
      metadata: intent.metadata,
      created: unixSeconds(clock),
      ...splitsOf(intent),
      balance_transaction: null,
    };
  }

  /** Checks that need no writes; an outcome when the transfer cannot be taken. */
  async function check(tx: Tx, scope: Scope, before: PaymentIntentsTable, input: ReceiptInput) {
    const awaiting = awaitingTransfer(before);
    const currency = input.currency ?? before.currency;
    if (input.bankReference !== null) {
      const earlier = await receiptByBankReference(tx, scope, input.bankReference);
      // The same credit again only if it says the same: banks reuse references.
      const same =
        earlier?.payment_intent_id === before.id &&
        Number(earlier.amount) === input.amountMinor &&
        earlier.currency === currency;
      if (earlier) {
        const kind = same ? ('duplicate' as const) : ('reference_reused' as const);
        return { kind, intent: before, receipt: earlier };
      }
    }
    if (input.lookalikes) {
      const { bookedAt } = input.lookalikes;
      const twin = await lookalikeReceipt(tx, before.id, {
        amountMinor: input.amountMinor,
        currency,
        bookedAt,
      });
      if (twin) return { kind: 'lookalike', intent: before, receipt: twin } as const;
    }
    if (typeof awaiting === 'string')
      return { kind: 'not_awaiting', intent: before, message: awaiting } as const;
    if (currency !== before.currency) {
      const message = `The transfer is in ${currency}; PaymentIntent ${before.id} is in ${before.currency}.`;
      return { kind: 'currency_mismatch', intent: before, message } as const;
    }
    const sums = await receivedSoFar(tx, before.id);
    if ([...sums.keys()].some((c) => c !== before.currency)) {
      const message = `PaymentIntent ${before.id} changed currency after it was partially funded; resolve it by hand.`;
      return { kind: 'not_awaiting', intent: before, message } as const;
    }
    const receivedMinor = sums.get(before.currency) ?? 0;
    const remainingMinor = before.amount - receivedMinor;
    if (input.amountMinor > remainingMinor) {
      const message = `The amount (${input.amountMinor}) is greater than the amount remaining (${Math.max(remainingMinor, 0)}) of PaymentIntent ${before.id}.`;
      return { kind: 'overpaid', intent: before, remainingMinor, message } as const;
    }
    return { kind: 'ok', awaiting, receivedMinor, remainingMinor } as const;
  }

  /** One try at recording the transfer on `before`; null when another transaction changed the intent. */
  async function tryReceive(
    tx: Tx,
    ctx: EventContext,
    before: PaymentIntentsTable,
    input: ReceiptInput,
  ): Promise<ReceiptOutcome | null> {
    const checked = await check(tx, ctx.scope, before, input);
    if (checked.kind !== 'ok') return checked;
    const { awaiting } = checked;
    const afterRemainingMinor = checked.remainingMinor - input.amountMinor;
    const funded = afterRemainingMinor === 0;
    const charge = funded ? newCharge(before, awaiting) : null;
    const after: PaymentIntentsTable = charge
      ? {
          ...before,
          // requires_action → (processing) → succeeded, as a capture settles.
          status: transition({ ...before, status: 'processing' }, 'authorize_captured', 'settle'),
          amount_received: before.amount,
          amount_capturable: 0,
          latest_charge: charge.id,
          next_action: null,
          last_payment_error: null,
        }
      : {
          ...before,
          next_action: toJson({
            ...awaiting.nextAction,
            display_bank_transfer_instructions: {
              ...awaiting.instructions,
              amount_remaining: afterRemainingMinor,
              currency: before.currency,
            },
          }),
        };
    let saved: PaymentIntentsTable;
    try {
      // First: a concurrent receipt makes this fail before anything is written.
      saved = await saveIntent(tx, before, after);
    } catch (error) {
      if (isConflict(error)) return null;
      throw error;
    }
    const receipt: BankTransferReceiptsTable = {
      id: newId('btr', clock.nowMs()),
      account_id: before.account_id,
      livemode: before.livemode,
      payment_intent_id: before.id,
      amount: input.amountMinor,
      currency: before.currency,
      reference: awaiting.reference,
      bank_reference: input.bankReference,
      received_at: input.receivedAt,
      source: input.source,
      reconciliation_id: input.reconciliationId,
      charge_id: charge?.id ?? null,
      amount_remaining: afterRemainingMinor,
      created: unixSeconds(clock),
    };
    await tx.insertInto('bank_transfer_receipts').values(receipt).execute();
    // In the books the day it arrives: cash, owed to the customer until the intent is paid.
    await booking.postReceipt(tx, receipt);
    const received = await receivedSoFar(tx, before.id);
    assert(
      received.get(before.currency) === checked.receivedMinor + input.amountMinor,
      `${before.id}: receipts add up to what the intent counts`,
    );
    if (!charge) {
      await events.record(tx, ctx, [
        { type: 'payment_intent.partially_funded', object: serializeIntent(saved) },
      ]);
      return { kind: 'partially_funded', intent: saved, receipt };
    }
    // Posted first, so the charge is written once, already linked to its posting;
    // it releases what the receipts hold (src/ledger/bank-transfers.ts).
    const txn = await booking.postBankTransferCharge(tx, charge);
    const written = { ...charge, balance_transaction: txn.id };
    await insertCharge(tx, written);
    const out: NewEvent[] = [
      { type: 'charge.succeeded', object: serializeCharge(written) },
      { type: 'payment_intent.succeeded', object: serializeIntent(saved) },
    ];
    await events.record(tx, ctx, out);
    return { kind: 'funded', intent: saved, charge: written, receipt };
  }

  /**
   * Records a transfer received for an intent, in the caller's transaction:
   * the one code path of the API and of camt.053 imports. Re-reads the intent
   * when another transaction changed it meanwhile (PostgreSQL, READ COMMITTED).
   */
  async function receive(tx: Tx, ctx: EventContext, input: ReceiptInput): Promise<ReceiptOutcome> {
    assertSafeInteger(input.amountMinor, 'bank transfer amount');
    assert(input.amountMinor > 0, 'a bank transfer received is positive');
    for (let i = 0; i < CONFLICT_RETRIES; i += 1) {
      const before = await requireIntent(tx, ctx.scope, input.intentId, 'id');
      const outcome = await tryReceive(tx, ctx, before, input);
      if (outcome) return outcome;
    }
    const latest = await requireIntent(tx, ctx.scope, input.intentId, 'id');
    throw unexpectedState(latest, 'This PaymentIntent was changed by other requests; retry.');
  }

  /** The API's answer to an outcome that wrote nothing: a 400 naming the param. */
  function refusal(outcome: ReceiptOutcome): ApiError | null {
    const extra = { payment_intent: serializeIntent(outcome.intent) };
    switch (outcome.kind) {
      case 'funded':
      case 'partially_funded':
        return null;
      case 'lookalike':
        // Not asked by the API (statement credits only); named all the same.
        return new ApiError(
          'parameter_invalid',
          `PaymentIntent ${outcome.intent.id} already received ${outcome.receipt.amount} ${outcome.receipt.currency} (${outcome.receipt.id}).`,
          { param: 'bank_reference', extra },
        );
      case 'duplicate':
      case 'reference_reused':
        return new ApiError(
          'parameter_invalid',
          `A transfer with bank_reference ${outcome.receipt.bank_reference} was already recorded (${outcome.receipt.id}, PaymentIntent ${outcome.receipt.payment_intent_id}).`,
          { param: 'bank_reference' },
        );
      case 'not_awaiting':
      case 'currency_mismatch':
        return new ApiError('payment_intent_unexpected_state', outcome.message, {
          param: 'id',
          extra,
        });
      case 'overpaid':
        return new ApiError('amount_too_large', outcome.message, { param: 'amount', extra });
    }
  }

  /** POST /v1/payment_intents/:id/bank_transfer_received. */
  async function recordReceived(
    ctx: OpContext,
    intentId: string,
    input: BankTransferReceivedInput,
  ): Promise<IntentResult> {
    const nowSeconds = unixSeconds(clock);
    if (isPlaceholderReference(input.bank_reference)) {
      throw new ApiError(
        'parameter_invalid',
        `bank_reference ${input.bank_reference} identifies no credit: give the bank's reference of the entry (camt AcctSvcrRef), or your own unique note of it.`,
        { param: 'bank_reference' },
      );
    }
    if (input.received_at !== undefined && input.received_at > nowSeconds + RECEIVED_AT_SKEW_S) {
      throw new ApiError('parameter_invalid', 'received_at cannot be in the future.', {
        param: 'received_at',
      });
    }
    const receipt: ReceiptInput = {
      intentId,
      amountMinor: input.amount,
      currency: null,
      receivedAt: input.received_at ?? nowSeconds,
      bankReference: input.bank_reference,
      source: 'api',
      reconciliationId: null,
    };
    const run = () =>
      db.transaction().execute(async (tx) => {
        const outcome = await receive(tx, ctx, receipt);
        const refused = refusal(outcome);
        if (refused) throw refused;
        const result = { intent: serializeIntent(outcome.intent), failure: null };
        await ctx.complete(tx, result);
        return result;
      });
    try {
      return await run();
    } catch (error) {
      // The same bank reference inserted by a concurrent request: the retry names it.
      if (!isUniqueViolation(error)) throw error;
      return run();
    }
  }

  /**
   * Intents of the scope offered a bank transfer whose reference is one of
   * `references` (the partial index on secondary_method keeps this small).
   */
  async function findByReference(
    ex: Executor,
    scope: Scope,
    references: readonly string[],
  ): Promise<PaymentIntentsTable[]> {
    if (references.length === 0) return [];
    const rows = await ex
      .selectFrom('payment_intents')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('secondary_method', 'is not', null)
      .where((eb) =>
        eb.or(references.map((r) => eb('secondary_method', 'like', `%"reference":"${r}"%`))),
      )
      .limit(REFERENCE_CANDIDATES_MAX + 1)
      .execute();
    const wanted = new Set(references);
    return rows.filter((row) => {
      const offered = fromJson<{ reference?: unknown }>(row.secondary_method);
      return typeof offered?.reference === 'string' && wanted.has(offered.reference);
    });
  }

  return { receive, recordReceived, findByReference };
}

export type BankTransfers = ReturnType<typeof createBankTransfers>;
