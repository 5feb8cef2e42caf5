import type { Tx } from '../db/database.ts';
import type {
  BankTransferReceiptsTable,
  ChargesTable,
  LedgerTransactionsTable,
} from '../db/schema.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { unixSeconds } from '../lib/clock.ts';
import type { AccountKey } from './accounts.ts';
import { type BookingDeps, createBooking, newTransaction } from './book.ts';
import { type EntrySpec, post } from './postings.ts';

// Booking payments the customer made by bank transfer (the secondary method,
// docs/bank-transfers.md). No processor takes the money: the customer pays it
// into the account's own bank account, so it is in the bank the day it arrives,
// whether or not it pays its intent in full. Two postings, each in the
// transaction that records its cause:
//
//   receipt (every credit, partial or final)  `bank_transfer_receipt` +R, internal:
//       cash +R, bank_transfers_unapplied −R
//   charge (the receipt that completes the intent, amount A = Σ its receipts):
//       bank_transfers_unapplied +A, merchant_pending −A
//
// `bank_transfers_unapplied` is a liability: money the bank holds that belongs
// to the customer until it pays an intent in full. The charge releases it into
// the merchant's pending balance; an intent canceled (or paid another way)
// while partly funded leaves it there, owed back to the customer, and
// `ledger verify` lists it as an unapplied bank transfer.
//
// Cash is counted once. A card charge debits its processor's receivable and
// the settlement batch clears that receivable into `cash` when the processor
// deposits. A bank transfer's cash was booked on arrival, so its charge
// debits the unapplied liability instead of a receivable, and its settlement
// batch (connector `bank_transfer`, src/ledger/settle.ts) has no processor
// side (gross 0, fee 0, no receivable or cash entry): it only moves the
// merchant's pending A to available, like a connected account's batch. After
// settlement the books end where a card payment's do: cash +A, merchant
// available −A; `processor_receivable[bank_transfer]` is never used.
//
// The receipt is internal (not a balance transaction): like Stripe's customer
// cash balance, money received and not applied is not the merchant's. The
// charge is the merchant's balance transaction, settled like any charge. The
// amount is the intent's, in its own currency: a bank transfer is not
// converted (the IBAN's account takes the payment's currency).

/** The `connector` of charges paid by bank transfer, and of their ledger postings. */
export const BANK_TRANSFER_CONNECTOR = 'bank_transfer';

/** The ledger transaction of one bank transfer received (source: the receipt, btr_). */
export const BANK_TRANSFER_RECEIPT_TYPE = 'bank_transfer_receipt';

/** The liability that holds received transfers until they pay an intent. */
export const UNAPPLIED_PURPOSE = 'bank_transfers_unapplied';

type Scope = Pick<AccountKey, 'accountId' | 'livemode' | 'currency'>;

/** A transfer received: in the bank, owed to the customer. */
export function receiptEntries(input: { scope: Scope; amountMinor: number }): EntrySpec[] {
  const { scope, amountMinor } = input;
  assert(amountMinor > 0, `a bank transfer receipt needs a positive amount, got ${amountMinor}`);
  return [
    { account: { ...scope, purpose: 'cash' }, amountMinor },
    { account: { ...scope, purpose: UNAPPLIED_PURPOSE }, amountMinor: -amountMinor },
  ];
}

/** The intent paid in full: the held funds become the merchant's (pending). */
export function appliedChargeEntries(input: { scope: Scope; amountMinor: number }): EntrySpec[] {
  const { scope, amountMinor } = input;
  assert(amountMinor > 0, `a bank transfer charge needs a positive amount, got ${amountMinor}`);
  return [
    { account: { ...scope, purpose: UNAPPLIED_PURPOSE }, amountMinor },
    { account: { ...scope, purpose: 'merchant_pending' }, amountMinor: -amountMinor },
  ];
}

