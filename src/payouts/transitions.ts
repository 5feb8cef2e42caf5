import type { OpContext } from '../db/context.ts';
import type { Executor, Tx } from '../db/database.ts';
import type { PayoutsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { assert } from '../lib/assert.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { postPayout } from './postings.ts';
import { serializePayout } from './serialize.ts';

// Moving a payout to its final state from outside the payouts API
// (reconciliation of a bank statement, the operator CLI), and the shared
// status change the API's cancel uses too. Each runs in the caller's database
// transaction and posts the ledger entries of the change. Every change is a
// conditional UPDATE on (status, version): two processes that both try the
// same transition cannot both succeed, so nothing is ever posted twice.

export interface PayoutTransitionDeps {
  clock: Clock;
  events: EventsService;
}

export interface PayoutRef {
  accountId: string;
  livemode: 0 | 1;
  payoutId: string;
}

export type TransitionOutcome = 'changed' | 'unchanged' | 'not_found' | 'invalid_state';

type EventCtx = Pick<OpContext, 'scope' | 'requestId' | 'idempotencyKey'>;

export function findPayout(ex: Executor, ref: PayoutRef): Promise<PayoutsTable | undefined> {
  return ex
    .selectFrom('payouts')
    .selectAll()
    .where('id', '=', ref.payoutId)
    .where('account_id', '=', ref.accountId)
    .where('livemode', '=', ref.livemode)
    .executeTakeFirst();
}

function internalEventCtx(payout: PayoutsTable): EventCtx {
  const scope = { accountId: payout.account_id, livemode: payout.livemode === 1 };
  return { scope, requestId: null, idempotencyKey: null };
}

/**
 * Writes `after` over `before` if nobody changed the row since it was read
 * (same status and version). Returns the stored row, or undefined when lost.
 */
export async function applyChange(
  tx: Tx,
  before: PayoutsTable,
  changes: Partial<PayoutsTable>,
): Promise<PayoutsTable | undefined> {
  const after: PayoutsTable = { ...before, ...changes, version: before.version + 1 };
  const result = await tx
    .updateTable('payouts')
    .set({ ...changes, version: after.version })
    .where('id', '=', before.id)
    .where('status', '=', before.status)
    .where('version', '=', before.version)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1 ? after : undefined;
}

/**
 * pending/in_transit → canceled or failed (or paid → failed: a bank return):
 * the funds go back to the merchant's available balance. The status changes
 * first, conditionally; only the winner posts. Undefined when it lost.
 */
export async function reversePayout(
  tx: Tx,
  deps: PayoutTransitionDeps,
  input: {
    before: PayoutsTable;
    to: 'canceled' | 'failed';
    failureCode?: string;
    failureMessage?: string;
    ctx?: EventCtx;
  },
): Promise<PayoutsTable | undefined> {
  const { before, to } = input;
  assert(
    to === 'failed' || before.status === 'pending',
    `payout ${before.id} is canceled only while pending`,
  );
  const nowMs = deps.clock.nowMs();
  const txnId = newId('txn', nowMs);
  const after = await applyChange(tx, before, {
    status: to,
    failure_balance_transaction: txnId,
    failure_code: to === 'failed' ? (input.failureCode ?? 'could_not_process') : null,
    failure_message: to === 'failed' ? (input.failureMessage ?? null) : null,
  });
  if (!after) return undefined;
  await postPayout(tx, {
    payout: before,
    type: to === 'canceled' ? 'payout_cancel' : 'payout_failure',
    nowMs,
    txnId,
    returnedAfterPaid: before.status === 'paid',
  });
  await deps.events.record(tx, input.ctx ?? internalEventCtx(after), [
    {
      type: to === 'canceled' ? 'payout.canceled' : 'payout.failed',
      object: serializePayout(after),
      previousAttributes: { status: before.status },
    },
  ]);
  return after;
}

/** What a lost conditional update means: the state the winner left. */
async function outcomeAfterRace(
  tx: Tx,
  ref: PayoutRef,
  target: PayoutsTable['status'],
): Promise<TransitionOutcome> {
  const now = await findPayout(tx, ref);
  return now?.status === target ? 'unchanged' : 'invalid_state';
}

/**
 * in_transit (or pending) → paid. `unchanged` when it is already paid.
 * `paidAt` (unix seconds) is when the money left: a bank statement's booking
 * date, or now for an operator's mark. It becomes the payout's `arrival_date`,
 * as on Stripe once a payout is paid. The `payout_paid` posting is dated now,
 * like every posting: a backdated one would be missed by a journal export of
 * a period already exported.
 */
export async function markPayoutPaid(
  tx: Tx,
  deps: PayoutTransitionDeps,
  ref: PayoutRef,
  input: { paidAt: number },
): Promise<TransitionOutcome> {
  assert(Number.isSafeInteger(input.paidAt) && input.paidAt >= 0, 'paidAt is unix seconds');
  const before = await findPayout(tx, ref);
  if (!before) return 'not_found';
  if (before.status === 'paid') return 'unchanged';
  if (before.status !== 'in_transit' && before.status !== 'pending') return 'invalid_state';
  const after = await applyChange(tx, before, { status: 'paid', arrival_date: input.paidAt });
  if (!after) return outcomeAfterRace(tx, ref, 'paid');
  await postPayout(tx, { payout: before, type: 'payout_paid', nowMs: deps.clock.nowMs() });
  const previousAttributes: Record<string, unknown> = { status: before.status };
  if (after.arrival_date !== before.arrival_date)
    previousAttributes.arrival_date = before.arrival_date;
  await deps.events.record(tx, internalEventCtx(after), [
    { type: 'payout.paid', object: serializePayout(after), previousAttributes },
  ]);
  return 'changed';
}

/** pending/in_transit (or paid: a bank return) → failed; the funds go back to available. */
export async function markPayoutFailed(
  tx: Tx,
  deps: PayoutTransitionDeps,
  ref: PayoutRef,
  input: { failureCode: string; failureMessage: string },
): Promise<TransitionOutcome> {
  const before = await findPayout(tx, ref);
  if (!before) return 'not_found';
  if (before.status === 'failed') return 'unchanged';
  if (before.status === 'canceled') return 'invalid_state';
  const after = await reversePayout(tx, deps, {
    before,
    to: 'failed',
    failureCode: input.failureCode,
    failureMessage: input.failureMessage,
  });
  return after ? 'changed' : outcomeAfterRace(tx, ref, 'failed');
}
