import type { Executor } from '../db/database.ts';
import { toJson } from '../db/database.ts';
import type { ReconciliationLinesTable } from '../db/schema.ts';
import { BANK_TRANSFER_CONNECTOR } from '../ledger/bank-transfers.ts';
import { ApiError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { LineMatch, MatchType } from './compare.ts';
import { inChunks, type LookupScope } from './lookup.ts';
import type { ReportLine } from './types.ts';

// The other side of a bank statement (camt.053): what our books expect the
// bank to show in the statement's period but the statement lacks. Each item
// has a due day, and a statement checks the items due within its period:
//
//   settlement batch (net > 0)  the processor's deposit, due `cutoff + tolerance`
//   payout in_transit           sent in a pain.001 file, due its `arrival_date`
//
// A batch of bank transfers (connector `bank_transfer`) is no deposit: its
// money came as the customers' own credits, which the statements showed and
// an import or an operator recorded (docs/bank-transfers.md).
//
// A due item that a line of this statement or of an earlier import matched
// (matched or with a wrong amount) is not missing. Statements imported day
// after day therefore check every item once; a missing one becomes a `ledger`
// line with status `unmatched_ledger`, like a processor report's ledger side.

const DAY_SECONDS = 86_400;
/** Lines that found their counterpart, even with a wrong amount: it is on a statement. */
const SEEN_STATUSES = ['matched', 'amount_mismatch', 'fee_mismatch'] as const;

export interface ExpectedItem {
  matchType: Extract<MatchType, 'settlement_batch' | 'payout'>;
  id: string;
  /** Signed as the statement would sign it: a deposit positive, a payout negative. */
  amountMinor: number;
  currency: string;
  dueAt: number;
  reference: string;
  connectorId: string | null;
}

/** From the first booked entry's day to the end of the last one's (booking dates are days). */
export function statementPeriod(lines: ReportLine[]): { start: number; end: number } | null {
  const days = lines
    .filter((l) => l.bank?.status === 'BOOK' && l.occurredAt !== null)
    .map((l) => (l.occurredAt ?? 0) - ((l.occurredAt ?? 0) % DAY_SECONDS));
  if (days.length === 0) return null;
  return { start: Math.min(...days), end: Math.max(...days) + DAY_SECONDS - 1 };
}

async function dueBatches(
  ex: Executor,
  scope: LookupScope,
  input: { start: number; end: number; currencies: string[] },
): Promise<ExpectedItem[]> {
  const toleranceS = LIMITS.reconciliationDateToleranceDays * DAY_SECONDS;
  let q = ex
    .selectFrom('settlement_batches')
    .select(['id', 'net', 'currency', 'cutoff', 'reference', 'connector_id'])
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', scope.livemode)
    .where('currency', 'in', input.currencies)
    .where('net', '>', 0)
    .where('connector_id', '!=', BANK_TRANSFER_CONNECTOR)
    .where('cutoff', '>=', input.start - toleranceS)
    .where('cutoff', '<=', input.end - toleranceS);
  if (scope.connectorId) q = q.where('connector_id', '=', scope.connectorId);
  const rows = await q
    .orderBy('id')
    .limit(LIMITS.reconciliationLedgerScanMax + 1)
    .execute();
  return rows.map((b) => ({
    matchType: 'settlement_batch',
    id: b.id,
    amountMinor: b.net,
    currency: b.currency,
    dueAt: b.cutoff + toleranceS,
    reference: b.reference,
    connectorId: b.connector_id,
  }));
}

async function duePayouts(
  ex: Executor,
  scope: LookupScope,
  input: { start: number; end: number; currencies: string[] },
): Promise<ExpectedItem[]> {
  const rows = await ex
    .selectFrom('payouts')
    .select(['id', 'amount', 'currency', 'arrival_date'])
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', scope.livemode)
    .where('currency', 'in', input.currencies)
    .where('status', '=', 'in_transit')
    .where('arrival_date', '>=', input.start)
    .where('arrival_date', '<=', input.end)
    .orderBy('id')
    .limit(LIMITS.reconciliationLedgerScanMax + 1)
    .execute();
  return rows.map((p) => ({
    matchType: 'payout',
    id: p.id,
    amountMinor: -p.amount,
    currency: p.currency,
    dueAt: p.arrival_date,
    reference: p.id,
    connectorId: null,
  }));
}

/** Ids that a report line of an earlier import found, in this account and mode. */
async function seenEarlier(ex: Executor, scope: LookupScope, ids: string[]): Promise<Set<string>> {
  const rows = await inChunks(ids, (chunk) =>
    ex
      .selectFrom('reconciliation_lines')
      .select('match_id')
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode)
      .where('kind', '=', 'report')
      .where('status', 'in', [...SEEN_STATUSES])
      .where('match_id', 'in', chunk)
      .execute(),
  );
  return new Set(rows.map((r) => r.match_id).filter((id): id is string => id !== null));
}

/** The batches and payouts due in the statement's period that no line showed. */
export async function missingFromStatement(
  ex: Executor,
  scope: LookupScope,
  input: { lines: ReportLine[]; matches: LineMatch[] },
): Promise<{ missing: ExpectedItem[]; period: { start: number; end: number } | null }> {
  const period = statementPeriod(input.lines);
  if (!period) return { missing: [], period };
  const currencies = [...new Set(input.lines.map((l) => l.currency))];
  const query = { ...period, currencies };
  const due = [...(await dueBatches(ex, scope, query)), ...(await duePayouts(ex, scope, query))];
  if (due.length > LIMITS.reconciliationLedgerScanMax) {
    throw new ApiError(
      'parameter_invalid',
      `The statement's period has more than ${LIMITS.reconciliationLedgerScanMax} settlement batches and payouts due; import it in smaller files.`,
      { param: 'file' },
    );
  }
  const seen = await seenEarlier(
    ex,
    scope,
    due.map((d) => d.id),
  );
  for (const m of input.matches) {
    if (m.matchId && (SEEN_STATUSES as readonly string[]).includes(m.status)) seen.add(m.matchId);
  }
  return { missing: due.filter((d) => !seen.has(d.id)), period };
}

const isoDay = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);

/** The `ledger` line of one missing item. */
export function missingLineRow(
  common: Pick<
    ReconciliationLinesTable,
    'reconciliation_id' | 'account_id' | 'livemode' | 'created'
  >,
  item: ExpectedItem,
  nowMs: number,
): ReconciliationLinesTable {
  const what =
    item.matchType === 'payout'
      ? `payout ${item.id} is in transit, due ${isoDay(item.dueAt)}`
      : `settlement batch ${item.id} (${item.reference}) should be deposited by ${isoDay(item.dueAt)}`;
  return {
    ...common,
    id: newId('rcl', nowMs),
    kind: 'ledger',
    line_number: null,
    category: item.amountMinor > 0 ? 'bank_credit' : 'bank_debit',
    reference: item.reference,
    currency: item.currency,
    amount: item.amountMinor,
    fee: null,
    net: item.amountMinor,
    occurred_at: item.dueAt,
    description: null,
    fields: toJson({ connector: item.connectorId, due: item.dueAt }),
    status: 'unmatched_ledger',
    match_type: item.matchType,
    match_id: item.id,
    amount_difference: null,
    fee_difference: null,
    action: null,
    note: `${what}, but not on the statement`,
    resolved_at: null,
    resolved_by: null,
    resolution_note: null,
  };
}
