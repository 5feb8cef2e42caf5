import { fromJson } from '../db/database.ts';
import type { LedgerTransactionsTable, SettlementBatchesTable } from '../db/schema.ts';
import { DISPUTE_API_TYPE, DISPUTE_TYPES } from './disputes.ts';
import type { MerchantBalance } from './service.ts';

// Stripe's shapes for the balance and balance transactions, so code written
// for Stripe's balance API reads Payrail's books unchanged.

export interface ApiFeeDetail {
  amount: number;
  application: string | null;
  currency: string;
  description: string;
  type: string;
}

export function serializeBalanceTransaction(row: LedgerTransactionsTable) {
  return {
    id: row.id,
    object: 'balance_transaction' as const,
    amount: row.amount,
    available_on: row.available_on,
    created: row.created,
    currency: row.currency,
    description: row.description,
    // Stripe sends a number; the exact decimal string stays in the books.
    exchange_rate: row.exchange_rate ? Number(row.exchange_rate) : null,
    fee: row.fee,
    fee_details: fromJson<ApiFeeDetail[]>(row.fee_details) ?? [],
    net: row.net,
    reporting_category: row.reporting_category,
    source: row.source,
    status: row.status,
    // The books keep one type per dispute movement; Stripe calls them all `adjustment`.
    type: DISPUTE_TYPES.includes(row.type) ? DISPUTE_API_TYPE : row.type,
  };
}

export function serializeBalance(input: {
  balances: MerchantBalance[];
  defaultCurrency: string;
  livemode: boolean;
}) {
  // Stripe always lists the default currency, with zero when nothing moved yet.
  const balances = input.balances.length
    ? input.balances
    : [{ currency: input.defaultCurrency, availableMinor: 0, pendingMinor: 0 }];
  const amount = (currency: string, amountMinor: number) => ({
    amount: amountMinor,
    currency,
    source_types: { card: amountMinor },
  });
  return {
    object: 'balance' as const,
    available: balances.map((b) => amount(b.currency, b.availableMinor)),
    pending: balances.map((b) => amount(b.currency, b.pendingMinor)),
    livemode: input.livemode,
  };
}

/** Payrail's own object (Stripe has no settlement batches in its API). */
export function serializeSettlementBatch(row: SettlementBatchesTable) {
  return {
    id: row.id,
    object: 'settlement_batch' as const,
    connector: row.connector_id,
    count: Number(row.count),
    created: Number(row.created),
    currency: row.currency,
    cutoff: Number(row.cutoff),
    fee: Number(row.fee),
    gross: Number(row.gross),
    livemode: Number(row.livemode) === 1,
    net: Number(row.net),
    reference: row.reference,
    status: row.status,
  };
}
