import type { LedgerTxn } from './lookup.ts';
import type { LineStatus, ReportLine } from './types.ts';

// Pure comparisons of one report line with what it matched on our side.

export type MatchType = 'ledger_transaction' | 'settlement_batch' | 'payout' | 'payment_intent';

export interface LineMatch {
  status: LineStatus;
  matchType: MatchType | null;
  matchId: string | null;
  /** Report minus ours, minor units. */
  amountDifference: number | null;
  feeDifference: number | null;
  action:
    | 'payout_paid'
    | 'payout_failed'
    | 'bank_transfer_received'
    | 'bank_transfer_partially_funded'
    | null;
  note: string | null;
}

export function unmatched(note: string, found?: { type: MatchType; id: string }): LineMatch {
  return {
    status: 'unmatched_report',
    matchType: found?.type ?? null,
    matchId: found?.id ?? null,
    amountDifference: null,
    feeDifference: null,
    action: null,
    note,
  };
}

/** Gross first (a wrong amount is the bigger problem), then the fee. */
export function compareWithTxn(line: ReportLine, txn: LedgerTxn): LineMatch {
  const base = { matchType: 'ledger_transaction' as const, matchId: txn.id, action: null };
  if (line.currency !== txn.currency) {
    return {
      ...base,
      status: 'amount_mismatch',
      amountDifference: null,
      feeDifference: null,
      note: `currency ${line.currency} in the report, ${txn.currency} in the ledger`,
    };
  }
  const amountDifference = line.amountMinor - txn.amount;
  const feeDifference = line.feeMinor === null ? null : line.feeMinor - txn.fee;
  if (amountDifference !== 0) {
    return {
      ...base,
      status: 'amount_mismatch',
      amountDifference,
      feeDifference,
      note: `amount ${line.amountMinor} in the report, ${txn.amount} in the ledger`,
    };
  }
  if (feeDifference !== null && feeDifference !== 0) {
    return {
      ...base,
      status: 'fee_mismatch',
      amountDifference: 0,
      feeDifference,
      note: `fee ${line.feeMinor} in the report, ${txn.fee} in the ledger`,
    };
  }
  return { ...base, status: 'matched', amountDifference: 0, feeDifference, note: null };
}

/** Compares an amount found by reference with the one we expected (payouts, batches). */
export function compareAmount(
  found: { type: MatchType; id: string; amountMinor: number; currency: string },
  line: Pick<ReportLine, 'currency'>,
  reportedMinor: number,
): LineMatch {
  const base = { matchType: found.type, matchId: found.id, feeDifference: null, action: null };
  if (found.currency !== line.currency) {
    return {
      ...base,
      status: 'amount_mismatch',
      amountDifference: null,
      note: `currency ${line.currency} in the report, ${found.currency} for ${found.id}`,
    };
  }
  const amountDifference = reportedMinor - found.amountMinor;
  return amountDifference === 0
    ? { ...base, status: 'matched', amountDifference: 0, note: null }
    : {
        ...base,
        status: 'amount_mismatch',
        amountDifference,
        note: `amount ${reportedMinor} in the report, ${found.amountMinor} for ${found.id}`,
      };
}
