import { type Tx, toJson } from '../db/database.ts';
import type { ChargesTable, LedgerTransactionsTable, RefundsTable } from '../db/schema.ts';
import { convertWithRate, settlementFor } from '../fx/convert.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { feeFor } from '../routing/fees.ts';
import {
  chargeEntries,
  paymentEntries,
  post,
  refundEntries,
  reversalEntries,
  transferEntries,
} from './postings.ts';

// Booking the causes: a capture (with its split, when the charge has a
// destination) and a succeeded refund (with its transfer reversal). Each runs
// in the caller's database transaction, so the books and the payment change
// commit together. Amounts are booked in the connector's settlement currency
// (src/fx/convert.ts); without a conversion that is the presentment currency.

/** The connector id of the built-in sandbox, which charges no fees. */
const BUILTIN_SANDBOX = 'sandbox';

type TxnBase = Pick<LedgerTransactionsTable, 'account_id' | 'livemode' | 'currency'>;
type TxnFields = Pick<
  LedgerTransactionsTable,
  'type' | 'source' | 'reporting_category' | 'amount'
> &
  Partial<LedgerTransactionsTable>;

export interface BookingDeps {
  clock: Clock;
  availableAfterSeconds: number;
  /**
   * End-of-day settlement: seconds after 00:00 UTC of the daily cutoff
   * (PAYRAIL_SETTLEMENT_CUTOFF). Funds become available at the first cutoff
   * after the delay, so each day's due funds settle together, in one batch
   * per connector and currency. Null (or a zero delay): exactly after the delay.
   */
  settlementCutoffSeconds?: number | null;
}

const DAY_SECONDS = 86_400;

