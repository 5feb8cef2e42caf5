import type { Tx } from '../db/database.ts';
import type { LedgerTransactionsTable, PayoutsTable } from '../db/schema.ts';
import type { AccountKey, LedgerPurpose } from '../ledger/accounts.ts';
import { type EntrySpec, post } from '../ledger/postings.ts';
import { assert } from '../lib/assert.ts';
import { newId } from '../lib/ids.ts';

// The ledger side of a payout (docs/payouts.md has the table). A payout moves
// the merchant's available funds to `payouts_in_transit` when it is made; the
// bank debiting the operator's account moves them on to `cash` (paid); a
// cancellation or failure puts them back to `merchant_available`. The type
// names are a contract with the ledger module (verify, balance transactions).

export type PayoutPostingType = 'payout' | 'payout_cancel' | 'payout_failure' | 'payout_paid';

interface PostingShape {
  reportingCategory: string;
  /** The sign of the transaction's amount as the merchant sees it. */
  sign: 1 | -1;
  /** Debited (+A) and credited (−A) book accounts. */
  debit: LedgerPurpose;
  credit: LedgerPurpose;
}

const SHAPES: Record<PayoutPostingType, PostingShape> = {
  payout: {
    reportingCategory: 'payout',
    sign: -1,
    debit: 'merchant_available',
    credit: 'payouts_in_transit',
  },
  payout_cancel: {
    reportingCategory: 'payout_reversal',
    sign: 1,
    debit: 'payouts_in_transit',
    credit: 'merchant_available',
  },
  payout_failure: {
    reportingCategory: 'payout_reversal',
    sign: 1,
    debit: 'payouts_in_transit',
    credit: 'merchant_available',
  },
  payout_paid: {
    reportingCategory: 'payout_paid',
    sign: 1,
    debit: 'payouts_in_transit',
    credit: 'cash',
  },
};

export function payoutEntries(input: {
  payout: PayoutsTable;
  type: PayoutPostingType;
  /** A bank return after `paid`: the money comes back into `cash`, not out of transit. */
  returnedAfterPaid?: boolean;
}): EntrySpec[] {
  const { payout } = input;
  const shape = SHAPES[input.type];
  assert(payout.amount > 0, `payout ${payout.id} has a positive amount`);
  const scope = {
    accountId: payout.account_id,
    livemode: payout.livemode,
    currency: payout.currency,
  };
  const debit: LedgerPurpose = input.returnedAfterPaid ? 'cash' : shape.debit;
  const key = (purpose: LedgerPurpose): AccountKey => ({ ...scope, purpose });
  return [
    { account: key(debit), amountMinor: payout.amount },
    { account: key(shape.credit), amountMinor: -payout.amount },
  ];
}

/** Posts one payout transaction in the caller's database transaction; returns its txn_ row. */
export async function postPayout(
  tx: Tx,
  input: {
    payout: PayoutsTable;
    type: PayoutPostingType;
    nowMs: number;
    /** Chosen by the caller when the payout row must name the txn_ before it is posted. */
    txnId?: string;
    returnedAfterPaid?: boolean;
  },
): Promise<LedgerTransactionsTable> {
  const { payout, type } = input;
  assert(
    input.returnedAfterPaid !== true || type === 'payout_failure',
    'only a failure can return a paid payout',
  );
  const created = Math.floor(input.nowMs / 1000);
  const amount = SHAPES[type].sign * payout.amount;
  const txn: LedgerTransactionsTable = {
    id: input.txnId ?? newId('txn', input.nowMs),
    account_id: payout.account_id,
    livemode: payout.livemode,
    type,
    source: payout.id,
    reporting_category: SHAPES[type].reportingCategory,
    description: payout.description ?? 'PAYOUT',
    amount,
    fee: 0,
    net: amount,
    fee_details: '[]',
    currency: payout.currency,
    status: 'available',
    available_on: created,
    created,
    payout_id: payout.id,
  };
  await post(tx, txn, payoutEntries(input));
  return txn;
}
