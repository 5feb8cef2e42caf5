import { fromJson } from '../db/database.ts';
import type { DisputesTable, LedgerTransactionsTable } from '../db/schema.ts';
import { serializeBalanceTransaction } from '../ledger/serialize.ts';
import { EVIDENCE_FIELDS, type Evidence } from './schemas.ts';

// Stripe's `dispute` object. `balance_transactions` lists the dispute's
// postings (funds withdrawn, reinstated) as full balance transactions, like
// Stripe; Payrail adds `connector` (who reported it).

export type ApiDispute = ReturnType<typeof serializeDispute>;

/** Every evidence field, null when not given, as Stripe shows them. */
export function evidenceOf(row: Pick<DisputesTable, 'evidence'>): Evidence {
  const stored = fromJson<Partial<Evidence>>(row.evidence) ?? {};
  const evidence = {} as Evidence;
  for (const field of EVIDENCE_FIELDS) evidence[field] = stored[field] ?? null;
  return evidence;
}

export function serializeDispute(row: DisputesTable, postings: readonly LedgerTransactionsTable[]) {
  return {
    id: row.id,
    object: 'dispute' as const,
    amount: Number(row.amount),
    balance_transactions: [...postings]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(serializeBalanceTransaction),
    charge: row.charge_id,
    connector: row.connector,
    created: Number(row.created),
    currency: row.currency,
    evidence: evidenceOf(row),
    evidence_details: {
      due_by: row.due_by === null ? null : Number(row.due_by),
      has_evidence: row.has_evidence === 1,
      past_due: row.past_due === 1,
      submission_count: Number(row.submission_count),
    },
    is_charge_refundable: row.is_charge_refundable === 1,
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    network_reason_code: row.network_reason_code,
    payment_intent: row.payment_intent_id,
    reason: row.reason,
    status: row.status,
  };
}
