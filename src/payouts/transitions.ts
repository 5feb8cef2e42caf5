import type { Tx } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import type { Clock } from '../lib/clock.ts';

// Contract for moving a payout to its final state from outside the payouts
// API (reconciliation of a bank statement, the operator CLI). Each runs in the
// caller's database transaction and posts the ledger entries of the change.
// STUB: the payouts work fills these in.

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

/** in_transit (or pending) → paid. `unchanged` when it is already paid. */
export async function markPayoutPaid(
  _tx: Tx,
  _deps: PayoutTransitionDeps,
  _ref: PayoutRef,
  _input: { paidAt: number },
): Promise<TransitionOutcome> {
  throw new Error('markPayoutPaid: not implemented yet');
}

/** pending/in_transit (or paid: a bank return) → failed; the funds go back to available. */
export async function markPayoutFailed(
  _tx: Tx,
  _deps: PayoutTransitionDeps,
  _ref: PayoutRef,
  _input: { failureCode: string; failureMessage: string },
): Promise<TransitionOutcome> {
  throw new Error('markPayoutFailed: not implemented yet');
}
