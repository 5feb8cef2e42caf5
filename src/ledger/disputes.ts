import { type Tx, toJson } from '../db/database.ts';
import type { ChargesTable, DisputesTable, LedgerTransactionsTable } from '../db/schema.ts';
import { convertWithRate } from '../fx/convert.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import type { AccountKey } from './accounts.ts';
import { type BookingDeps, newTransaction } from './book.ts';
import { type EntrySpec, post } from './postings.ts';

// Booking disputes (chargebacks). The processor takes the disputed amount D
// back from what it owes (its receivable shrinks) and may keep a dispute fee
// F; the merchant's pending balance pays both. When the dispute is won the
// processor gives D back (the fee stays with it, like Stripe's today). Adyen
// can take D a second time (second chargeback) and give it back again
// (pre-arbitration won), so a dispute has at most four movements, made in
// order: `disputes.funds_moves` says how many were posted.
//
// Stripe shows every one of them as a balance transaction of type
// `adjustment`; the books keep one type per movement because a cause is
// posted once per (source, type) (a unique index), and the source of all of
// them is the dispute (du_…).

export interface DisputeMovement {
  /** The ledger transaction type (shown as `adjustment` by the API). */
  type: string;
  reportingCategory: 'dispute' | 'dispute_reversal';
  /** −1: funds withdrawn from the merchant; +1: reinstated. */
  sign: -1 | 1;
}

export const DISPUTE_MOVEMENTS: readonly DisputeMovement[] = [
  { type: 'dispute', reportingCategory: 'dispute', sign: -1 },
  { type: 'dispute_reversal', reportingCategory: 'dispute_reversal', sign: 1 },
  { type: 'dispute_second', reportingCategory: 'dispute', sign: -1 },
  { type: 'dispute_second_reversal', reportingCategory: 'dispute_reversal', sign: 1 },
];

export const DISPUTE_TYPES = DISPUTE_MOVEMENTS.map((m) => m.type);

/** The API's type for a dispute movement, like Stripe's. */
export const DISPUTE_API_TYPE = 'adjustment';

/** The connector id of the built-in sandbox, which charges no fees. */
const BUILTIN_SANDBOX = 'sandbox';

type Scope = Pick<AccountKey, 'accountId' | 'livemode' | 'currency'>;

/**
 * Funds withdrawn: the merchant's pending balance pays D + F, the processor
 * owes D less, and the fee is owed to the processor until its batch settles.
 */
export function disputeWithdrawalEntries(input: {
  scope: Scope;
  connectorId: string;
  amountMinor: number;
  feeMinor: number;
}): EntrySpec[] {
  const { scope, amountMinor, feeMinor } = input;
  assert(amountMinor > 0, `a dispute posting needs a positive amount, got ${amountMinor}`);
  assert(feeMinor >= 0, `a dispute fee cannot be negative, got ${feeMinor}`);
  const entries: EntrySpec[] = [
    { account: { ...scope, purpose: 'merchant_pending' }, amountMinor: amountMinor + feeMinor },
    {
      account: { ...scope, purpose: 'processor_receivable', connectorId: input.connectorId },
      amountMinor: -amountMinor,
    },
  ];
  if (feeMinor > 0)
    entries.push({ account: { ...scope, purpose: 'processing_fees' }, amountMinor: -feeMinor });
  return entries;
}

/** Funds reinstated: the processor owes D again and the merchant gets it back. */
export function disputeReinstatementEntries(input: {
  scope: Scope;
  connectorId: string;
  amountMinor: number;
}): EntrySpec[] {
  const { scope, amountMinor } = input;
  assert(amountMinor > 0, `a dispute reversal needs a positive amount, got ${amountMinor}`);
  return [
    {
      account: { ...scope, purpose: 'processor_receivable', connectorId: input.connectorId },
      amountMinor,
    },
    { account: { ...scope, purpose: 'merchant_pending' }, amountMinor: -amountMinor },
  ];
}