/** When funds booked at `created` become available (see BookingDeps). */
export function availableOn(
  created: number,
  schedule: Pick<BookingDeps, 'availableAfterSeconds' | 'settlementCutoffSeconds'>,
): number {
  const due = created + schedule.availableAfterSeconds;
  const cutoff = schedule.settlementCutoffSeconds ?? null;
  if (cutoff === null || schedule.availableAfterSeconds === 0) return due;
  assert(cutoff >= 0 && cutoff < DAY_SECONDS, `cutoff ${cutoff} is a second of the day`);
  const sinceCutoff = (((due - cutoff) % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS;
  return sinceCutoff === 0 ? due : due + DAY_SECONDS - sinceCutoff;
}

/** A new ledger transaction row, pending until its funds are available (availableOn) unless told. */
export function newTransaction(
  deps: BookingDeps,
  base: TxnBase,
  fields: TxnFields,
): LedgerTransactionsTable {
  const created = unixSeconds(deps.clock);
  const fee = fields.fee ?? 0;
  return {
    id: newId('txn', deps.clock.nowMs()),
    account_id: base.account_id,
    livemode: base.livemode,
    description: null,
    fee,
    net: fields.amount - fee,
    fee_details: '[]',
    currency: base.currency,
    status: 'pending',
    available_on: availableOn(created, deps),
    created,
    exchange_rate: null,
    source_amount: null,
    source_currency: null,
    connector_id: null,
    settlement_batch_id: null,
    payout_id: null,
    ...fields,
  };
}

/** round(numerator / denominator), half away from zero, exact for any safe integers. */
export function roundDiv(numerator: bigint, denominator: bigint): number {
  assert(denominator > 0n, 'roundDiv needs a positive denominator');
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  const rounded = (2n * abs + denominator) / (2n * denominator);
  const result = Number(negative ? -rounded : rounded);
  assertSafeInteger(result, 'rounded amount');
  return result;
}

/**
 * The cumulative share of `totalMinor` for `partMinor` of `wholeMinor`:
 * round(total × part / whole). Refunds use it on their running sum, so each
 * refund's share is the difference of two cumulative shares: rounding never
 * drifts, and the refund that completes the whole takes exactly the rest.
 */
export function cumulativeShare(input: {
  totalMinor: number;
  partMinor: number;
  wholeMinor: number;
}): number {
  const { totalMinor, partMinor, wholeMinor } = input;
  assert(partMinor >= 0 && partMinor <= wholeMinor, `share ${partMinor} of ${wholeMinor}`);
  if (partMinor === wholeMinor) return totalMinor;
  return roundDiv(BigInt(totalMinor) * BigInt(partMinor), BigInt(wholeMinor));
}

export function createBooking(deps: BookingDeps) {
  /** The connector's fee for `amountMinor`, from its schedule as it is now. */
  async function processorFee(tx: Tx, charge: ChargesTable, amountMinor: number) {
    if (charge.connector === BUILTIN_SANDBOX) return 0;
    const row = await tx
      .selectFrom('connector_accounts')
      .select(['fee_rate_ppm', 'fee_fixed'])
      .where('id', '=', charge.connector)
      .where('account_id', '=', charge.account_id)
      .executeTakeFirst();
    // A charge names the connector that made it; connector rows are only soft-deleted.
    assert(row !== undefined, `connector ${charge.connector} of ${charge.id} exists`);
    return feeFor({ feeRatePpm: row.fee_rate_ppm, feeFixed: row.fee_fixed }, amountMinor);
  }

  /** Posts a capture (and its split): call in the transaction that marks the charge captured. */
  async function postCharge(tx: Tx, charge: ChargesTable): Promise<LedgerTransactionsTable> {
    assert(charge.captured === 1, `${charge.id} is captured before it is posted`);
    const presentedMinor = charge.amount_captured;
    const created = unixSeconds(deps.clock);
    const settled = await settlementFor(tx, {
      accountId: charge.account_id,
      livemode: charge.livemode,
      connectorId: charge.connector,
      currency: charge.currency,
      amountMinor: presentedMinor,
      at: created,
    });
    const conversion = settled.conversion;
    const amountMinor = settled.amountMinor;
    // The fee is the processor's, on what it settles.
    const feeMinor = await processorFee(tx, charge, amountMinor);
    const feeDetails = feeMinor
      ? [
          {
            amount: feeMinor,
            application: null,
            currency: settled.currency,
            description: `Processing fees (${charge.connector})`,
            type: 'processor_fee',
          },
        ]
      : [];
    const txn = newTransaction(
      deps,
      { ...charge, currency: settled.currency },
      {
        type: 'charge',
        reporting_category: 'charge',
        source: charge.id,
        description: charge.description,
        amount: amountMinor,
        fee: feeMinor,
        fee_details: toJson(feeDetails),
        connector_id: charge.connector,
        exchange_rate: conversion?.rate ?? null,
        source_amount: conversion ? presentedMinor : null,
        source_currency: conversion ? charge.currency : null,
      },
    );
    const scope = {
      accountId: charge.account_id,
      livemode: charge.livemode,
      currency: settled.currency,
    };
    await post(
      tx,
      txn,
      chargeEntries({ scope, connectorId: charge.connector, amountMinor, feeMinor }),
    );
    if (charge.transfer_destination) await postTransfer(tx, charge, txn);
    return txn;
  }

  /** A connected account must belong to the platform that charges for it. */
  async function assertDestination(tx: Tx, charge: ChargesTable, destination: string) {
    const row = await tx
      .selectFrom('accounts')
      .select('platform_account_id')
      .where('id', '=', destination)
      .executeTakeFirst();
    assert(
      row?.platform_account_id === charge.account_id,
      `${destination} is a connected account of ${charge.account_id}`,
    );
  }

  /**
   * The split of a destination charge: the platform keeps the application fee
   * AF and transfers A − AF to the destination. Posted even when it is 0, so
   * every destination charge has its transfer and payment (verify relies on it).
   */
  async function postTransfer(tx: Tx, charge: ChargesTable, chargeTxn: LedgerTransactionsTable) {
    const destination = charge.transfer_destination;
    assert(destination, `${charge.id} has a destination`);
    const feeAppMinor = Number(charge.application_fee_amount ?? 0);
    const presentedMinor = charge.amount_captured;
    assertSafeInteger(feeAppMinor, 'application_fee_amount');
    assert(
      feeAppMinor >= 0 && feeAppMinor <= presentedMinor,
      `${charge.id}: application fee ${feeAppMinor} within 0..${presentedMinor}`,
    );
    await assertDestination(tx, charge, destination);
    const rate = chargeTxn.exchange_rate;
    const feeAppSettledMinor = rate
      ? convertWithRate(feeAppMinor, rate, charge.currency, chargeTxn.currency)
      : feeAppMinor;
    const transferMinor = chargeTxn.amount - feeAppSettledMinor;
    assert(
      transferMinor >= 0 && transferMinor <= chargeTxn.amount,
      `${charge.id}: transfer ${transferMinor} within 0..${chargeTxn.amount}`,
    );
    const base = { ...chargeTxn };
    const common = { source: charge.id, connector_id: charge.connector };
    const transfer = newTransaction(deps, base, {
      ...common,
      type: 'transfer',
      reporting_category: 'transfer',
      description: `Transfer to ${destination}`,
      amount: -transferMinor,
    });
    const payment = newTransaction(
      deps,
      { ...base, account_id: destination },
      {
        ...common,
        type: 'payment',
        reporting_category: 'charge',
        description: `Payment from ${charge.account_id}`,
        amount: transferMinor,
      },
    );
    const platform = {
      accountId: charge.account_id,
      livemode: charge.livemode,
      currency: chargeTxn.currency,
    };
    await post(tx, transfer, transferEntries({ platform, amountMinor: transferMinor }));
    await post(
      tx,
      payment,
      paymentEntries({ platform, destinationAccountId: destination, amountMinor: transferMinor }),
    );
  }

  /** The charge's own postings and what its earlier refunds already posted. */
  async function chargeHistory(tx: Tx, charge: ChargesTable) {
    const posted = await tx
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('source', '=', charge.id)
      .where('type', 'in', ['charge', 'transfer'])
      .execute();
    const chargeTxn = posted.find((t) => t.type === 'charge');
    assert(chargeTxn !== undefined, `${charge.id} was posted before it is refunded`);
    const earlier = await tx
      .selectFrom('ledger_transactions as t')
      .innerJoin('refunds as r', 'r.id', 't.source')
      .select(['t.type', 't.amount', 'r.amount as refund_amount'])
      .where('r.charge_id', '=', charge.id)
      .where('t.type', 'in', ['refund', 'transfer_refund'])
      .execute();
    let refundedMinor = 0;
    let refundedSettledMinor = 0;
    let reversedMinor = 0;
    for (const row of earlier) {
      if (row.type === 'refund') {
        refundedMinor += Number(row.refund_amount);
        refundedSettledMinor -= Number(row.amount);
      } else reversedMinor += Number(row.amount);
    }
    const transferTxn = posted.find((t) => t.type === 'transfer');
    return { chargeTxn, transferTxn, refundedMinor, refundedSettledMinor, reversedMinor };
  }

  /** Posts a succeeded refund (and its transfer reversal): call in the transaction that marks it succeeded. */
  async function postRefund(tx: Tx, refund: RefundsTable, charge: ChargesTable) {
    assert(refund.status === 'succeeded', `${refund.id} succeeded before it is posted`);
    assert(refund.charge_id === charge.id, `${refund.id} refunds ${charge.id}`);
    const history = await chargeHistory(tx, charge);
    const { chargeTxn } = history;
    const cumulativeMinor = history.refundedMinor + refund.amount;
    assert(
      cumulativeMinor <= charge.amount_captured,
      `${charge.id}: refunds ${cumulativeMinor} within the captured ${charge.amount_captured}`,
    );
    const rate = chargeTxn.exchange_rate;
    // Converted on the running sum with the charge's rate: the refund that
    // completes the charge clears the receivable exactly.
    const cumulativeSettledMinor = !rate
      ? cumulativeMinor
      : cumulativeMinor === charge.amount_captured
        ? chargeTxn.amount
        : Math.min(
            chargeTxn.amount,
            convertWithRate(cumulativeMinor, rate, charge.currency, chargeTxn.currency),
          );
    const settledMinor = cumulativeSettledMinor - history.refundedSettledMinor;
    assert(settledMinor >= 0, `${refund.id}: settled refund ${settledMinor} is not negative`);
    const txn = newTransaction(deps, chargeTxn, {
      type: 'refund',
      reporting_category: 'refund',
      source: refund.id,
      description: 'REFUND FOR CHARGE',
      amount: -settledMinor,
      connector_id: charge.connector,
      exchange_rate: rate ?? null,
      source_amount: rate ? -refund.amount : null,
      source_currency: rate ? charge.currency : null,
    });
    const scope = {
      accountId: refund.account_id,
      livemode: refund.livemode,
      currency: chargeTxn.currency,
    };
    await post(
      tx,
      txn,
      refundEntries({ scope, connectorId: charge.connector, amountMinor: settledMinor }),
    );
    if (history.transferTxn && charge.transfer_destination) {
      const reversedMinor =
        cumulativeShare({
          totalMinor: -history.transferTxn.amount,
          partMinor: cumulativeSettledMinor,
          wholeMinor: chargeTxn.amount,
        }) - history.reversedMinor;
      await postReversal(tx, { refund, charge, chargeTxn, amountMinor: reversedMinor });
    }
    return txn;
  }

  /** The transfer reversal of a refund of a destination charge (the platform takes back X). */
  async function postReversal(
    tx: Tx,
    input: {
      refund: RefundsTable;
      charge: ChargesTable;
      chargeTxn: LedgerTransactionsTable;
      amountMinor: number;
    },
  ) {
    const { refund, charge, chargeTxn, amountMinor } = input;
    const destination = charge.transfer_destination;
    assert(destination, `${charge.id} has a destination`);
    assert(amountMinor >= 0, `${refund.id}: transfer reversal ${amountMinor} is not negative`);
    const common = { source: refund.id, connector_id: charge.connector };
    const transfer = newTransaction(deps, chargeTxn, {
      ...common,
      type: 'transfer_refund',
      reporting_category: 'transfer_reversal',
      description: `Transfer reversal from ${destination}`,
      amount: amountMinor,
    });
    const payment = newTransaction(
      deps,
      { ...chargeTxn, account_id: destination },
      {
        ...common,
        type: 'payment_refund',
        reporting_category: 'refund',
        description: `Refund of payment from ${charge.account_id}`,
        amount: -amountMinor,
      },
    );
    const platform = {
      accountId: charge.account_id,
      livemode: charge.livemode,
      currency: chargeTxn.currency,
    };
    const entries = reversalEntries({ platform, destinationAccountId: destination, amountMinor });
    await post(tx, transfer, entries.transfer);
    await post(tx, payment, entries.payment);
  }

  return { postCharge, postRefund, postTransfer };
}
