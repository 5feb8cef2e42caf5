import { fromJson } from '../db/database.ts';
import type { RefundsTable } from '../db/schema.ts';
import type { ApiBalanceTransaction } from '../payments/expand.ts';

export type ApiRefund = ReturnType<typeof serializeRefund>;

export function serializeRefund(
  row: RefundsTable,
  expanded: { balanceTransaction?: ApiBalanceTransaction } = {},
) {
  return {
    id: row.id,
    object: 'refund' as const,
    amount: row.amount,
    /** The txn_ of the refund's posting (null until it succeeded), or that object when expanded. */
    balance_transaction: expanded.balanceTransaction ?? row.balance_transaction ?? null,
    charge: row.charge_id,
    created: row.created,
    currency: row.currency,
    destination_details: null,
    failure_reason: row.failure_reason ?? undefined,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    payment_intent: row.payment_intent_id,
    reason: row.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: row.status,
    transfer_reversal: null,
  };
}
