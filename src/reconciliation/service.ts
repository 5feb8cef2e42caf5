import { livemodeFlag, type Scope } from '../db/context.ts';
import { type Db, type Tx, toJson } from '../db/database.ts';
import type { ReconciliationLinesTable, ReconciliationsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { matchBankStatement } from './bank-match.ts';
import { missingFromStatement, missingLineRow } from './bank-missing.ts';
import type { BankTransferReceiver } from './bank-transfers.ts';
import type { LookupScope } from './lookup.ts';
import { parseReport } from './parse.ts';
import { matchProcessorReport } from './processor-match.ts';
import type { LineListInput, ReconciliationListInput } from './schemas.ts';
import { insertLines, ledgerLineRow, reportLineRow, summarize } from './store.ts';
import type { ReconciliationType, ReportLine } from './types.ts';

// Reconciliation: import a processor's settlement report or a bank statement
// in one database transaction (the reconciliation, every line with its match,
// the ledger transactions the report missed, and the payouts the statement
// pays or returns, the bank transfers it records), then list and resolve the
// exceptions.

export interface ImportInput {
  type: ReconciliationType;
  connectorId: string | null;
  fileName: string | null;
  content: string;
}

export interface ImportResult {
  reconciliation: ReconciliationsTable;
  /** False when the same file was imported before: nothing changed. */
  created: boolean;
}

/** Another request imported the same file first (unique account, mode, sha256). */
class AlreadyImported extends Error {}

/** True when the database refused a row for a unique index (SQLite or PostgreSQL). */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function createReconciliationService(deps: {
  db: Db;
  clock: Clock;
  events: EventsService;
  /** Records the customers' bank transfers a statement shows (src/payments/bank-transfer.ts). */
  bankTransfers: BankTransferReceiver;
}) {
  const { db, clock } = deps;

  function findByHash(scope: Scope, sha256: string) {
    return db
      .selectFrom('reconciliations')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('sha256', '=', sha256)
      .executeTakeFirst();
  }

  /** The same bytes under another type are a mistake, not a repeat. */
  function sameType(existing: ReconciliationsTable, type: ReconciliationType) {
    if (existing.type === type) return existing;
    throw new ApiError(
      'reconciliation_file_invalid',
      `This file was already imported as ${existing.type} (${existing.id}), not ${type}.`,
      { param: 'type' },
    );
  }

  async function checkConnector(scope: Scope, connectorId: string): Promise<void> {
    const row = await db
      .selectFrom('connector_accounts')
      .select('id')
      .where('id', '=', connectorId)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    // The built-in sandbox has no row but is a connector charges can name.
    if (!row && connectorId !== 'sandbox') throw notFound('connector', connectorId, 'connector');
  }

  async function match(
    tx: Tx,
    scope: LookupScope,
    input: { type: ReconciliationType; lines: ReportLine[]; reconciliationId: string },
  ) {
    const { type, lines } = input;
    if (type === 'camt053') {
      const matches = await matchBankStatement(tx, deps, scope, {
        lines,
        reconciliationId: input.reconciliationId,
      });
      // After the matching: the payouts this statement paid are no longer in transit.
      const { missing, period } = await missingFromStatement(tx, scope, { lines, matches });
      return { matches, missed: [], absent: missing, period };
    }
    return { ...(await matchProcessorReport(tx, scope, lines)), absent: [] };
  }

  async function write(
    tx: Tx,
    row: ReconciliationsTable,
    lines: ReportLine[],
  ): Promise<ReconciliationsTable> {
    const inserted = await tx
      .insertInto('reconciliations')
      .values(row)
      .onConflict((oc) => oc.columns(['account_id', 'livemode', 'sha256']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) throw new AlreadyImported();
    const scope = {
      accountId: row.account_id,
      livemode: row.livemode,
      connectorId: row.connector_id,
    };
    const type = row.type as ReconciliationType;
    const result = await match(tx, scope, { type, lines, reconciliationId: row.id });
    const common = {
      reconciliation_id: row.id,
      account_id: row.account_id,
      livemode: row.livemode,
      created: row.created,
    };
    const rows: ReconciliationLinesTable[] = lines.map((line, i) => {
      const m = result.matches[i];
      if (!m) throw new Error(`line ${line.lineNumber} has no match result`);
      return reportLineRow(common, line, m, clock.nowMs());
    });
    rows.push(...result.missed.map((txn) => ledgerLineRow(common, txn, clock.nowMs())));
    rows.push(...result.absent.map((item) => missingLineRow(common, item, clock.nowMs())));
    await insertLines(tx, rows);
    const summary = await summarize(tx, row.id);
    const final = {
      ...row,
      period_start: result.period?.start ?? null,
      period_end: result.period?.end ?? null,
      summary: toJson(summary),
    };
    await tx
      .updateTable('reconciliations')
      .set({
        period_start: final.period_start,
        period_end: final.period_end,
        summary: final.summary,
      })
      .where('id', '=', row.id)
      .execute();
    return final;
  }

  /**
   * One try again when a concurrent request recorded the same bank transfer
   * (its unique bank reference) first: the second try finds it recorded.
   */
  async function writeOnce(row: ReconciliationsTable, lines: ReportLine[]) {
    const run = () => db.transaction().execute((tx) => write(tx, row, lines));
    try {
      return await run();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return run();
    }
  }

  /** Imports a file once per account and mode: the same content again returns the first import. */
  async function importFile(scope: Scope, input: ImportInput): Promise<ImportResult> {
    const sha256 = sha256Hex(input.content);
    const existing = await findByHash(scope, sha256);
    if (existing) return { reconciliation: sameType(existing, input.type), created: false };
    if (input.connectorId) await checkConnector(scope, input.connectorId);
    const { lines } = parseReport(input.type, input.content, input.fileName);
    const row: ReconciliationsTable = {
      id: newId('recon', clock.nowMs()),
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
      type: input.type,
      connector_id: input.connectorId,
      file_name: input.fileName,
      sha256,
      size_bytes: Buffer.byteLength(input.content, 'utf8'),
      status: 'completed',
      period_start: null,
      period_end: null,
      lines_count: lines.length,
      summary: '{}',
      created: unixSeconds(clock),
    };
    try {
      const reconciliation = await writeOnce(row, lines);
      return { reconciliation, created: true };
    } catch (error) {
      if (!(error instanceof AlreadyImported)) throw error;
      const first = await findByHash(scope, sha256);
      if (!first) throw new Error(`import of ${sha256} conflicted but is not found`);
      return { reconciliation: sameType(first, input.type), created: false };
    }
  }

  async function find(scope: Scope, id: string): Promise<ReconciliationsTable> {
    const row = await db
      .selectFrom('reconciliations')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    if (!row) throw notFound('reconciliation', id);
    return row;
  }

  async function retrieve(scope: Scope, id: string) {
    const row = await find(scope, id);
    return { row, summary: await summarize(db, row.id) };
  }

  function list(scope: Scope, query: ReconciliationListInput) {
    let q = db
      .selectFrom('reconciliations')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (query.type) q = q.where('type', '=', query.type);
    return paginate(q, query);
  }

  /** Lines in file order (report lines, then the ledger side), cursor-paginated. */
  async function lines(scope: Scope, id: string, query: LineListInput) {
    await find(scope, id);
    let q = db.selectFrom('reconciliation_lines').selectAll().where('reconciliation_id', '=', id);
    if (query.status) q = q.where('status', '=', query.status);
    if (query.kind) q = q.where('kind', '=', query.kind);
    if (query.resolved !== undefined) {
      q = q.where('resolved_at', query.resolved ? 'is not' : 'is', null);
    }
    if (query.starting_after) q = q.where('id', '>', query.starting_after);
    const limit = query.limit ?? LIMITS.pageSizeDefault;
    const rows = await q
      .orderBy('id', 'asc')
      .limit(limit + 1)
      .execute();
    return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  async function resolve(
    scope: Scope,
    lineId: string,
    input: { note: string; resolvedBy: string },
  ) {
    return db.transaction().execute(async (tx) => {
      const line = await tx
        .selectFrom('reconciliation_lines')
        .selectAll()
        .where('id', '=', lineId)
        .where('account_id', '=', scope.accountId)
        .where('livemode', '=', livemodeFlag(scope))
        .executeTakeFirst();
      if (!line) throw notFound('reconciliation_line', lineId);
      if (line.status === 'matched') {
        throw new ApiError(
          'reconciliation_line_unexpected_state',
          `Reconciliation line ${lineId} is matched: only exceptions (amount_mismatch, fee_mismatch, unmatched_report, unmatched_ledger) can be resolved.`,
          { param: 'id' },
        );
      }
      const resolvedAt = unixSeconds(clock);
      const updated = await tx
        .updateTable('reconciliation_lines')
        .set({
          resolved_at: resolvedAt,
          resolved_by: input.resolvedBy,
          resolution_note: input.note,
        })
        .where('id', '=', lineId)
        .where('resolved_at', 'is', null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) {
        throw new ApiError(
          'reconciliation_line_unexpected_state',
          `Reconciliation line ${lineId} (${line.status}) is already resolved by ${line.resolved_by ?? 'someone'}.`,
          { param: 'id' },
        );
      }
      return {
        ...line,
        resolved_at: resolvedAt,
        resolved_by: input.resolvedBy,
        resolution_note: input.note,
      };
    });
  }

  /** The api key (key_...) behind a secret key, for `resolved_by`. */
  async function keyIdOf(secretKey: string): Promise<string | null> {
    const row = await db
      .selectFrom('api_keys')
      .select('id')
      .where('key_hash', '=', sha256Hex(secretKey))
      .executeTakeFirst();
    return row?.id ?? null;
  }

  return { importFile, find, retrieve, list, lines, resolve, keyIdOf };
}

export type ReconciliationService = ReturnType<typeof createReconciliationService>;
