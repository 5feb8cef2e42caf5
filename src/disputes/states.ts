import type { DisputeStatus } from '../connectors/types.ts';

// Where a dispute stands, as data: the order in which statuses may follow
// each other, and where the money is in each. A notice or an action only
// ever moves a dispute forward, so a late or repeated processor notice (an
// `updated` delivered after `closed`) changes nothing.

/** Statuses after which evidence and closing are refused. */
export const CLOSED_STATUSES: ReadonlySet<string> = new Set(['warning_closed', 'won', 'lost']);

/** Statuses in which evidence may be staged or submitted, and the dispute accepted (closed). */
export const RESPONDABLE_STATUSES: ReadonlySet<string> = new Set([
  'warning_needs_response',
  'needs_response',
]);

const STATUS_RANK: Readonly<Record<DisputeStatus, number>> = {
  warning_needs_response: 0,
  warning_under_review: 1,
  warning_closed: 2,
  needs_response: 3,
  under_review: 4,
  // A lost dispute can still be won (the issuer reverses itself, or pre-arbitration
  // is won); a won one is only lost again through a second cycle.
  lost: 5,
  won: 6,
};

/** Position in the dispute's life; a second cycle (Adyen) comes after the whole first one. */
export function disputeRank(status: DisputeStatus, cycle: number): number {
  return (cycle - 1) * 10 + STATUS_RANK[status];
}

export function isDisputeStatus(status: string): status is DisputeStatus {
  return Object.hasOwn(STATUS_RANK, status);
}

/**
 * How many of the ledger's dispute movements (src/ledger/disputes.ts) a
 * status implies: none for an inquiry (warning_*), the withdrawal once it is
 * a chargeback, the reinstatement once won; the second cycle takes the funds
 * again and gives them back when pre-arbitration is won.
 */
export function fundsMovesFor(status: DisputeStatus, cycle: number): number {
  if (status.startsWith('warning_')) return 0;
  const base = cycle === 1 ? 0 : 2;
  return base + (status === 'won' ? 2 : 1);
}
