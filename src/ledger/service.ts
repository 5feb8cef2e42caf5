import { livemodeFlag, type Scope } from '../db/context.ts';
import type { Db } from '../db/database.ts';
import { paginate } from '../http/pagination.ts';
import { assertSafeInteger } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { notFound } from '../lib/errors.ts';
import { type BookingDeps, createBooking } from './book.ts';
import { DISPUTE_API_TYPE, DISPUTE_TYPES } from './disputes.ts';
import type { BalanceTransactionListInput, SettlementBatchListInput } from './schemas.ts';
import { createSettlement } from './settle.ts';

// The ledger service: postings called by payments and refunds inside their
// own transactions (book.ts), settlement of due funds in batches
// (settle.ts), and the read side (Stripe's balance and balance transactions,
// Payrail's settlement batches).

/** Ledger transaction types that Stripe shows as balance transactions. */
export const BALANCE_TRANSACTION_TYPES = [
  'charge',
  'refund',
  'transfer',
  'payment',
  'transfer_refund',
  'payment_refund',
  'payout',
  'payout_cancel',
  'payout_failure',
  // Disputes: shown as `adjustment`, like Stripe (src/ledger/disputes.ts).
  ...DISPUTE_TYPES,
] as const;
/** Payout types: posted `available` by the payouts module, never settled. */
export const PAYOUT_TYPES = ['payout', 'payout_cancel', 'payout_failure'] as const;
/** Internal: the payout reached the bank (payouts_in_transit → cash); not a balance transaction. */
export const PAYOUT_PAID_TYPE = 'payout_paid';
/** Internal, before settlement batches: one per released transaction. Still verified, no longer posted. */
export const RELEASE_TYPE = 'funds_release';

export interface MerchantBalance {
  currency: string;
  availableMinor: number;
  pendingMinor: number;
}

export function createLedgerService(
  deps: { db: Db; clock: Clock } & Pick<
    BookingDeps,
    'availableAfterSeconds' | 'settlementCutoffSeconds'
  >,
) {
  const { db, clock } = deps;
  const { postCharge, postRefund } = createBooking(deps);
  const { settle } = createSettlement(deps);

  /**
   * Kept for callers of the per-transaction release that came before batches:
   * one settlement pass, returning how many balance transactions became available.
   */
  async function releaseAvailable(input: { nowSeconds: number; scope?: Scope }) {
    return (await settle(input)).transactions;
  }

  /** The merchant's balances per currency, after releasing what is due. */
  async function balance(scope: Scope): Promise<MerchantBalance[]> {
    await settle({ nowSeconds: unixSeconds(clock), scope });
    const rows = await db
      .selectFrom('ledger_accounts as a')
      .leftJoin('ledger_balances as b', 'b.ledger_account_id', 'a.id')
      .select([
        'a.currency',
        'a.purpose',
        (eb) => eb.fn.coalesce(eb.fn.sum<number | string>('b.balance'), eb.lit(0)).as('balance'),
      ])
      .where('a.account_id', '=', scope.accountId)
      .where('a.livemode', '=', livemodeFlag(scope))
      .where('a.purpose', 'in', ['merchant_pending', 'merchant_available'])
      .groupBy(['a.id', 'a.currency', 'a.purpose'])
      .orderBy('a.currency')
      .execute();
    const byCurrency = new Map<string, MerchantBalance>();
    for (const row of rows) {
      const entry = byCurrency.get(row.currency) ?? {
        currency: row.currency,
        availableMinor: 0,
        pendingMinor: 0,
      };
      // Liabilities carry credit (negative) balances; the merchant sees them positive.
      const balance = Number(row.balance);
      assertSafeInteger(balance, `${row.purpose} balance in ${row.currency}`);
      if (row.purpose === 'merchant_pending') entry.pendingMinor = -balance;
      else entry.availableMinor = -balance;
      byCurrency.set(row.currency, entry);
    }
    return [...byCurrency.values()];
  }

  async function listBalanceTransactions(scope: Scope, filters: BalanceTransactionListInput) {
    await settle({ nowSeconds: unixSeconds(clock), scope });
    let query = db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('type', 'in', [...BALANCE_TRANSACTION_TYPES]);
    if (filters.type === DISPUTE_API_TYPE) query = query.where('type', 'in', DISPUTE_TYPES);
    else if (filters.type !== undefined) query = query.where('type', '=', filters.type);
    if (filters.source !== undefined) query = query.where('source', '=', filters.source);
    if (filters.currency !== undefined) query = query.where('currency', '=', filters.currency);
    if (filters.payout !== undefined) query = query.where('payout_id', '=', filters.payout);
    return paginate(query, filters);
  }

  async function retrieveBalanceTransaction(scope: Scope, id: string) {
    await settle({ nowSeconds: unixSeconds(clock), scope });
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

  async function listSettlementBatches(scope: Scope, filters: SettlementBatchListInput) {
    let query = db
      .selectFrom('settlement_batches')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.connector !== undefined)
      query = query.where('connector_id', '=', filters.connector);
    if (filters.currency !== undefined) query = query.where('currency', '=', filters.currency);
    return paginate(query, filters);
  }

  async function retrieveSettlementBatch(scope: Scope, id: string) {
    const row = await db
      .selectFrom('settlement_batches')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    if (!row) throw notFound('settlement batch', id);
    return row;
  }

  return {
    postCharge,
    postRefund,
    settle,
    releaseAvailable,
    listSettlementBatches,
    retrieveSettlementBatch,
    balance,
    defaultCurrency,
    listBalanceTransactions,
    retrieveBalanceTransaction,
  };
}

export type LedgerService = ReturnType<typeof createLedgerService>;
/** What payments and refunds need: posting inside their own transactions. */
export type LedgerPostings = Pick<LedgerService, 'postCharge' | 'postRefund'>;
