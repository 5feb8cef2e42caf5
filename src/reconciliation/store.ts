import type { Executor, Tx } from '../db/database.ts';
import { toJson } from '../db/database.ts';
import type { ReconciliationLinesTable, ReconciliationsTable } from '../db/schema.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { LineMatch } from './compare.ts';
import type { LedgerTxn } from './lookup.ts';
import type { ReportLine } from './types.ts';

// Rows of an import: the report's lines with their match, then the ledger
// transactions the report missed, written in batches.

type Common = Pick<
  ReconciliationLinesTable,
  'reconciliation_id' | 'account_id' | 'livemode' | 'created'
>;

const RESOLUTION = { resolved_at: null, resolved_by: null, resolution_note: null };

export function reportLineRow(
  common: Common,
  line: ReportLine,
  match: LineMatch,
  nowMs: number,
): ReconciliationLinesTable {
  return {
    ...common,
    ...RESOLUTION,
    id: newId('rcl', nowMs),
    kind: 'report',
    line_number: line.lineNumber,
    category: line.category,
    reference: line.reference,
    currency: line.currency,
    amount: line.amountMinor,
    fee: line.feeMinor,
    net: line.netMinor,
    occurred_at: line.occurredAt,
    description: line.description,
    fields: toJson(line.fields),
    status: match.status,
    match_type: match.matchType,
    match_id: match.matchId,
    amount_difference: match.amountDifference,
    fee_difference: match.feeDifference,
    action: match.action,
    note: match.note,
  };
}

export function ledgerLineRow(
  common: Common,
  txn: LedgerTxn,
  nowMs: number,
): ReconciliationLinesTable {
  return {
    ...common,
    ...RESOLUTION,
    id: newId('rcl', nowMs),
    kind: 'ledger',
    line_number: null,
    category: txn.type,
    reference: txn.source,
    currency: txn.currency,
    amount: txn.amount,
    fee: txn.fee,
    net: txn.net,
    occurred_at: txn.created,
    description: txn.description,
    fields: toJson({ connector: txn.connector, source: txn.source }),
    status: 'unmatched_ledger',
    match_type: 'ledger_transaction',
    match_id: txn.id,
    amount_difference: null,
    fee_difference: null,
    action: null,
    note: 'in the ledger, not in the report',
  };
}

export async function insertLines(tx: Tx, rows: ReconciliationLinesTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += LIMITS.reconciliationBatchRows) {
    await tx
      .insertInto('reconciliation_lines')
      .values(rows.slice(i, i + LIMITS.reconciliationBatchRows))
      .execute();
  }
}

export interface Summary {
  lines: number;
  matched: number;
  amount_mismatch: number;
  fee_mismatch: number;
  unmatched_report: number;
  unmatched_ledger: number;
  resolved: number;
  open_exceptions: number;
  totals: {
    currency: string;
    report_amount: number;
    report_fee: number;
    report_net: number;
    matched_amount: number;
    unmatched_ledger_amount: number;
  }[];
}

/** Counts and totals of one reconciliation as its lines are now (resolutions included). */
export async function summarize(ex: Executor, reconciliationId: string): Promise<Summary> {
  const rows = await ex
    .selectFrom('reconciliation_lines')
    .select((eb) => [
      'kind',
      'status',
      'currency',
      eb.fn.countAll<number>().as('n'),
      eb.fn.count<number>('resolved_at').as('resolved'),
      eb.fn.sum<number>('amount').as('amount'),
      eb.fn.sum<number>('fee').as('fee'),
      eb.fn.sum<number>('net').as('net'),
    ])
    .where('reconciliation_id', '=', reconciliationId)
    .groupBy(['kind', 'status', 'currency'])
    .orderBy('currency')
    .execute();
  const summary: Summary = {
    lines: 0,
    matched: 0,
    amount_mismatch: 0,
    fee_mismatch: 0,
    unmatched_report: 0,
    unmatched_ledger: 0,
    resolved: 0,
    open_exceptions: 0,
    totals: [],
  };
  for (const row of rows) {
    const n = Number(row.n);
    const resolved = Number(row.resolved);
    const status = row.status as keyof Pick<
      Summary,
      'matched' | 'amount_mismatch' | 'fee_mismatch' | 'unmatched_report' | 'unmatched_ledger'
    >;
    summary[status] += n;
    summary.resolved += resolved;
    if (status !== 'matched') summary.open_exceptions += n - resolved;
    if (row.kind === 'report') summary.lines += n;
    addTotals(summary, row.currency, row.kind, status, {
      amount: Number(row.amount ?? 0),
      fee: Number(row.fee ?? 0),
      net: Number(row.net ?? 0),
    });
  }
  return summary;
}

function addTotals(
  summary: Summary,
  currency: string,
  kind: string,
  status: string,
  sums: { amount: number; fee: number; net: number },
): void {
  let entry = summary.totals.find((t) => t.currency === currency);
  if (!entry) {
    entry = {
      currency,
      report_amount: 0,
      report_fee: 0,
      report_net: 0,
      matched_amount: 0,
      unmatched_ledger_amount: 0,
    };
    summary.totals.push(entry);
  }
  if (kind === 'ledger') {
    entry.unmatched_ledger_amount += sums.amount;
    return;
  }
  entry.report_amount += sums.amount;
  entry.report_fee += sums.fee;
  entry.report_net += sums.net;
  if (status === 'matched') entry.matched_amount += sums.amount;
}

export type ReconciliationRow = ReconciliationsTable;