export function createBankTransferBooking(deps: BookingDeps) {
  const booking = createBooking(deps);
  /**
   * Posts one transfer received (partial or final): call in the transaction
   * that inserts its receipt row, before the charge it may complete.
   */
  async function postReceipt(
    tx: Tx,
    receipt: BankTransferReceiptsTable,
  ): Promise<LedgerTransactionsTable> {
    const amountMinor = receipt.amount;
    assertSafeInteger(amountMinor, `${receipt.id}.amount`);
    const txn = newTransaction(deps, receipt, {
      type: BANK_TRANSFER_RECEIPT_TYPE,
      reporting_category: BANK_TRANSFER_RECEIPT_TYPE,
      source: receipt.id,
      description: `Bank transfer ${receipt.reference} for ${receipt.payment_intent_id}`,
      amount: amountMinor,
      fee: 0,
      connector_id: BANK_TRANSFER_CONNECTOR,
      // Internal and never settled: the money is in the bank now.
      status: 'available',
      available_on: unixSeconds(deps.clock),
    });
    const scope = {
      accountId: receipt.account_id,
      livemode: receipt.livemode,
      currency: receipt.currency,
    };
    await post(tx, txn, receiptEntries({ scope, amountMinor }));
    return txn;
  }

  /**
   * The receipts of the charge's intent pay exactly its amount, and each one
   * is posted: the unapplied funds the charge releases are all there.
   */
  async function assertFunded(tx: Tx, charge: ChargesTable): Promise<void> {
    const row = await tx
      .selectFrom('bank_transfer_receipts as r')
      .leftJoin('ledger_transactions as t', (join) =>
        join.onRef('t.source', '=', 'r.id').on('t.type', '=', BANK_TRANSFER_RECEIPT_TYPE),
      )
      .select((eb) => [
        eb.fn.count<number | string>('r.id').as('receipts'),
        eb.fn.count<number | string>('t.id').as('posted'),
        eb.fn.sum<number | string>('r.amount').as('total'),
      ])
      .where('r.payment_intent_id', '=', charge.payment_intent_id)
      .where('r.currency', '=', charge.currency)
      .executeTakeFirstOrThrow();
    const receivedMinor = Number(row.total ?? 0);
    assertSafeInteger(receivedMinor, `receipts of ${charge.payment_intent_id}`);
    assert(
      receivedMinor === charge.amount_captured,
      `${charge.id}: receipts of ${charge.payment_intent_id} sum to ${receivedMinor}, not ${charge.amount_captured}`,
    );
    assert(Number(row.posted) === Number(row.receipts), `${charge.id}: every receipt is posted`);
  }

  /**
   * Posts a charge paid in full by bank transfer (with its split, for a
   * destination charge): call in the transaction that writes the charge,
   * after the receipt that completed it was posted.
   */
  async function postBankTransferCharge(
    tx: Tx,
    charge: ChargesTable,
  ): Promise<LedgerTransactionsTable> {
    assert(charge.connector === BANK_TRANSFER_CONNECTOR, `${charge.id} was paid by bank transfer`);
    assert(charge.captured === 1, `${charge.id} is captured before it is posted`);
    const amountMinor = charge.amount_captured;
    assertSafeInteger(amountMinor, `${charge.id}.amount_captured`);
    assert(amountMinor > 0 && amountMinor === charge.amount, `${charge.id} is paid in full`);
    await assertFunded(tx, charge);
    const txn = newTransaction(deps, charge, {
      type: 'charge',
      reporting_category: 'charge',
      source: charge.id,
      description: charge.description ?? 'Bank transfer',
      amount: amountMinor,
      fee: 0,
      connector_id: BANK_TRANSFER_CONNECTOR,
    });
    const scope = {
      accountId: charge.account_id,
      livemode: charge.livemode,
      currency: txn.currency,
    };
    await post(tx, txn, appliedChargeEntries({ scope, amountMinor }));
    // The split of a destination charge, as for a card charge (no conversion: T = A − AF).
    if (charge.transfer_destination) await booking.postTransfer(tx, charge, txn);
    return txn;
  }

  return { postReceipt, postBankTransferCharge };
}

export type BankTransferBooking = ReturnType<typeof createBankTransferBooking>;
