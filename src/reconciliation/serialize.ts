import { fromJson } from '../db/database.ts';
import type { ReconciliationLinesTable, ReconciliationsTable } from '../db/schema.ts';
import type { Summary } from './store.ts';

// API shapes of reconciliations and their lines.

export function serializeReconciliation(row: ReconciliationsTable, summary?: Summary) {
  return {
    id: row.id,
    object: 'reconciliation' as const,
    type: row.type,
    connector: row.connector_id,
    file_name: row.file_name,
    sha256: row.sha256,
    size_bytes: row.size_bytes,
    status: row.status,
    period_start: row.period_start,
    period_end: row.period_end,
    lines_count: row.lines_count,
    summary: summary ?? fromJson<Summary>(row.summary),
    livemode: row.livemode === 1,
    created: row.created,
  };
}

export function serializeLine(row: ReconciliationLinesTable) {
  return {
    id: row.id,
    object: 'reconciliation_line' as const,
    reconciliation: row.reconciliation_id,
    kind: row.kind,
    line_number: row.line_number,
    category: row.category,
    reference: row.reference,
    currency: row.currency,
    amount: row.amount,
    fee: row.fee,
    net: row.net,
    occurred_at: row.occurred_at,
    description: row.description,
    fields: fromJson<Record<string, string>>(row.fields),
    status: row.status,
    match: row.match_type ? { type: row.match_type, id: row.match_id } : null,
    amount_difference: row.amount_difference,
    fee_difference: row.fee_difference,
    action: row.action,
    note: row.note,
    resolved: row.resolved_at !== null,
    resolved_at: row.resolved_at,
    resolved_by: row.resolved_by,
    resolution_note: row.resolution_note,
    livemode: row.livemode === 1,
    created: row.created,
  };
}
