import { fromJson } from '../db/database.ts';
import type { ExternalAccountsTable, PayoutsTable } from '../db/schema.ts';

// Stripe's shapes for a bank account (external account) and a payout, so code
// written against Stripe's Connect and payouts APIs reads Payrail's unchanged.
// The IBAN never leaves the database in clear: only last4 and a fingerprint.

export type ApiBankAccount = ReturnType<typeof serializeBankAccount>;
export type ApiPayout = ReturnType<typeof serializePayout>;

export function serializeBankAccount(row: ExternalAccountsTable) {
  return {
    id: row.id,
    object: 'bank_account' as const,
    account: row.account_id,
    account_holder_name: row.account_holder_name,
    account_holder_type: row.account_holder_type,
    account_type: null,
    available_payout_methods: ['standard'],
    bank_name: row.bank_name,
    country: row.country,
    currency: row.currency,
    default_for_currency: row.default_for_currency === 1,
    fingerprint: row.fingerprint,
    last4: row.last4,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    routing_number: row.bic,
    status: row.status,
  };
}

export function serializeDeletedBankAccount(row: ExternalAccountsTable) {
  return { id: row.id, object: 'bank_account' as const, deleted: true as const };
}

export function serializePayout(row: PayoutsTable) {
  return {
    id: row.id,
    object: 'payout' as const,
    amount: row.amount,
    application_fee: null,
    application_fee_amount: null,
    arrival_date: row.arrival_date,
    automatic: false,
    balance_transaction: row.balance_transaction,
    created: row.created,
    currency: row.currency,
    description: row.description,
    destination: row.destination,
    failure_balance_transaction: row.failure_balance_transaction,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    method: row.method,
    original_payout: null,
    reconciliation_status: 'not_applicable' as const,
    reversed_by: null,
    source_type: 'card' as const,
    statement_descriptor: row.statement_descriptor,
    status: row.status,
    trace_id: null,
    type: 'bank_account' as const,
  };
}