export function createDisputeBooking(deps: BookingDeps) {
  /** The connector account's dispute fee, in the settlement currency; none for the sandbox. */
  async function disputeFee(tx: Tx, charge: ChargesTable): Promise<number> {
    if (charge.connector === BUILTIN_SANDBOX) return 0;
    const row = await tx
      .selectFrom('connector_accounts')
      .select('dispute_fee')
      .where('id', '=', charge.connector)
      .where('account_id', '=', charge.account_id)
      .executeTakeFirst();
    assert(row !== undefined, `connector ${charge.connector} of ${charge.id} exists`);
    const fee = Number(row.dispute_fee ?? 0);
    assertSafeInteger(fee, 'dispute_fee');
    return fee;
  }

  async function chargePosting(tx: Tx, charge: ChargesTable) {
    const row = await tx
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('source', '=', charge.id)
      .where('type', '=', 'charge')
      .executeTakeFirst();
    assert(row !== undefined, `${charge.id} was posted before it is disputed`);
    return row;
  }

  /**
   * D in the settlement currency: the charge's own rate (as refunds use it);
   * a dispute of the whole charge takes exactly what the capture booked.
   */
  function settledAmount(
    dispute: DisputesTable,
    charge: ChargesTable,
    chargeTxn: LedgerTransactionsTable,
  ) {
    const rate = chargeTxn.exchange_rate;
    if (!rate) return dispute.amount;
    if (dispute.amount === charge.amount_captured) return chargeTxn.amount;
    const converted = convertWithRate(dispute.amount, rate, charge.currency, chargeTxn.currency);
    // A tiny dispute that rounds to nothing still moves one unit; never more than was booked.
    return Math.min(chargeTxn.amount, Math.max(1, converted));
  }

  /**
   * Posts the dispute's next movement (index `dispute.funds_moves`): call in
   * the transaction that records the change on the dispute. Returns the txn.
   */
  async function postDisputeMovement(
    tx: Tx,
    input: { dispute: DisputesTable; charge: ChargesTable },
  ): Promise<LedgerTransactionsTable> {
    const { dispute, charge } = input;
    const index = dispute.funds_moves;
    const movement = DISPUTE_MOVEMENTS[index];
    assert(movement !== undefined, `${dispute.id} has no movement ${index}`);
    assert(dispute.charge_id === charge.id, `${dispute.id} disputes ${charge.id}`);
    assert(charge.captured === 1, `${charge.id} is captured before it is disputed`);
    assert(
      dispute.amount > 0 && dispute.amount <= charge.amount_captured,
      `${dispute.id}: amount ${dispute.amount} within 1..${charge.amount_captured}`,
    );
    const chargeTxn = await chargePosting(tx, charge);
    const amountMinor = settledAmount(dispute, charge, chargeTxn);
    const feeMinor = index === 0 ? await disputeFee(tx, charge) : 0;
    const feeDetails = feeMinor
      ? [
          {
            amount: feeMinor,
            application: null,
            currency: chargeTxn.currency,
            description: `Dispute fee (${charge.connector})`,
            type: 'processor_fee',
          },
        ]
      : [];
    const rate = chargeTxn.exchange_rate ?? null;
    const txn = newTransaction(deps, chargeTxn, {
      type: movement.type,
      reporting_category: movement.reportingCategory,
      source: dispute.id,
      description: `Chargeback ${movement.sign < 0 ? 'withdrawal' : 'reversal'} for ${charge.id}`,
      amount: movement.sign * amountMinor,
      fee: feeMinor,
      fee_details: toJson(feeDetails),
      connector_id: charge.connector,
      exchange_rate: rate,
      source_amount: rate ? movement.sign * dispute.amount : null,
      source_currency: rate ? charge.currency : null,
    });
    const scope = {
      accountId: charge.account_id,
      livemode: charge.livemode,
      currency: chargeTxn.currency,
    };
    const common = { scope, connectorId: charge.connector, amountMinor };
    await post(
      tx,
      txn,
      movement.sign < 0
        ? disputeWithdrawalEntries({ ...common, feeMinor })
        : disputeReinstatementEntries(common),
    );
    return txn;
  }

  return { postDisputeMovement };
}

export type DisputeBooking = ReturnType<typeof createDisputeBooking>;
