import type { Tx } from '../db/database.ts';
import type { LedgerTransactionsTable, PaymentAttemptsTable } from '../db/schema.ts';
import { assert } from '../lib/assert.ts';
import { newId } from '../lib/ids.ts';
import type { AccountKey } from './accounts.ts';
import { type EntrySpec, post } from './postings.ts';

// Extra charges found by recovery (src/payments/recovery.ts): an attempt whose
// answer was lost turns out to have CAPTURED money at a processor for a
// payment that another attempt already took (or that failed). The payment
// keeps nothing of it, so the merchant's balance never sees it, but until the
// refund that reverses it succeeds the processor holds the customer's money:
//
//   discovered    extra_capture           processor_receivable[C] +A, extra_charges −A
//   refund done   extra_capture_reversal  extra_charges +A, processor_receivable[C] −A
//
// `extra_charges` is a clearing account: its balance is what processors still
// hold of extra captures (owed back to customers). An extra that was only
// authorized is voided and posts nothing: no money moved. Both transactions
// are internal (never balance transactions), born `available`, outside
// settlement batches, in the attempt's own currency and on its connector.

export const EXTRA_CAPTURE_TYPE = 'extra_capture';
export const EXTRA_CAPTURE_REVERSAL_TYPE = 'extra_capture_reversal';

function extraEntries(attempt: PaymentAttemptsTable, sign: 1 | -1): EntrySpec[] {
  const scope = {
    accountId: attempt.account_id,
    livemode: attempt.livemode,
    currency: attempt.currency,
  };
  const receivable: AccountKey = {
    ...scope,
    purpose: 'processor_receivable',
    connectorId: attempt.connector,
  };
  return [
    { account: receivable, amountMinor: sign * attempt.amount },
    { account: { ...scope, purpose: 'extra_charges' }, amountMinor: -sign * attempt.amount },
  ];
}

function extraTransaction(
  attempt: PaymentAttemptsTable,
  input: { type: string; amount: number; description: string; nowMs: number },
): LedgerTransactionsTable {
  const created = Math.floor(input.nowMs / 1000);
  return {
    id: newId('txn', input.nowMs),
    account_id: attempt.account_id,
    livemode: attempt.livemode,
    type: input.type,
    source: attempt.id,
    reporting_category: input.type,
    description: input.description,
    amount: input.amount,
    fee: 0,
    net: input.amount,
    fee_details: '[]',
    currency: attempt.currency,
    status: 'available',
    available_on: created,
    created,
    exchange_rate: null,
    source_amount: null,
    source_currency: null,
    connector_id: attempt.connector,
    settlement_batch_id: null,
    payout_id: null,
  };
}

/** Posts the money an extra captured attempt left at its processor; call where the reversal is recorded. */
export async function postExtraCapture(
  tx: Tx,
  input: { extra: PaymentAttemptsTable; reverseAttemptId: string; nowMs: number },
): Promise<void> {
  const { extra } = input;
  assert(
    extra.status === 'succeeded' && extra.amount > 0,
    `${extra.id} captured a positive amount`,
  );
  const txn = extraTransaction(extra, {
    type: EXTRA_CAPTURE_TYPE,
    amount: extra.amount,
    description: `Extra charge of ${extra.payment_intent_id}, reversed by ${input.reverseAttemptId}`,
    nowMs: input.nowMs,
  });
  await post(tx, txn, extraEntries(extra, 1));
}

/** Posts the succeeded refund of an extra capture: the processor owes nothing of it any more. */
export async function postExtraCaptureReversal(
  tx: Tx,
  input: { reverse: PaymentAttemptsTable; nowMs: number },
): Promise<void> {
  const { reverse } = input;
  assert(
    reverse.operation === 'reverse' && reverse.status === 'succeeded',
    `${reverse.id} is a succeeded reversal`,
  );
  const txn = extraTransaction(reverse, {
    type: EXTRA_CAPTURE_REVERSAL_TYPE,
    amount: -reverse.amount,
    description: `Refund of the extra charge ${reverse.reverses_attempt_id}`,
    nowMs: input.nowMs,
  });
  await post(tx, txn, extraEntries(reverse, -1));
}
