import { livemodeFlag, type Scope } from '../db/context.ts';
import { type Db, type Tx, toJson } from '../db/database.ts';
import type { ChargesTable, LedgerTransactionsTable, RefundsTable } from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { feeFor } from '../routing/fees.ts';
import { chargeEntries, post, refundEntries, releaseEntries } from './postings.ts';
import type { BalanceTransactionListInput } from './schemas.ts';

// The ledger service: postings called by payments and refunds inside their
// own transactions, the pending → available release, and the read side
// (Stripe's balance and balance transactions).

/** The connector id of the built-in sandbox, which charges no fees. */
const BUILTIN_SANDBOX = 'sandbox';

/** Ledger transaction types that Stripe shows as balance transactions. */
export const BALANCE_TRANSACTION_TYPES = ['charge', 'refund'] as const;
export const RELEASE_TYPE = 'funds_release';

export interface MerchantBalance {
  currency: string;
  availableMinor: number;
  pendingMinor: number;
}

export function createLedgerService(deps: { db: Db; clock: Clock; availableAfterSeconds: number }) {
  const { db, clock, availableAfterSeconds } = deps;

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

  function newTransaction(
    base: Pick<ChargesTable, 'account_id' | 'livemode' | 'currency'>,
    fields: Pick<LedgerTransactionsTable, 'type' | 'source' | 'reporting_category' | 'amount'> &
      Partial<LedgerTransactionsTable>,
  ): LedgerTransactionsTable {
    const created = unixSeconds(clock);
    const fee = fields.fee ?? 0;
    return {
      id: newId('txn', clock.nowMs()),
      account_id: base.account_id,
      livemode: base.livemode,
      description: null,
      fee,
      net: fields.amount - fee,
      fee_details: '[]',
      currency: base.currency,
      status: 'pending',
      available_on: created + availableAfterSeconds,
      created,
      ...fields,
    };
  }

  /** Posts a capture: call in the transaction that marks the charge captured. */
  async function postCharge(tx: Tx, charge: ChargesTable): Promise<LedgerTransactionsTable> {
    assert(charge.captured === 1, `${charge.id} is captured before it is posted`);
    const amountMinor = charge.amount_captured;
    const feeMinor = await processorFee(tx, charge, amountMinor);
    const feeDetails = feeMinor
      ? [
          {
            amount: feeMinor,
            application: null,
            currency: charge.currency,
            description: `Processing fees (${charge.connector})`,
            type: 'processor_fee',
          },
        ]
      : [];
    const txn = newTransaction(charge, {
      type: 'charge',
      reporting_category: 'charge',
      source: charge.id,
      description: charge.description,
      amount: amountMinor,
      fee: feeMinor,
      fee_details: toJson(feeDetails),
    });
    const scope = {
      accountId: charge.account_id,
      livemode: charge.livemode,
      currency: charge.currency,
    };
    await post(
      tx,
      txn,
      chargeEntries({ scope, connectorId: charge.connector, amountMinor, feeMinor }),
    );
    return txn;
  }

  /** Posts a succeeded refund: call in the transaction that marks it succeeded. */
  async function postRefund(tx: Tx, refund: RefundsTable, charge: ChargesTable) {
    assert(refund.status === 'succeeded', `${refund.id} succeeded before it is posted`);
    assert(refund.charge_id === charge.id, `${refund.id} refunds ${charge.id}`);
    const txn = newTransaction(refund, {
      type: 'refund',
      reporting_category: 'refund',
      source: refund.id,
      description: 'REFUND FOR CHARGE',
      amount: -refund.amount,
    });
    const scope = {
      accountId: refund.account_id,
      livemode: refund.livemode,
      currency: refund.currency,
    };
    await post(
      tx,
      txn,
      refundEntries({ scope, connectorId: charge.connector, amountMinor: refund.amount }),
    );
    return txn;
  }

  /** Makes one due balance transaction available; false when another process did it first. */
  async function releaseOne(tx: Tx, txn: LedgerTransactionsTable): Promise<boolean> {
    const flipped = await tx
      .updateTable('ledger_transactions')
      .set({ status: 'available' })
      .where('id', '=', txn.id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(flipped.numUpdatedRows) !== 1) return false;
    const release = newTransaction(txn, {
      type: RELEASE_TYPE,
      reporting_category: RELEASE_TYPE,
      source: txn.id,
      amount: txn.net,
      status: 'available',
      available_on: unixSeconds(clock),
    });
    const scope = { accountId: txn.account_id, livemode: txn.livemode, currency: txn.currency };
    await post(tx, release, releaseEntries({ scope, netMinor: txn.net }));
    return true;
  }

  /**
   * Moves every balance transaction due by `nowSeconds` (of one scope, or all)
   * from pending to available, each in its own database transaction. Returns
   * how many it released; bounded by LIMITS.ledgerReleaseBatchMax per call.
   */
  async function releaseAvailable(input: { nowSeconds: number; scope?: Scope }) {
    let query = db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('status', '=', 'pending')
      .where('available_on', '<=', input.nowSeconds)
      .where('type', 'in', [...BALANCE_TRANSACTION_TYPES]);
    if (input.scope) {
      query = query
        .where('account_id', '=', input.scope.accountId)
        .where('livemode', '=', livemodeFlag(input.scope));
    }
    const due = await query.orderBy('id').limit(LIMITS.ledgerReleaseBatchMax).execute();
    let released = 0;
    for (const txn of due) {
      if (await db.transaction().execute((tx) => releaseOne(tx, txn))) released += 1;
    }
    return released;
  }

  /** The merchant's balances per currency, after releasing what is due. */
  async function balance(scope: Scope): Promise<MerchantBalance[]> {
    await releaseAvailable({ nowSeconds: unixSeconds(clock), scope });
    const rows = await db
      .selectFrom('ledger_accounts')
      .select(['currency', 'purpose', 'balance'])
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('purpose', 'in', ['merchant_pending', 'merchant_available'])
      .orderBy('currency')
      .execute();
    const byCurrency = new Map<string, MerchantBalance>();
    for (const row of rows) {
      const entry = byCurrency.get(row.currency) ?? {
        currency: row.currency,
        availableMinor: 0,
        pendingMinor: 0,
      };
      // Liabilities carry credit (negative) balances; the merchant sees them positive.
      if (row.purpose === 'merchant_pending') entry.pendingMinor = -Number(row.balance);
      else entry.availableMinor = -Number(row.balance);
      byCurrency.set(row.currency, entry);
    }
    return [...byCurrency.values()];
  }

  async function listBalanceTransactions(scope: Scope, filters: BalanceTransactionListInput) {
    await releaseAvailable({ nowSeconds: unixSeconds(clock), scope });
    let query = db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('type', 'in', [...BALANCE_TRANSACTION_TYPES]);
    if (filters.type !== undefined) query = query.where('type', '=', filters.type);
    if (filters.source !== undefined) query = query.where('source', '=', filters.source);
    if (filters.currency !== undefined) query = query.where('currency', '=', filters.currency);
    // No payouts exist yet, so no balance transaction belongs to one.
    if (filters.payout !== undefined) return { rows: [], hasMore: false };
    return paginate(query, filters);
  }

  async function retrieveBalanceTransaction(scope: Scope, id: string) {
    await releaseAvailable({ nowSeconds: unixSeconds(clock), scope });
    const row = await db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('type', 'in', [...BALANCE_TRANSACTION_TYPES])
      .executeTakeFirst();
    if (!row) throw notFound('balance transaction', id);
    return row;
  }

  async function defaultCurrency(scope: Scope): Promise<string> {
    const row = await db
      .selectFrom('accounts')
      .select('default_currency')
      .where('id', '=', scope.accountId)
      .executeTakeFirst();
    return row?.default_currency ?? 'usd';
  }

  return {
    postCharge,
    postRefund,
    releaseAvailable,
    balance,
    defaultCurrency,
    listBalanceTransactions,
    retrieveBalanceTransaction,
  };
}

export type LedgerService = ReturnType<typeof createLedgerService>;
/** What payments and refunds need: posting inside their own transactions. */
export type LedgerPostings = Pick<LedgerService, 'postCharge' | 'postRefund'>;
