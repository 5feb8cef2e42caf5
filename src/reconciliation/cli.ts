import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDataDir, loadConfig } from '../config.ts';
import type { Scope } from '../db/context.ts';
import { type Db, migrate, openDatabase } from '../db/database.ts';
import { createEventsService } from '../events/service.ts';
import { systemClock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import { createBankTransfers } from '../payments/bank-transfer.ts';
import { serializeLine, serializeReconciliation } from './serialize.ts';
import { createReconciliationService, type ReconciliationService } from './service.ts';
import type { Summary } from './store.ts';
import { RECONCILIATION_TYPES, type ReconciliationType } from './types.ts';

// `payrail reconcile import | list | show | resolve`, on the configured
// database (the same environment variables as the engine). Errors are the
// API's messages; the exit code is 2 for a usage error, 1 for a refusal.
export const RECONCILE_USAGE = `  payrail reconcile import --type stripe_balance_change|adyen_settlement_details|camt053 --file F
          [--connector conn_...] [--account acct_...] [--live] [--json]
                                                 import a settlement report or bank statement
  payrail reconcile list [--account acct_...] [--live]
  payrail reconcile show recon_... [--account acct_...] [--live] [--json]
                                                 counts, totals and the open exceptions
  payrail reconcile resolve rcl_... --note N [--account acct_...] [--live]`;

class UsageError extends Error {}

const COMMON = {
  account: { type: 'string' },
  live: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

async function withService<T>(
  values: { account?: string | undefined; live?: boolean | undefined },
  fn: (service: ReconciliationService, scope: Scope) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  ensureDataDir(config.dataDir);
  const handle = openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await migrate(handle);
    const accountId = values.account ?? (await firstAccountId(handle.db));
    if (!accountId) throw new UsageError('no account yet: start the engine once or pass --account');
    const events = createEventsService(handle.db, systemClock);
    const bankTransfers = createBankTransfers({
      db: handle.db,
      clock: systemClock,
      events,
      booking: {
        availableAfterSeconds: config.fundsAvailableAfterSeconds,
        settlementCutoffSeconds: config.settlementCutoffSeconds,
      },
    });
    const service = createReconciliationService({
      db: handle.db,
      clock: systemClock,
      events,
      bankTransfers,
    });
    return await fn(service, { accountId, livemode: values.live === true });
  } finally {
    await handle.close();
  }
}

async function firstAccountId(db: Db): Promise<string | undefined> {
  const row = await db
    .selectFrom('accounts')
    .select('id')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

function formatSummary(s: Summary): string {
  const counts = `matched ${s.matched}, amount_mismatch ${s.amount_mismatch}, fee_mismatch ${s.fee_mismatch}, unmatched_report ${s.unmatched_report}, unmatched_ledger ${s.unmatched_ledger}, resolved ${s.resolved}, open exceptions ${s.open_exceptions}`;
  const totals = s.totals.map(
    (t) =>
      `  ${t.currency}: report amount ${t.report_amount}, fee ${t.report_fee}, net ${t.report_net}, matched ${t.matched_amount}, missing from report ${t.unmatched_ledger_amount}`,
  );
  return [`${s.lines} report line(s): ${counts}`, ...totals].join('\n');
}

function write(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function runImport(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON,
      type: { type: 'string' },
      file: { type: 'string' },
      connector: { type: 'string' },
    },
  });
  const type = values.type as ReconciliationType | undefined;
  if (!type || !RECONCILIATION_TYPES.includes(type)) {
    throw new UsageError(`--type must be one of ${RECONCILIATION_TYPES.join(', ')}`);
  }
  if (!values.file) throw new UsageError('--file is required');
  const size = fs.statSync(values.file).size;
  if (size > LIMITS.reconciliationFileBytesMax) {
    throw new UsageError(
      `${values.file} is larger than ${LIMITS.reconciliationFileBytesMax} bytes`,
    );
  }
  const content = new TextDecoder('utf-8', { fatal: true }).decode(fs.readFileSync(values.file));
  return withService(values, async (service, scope) => {
    const input = {
      type,
      connectorId: values.connector ?? null,
      fileName: path.basename(values.file ?? ''),
      content,
    };
    const result = await service.importFile(scope, input);
    const row = serializeReconciliation(result.reconciliation);
    if (values.json) write(JSON.stringify(row, null, 2));
    else {
      write(
        `${row.id} ${result.created ? 'imported' : 'already imported (same file): nothing changed'}`,
      );
      if (row.summary) write(formatSummary(row.summary));
    }
    return 0;
  });
}

async function runList(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: COMMON });
  return withService(values, async (service, scope) => {
    const page = await service.list(scope, { limit: LIMITS.pageSizeMax });
    for (const row of page.rows) {
      write(
        `${row.id}  ${row.type}  ${row.file_name ?? '-'}  ${row.lines_count} line(s)  created ${new Date(row.created * 1000).toISOString()}`,
      );
    }
    return 0;
  });
}

async function runShow(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: COMMON, allowPositionals: true });
  const id = positionals[0];
  if (!id) throw new UsageError('show needs a recon_ id');
  return withService(values, async (service, scope) => {
    const { row, summary } = await service.retrieve(scope, id);
    const open = await service.lines(scope, id, { resolved: false, limit: LIMITS.pageSizeMax });
    const exceptions = open.rows.filter((l) => l.status !== 'matched');
    if (values.json) {
      write(
        JSON.stringify(
          { ...serializeReconciliation(row, summary), exceptions: exceptions.map(serializeLine) },
          null,
          2,
        ),
      );
      return 0;
    }
    write(`${row.id}  ${row.type}  ${row.file_name ?? '-'}`);
    write(formatSummary(summary));
    for (const l of exceptions) {
      write(
        `  ${l.id}  ${l.kind === 'ledger' ? 'ledger' : `line ${l.line_number}`}  ${l.status}  ${l.currency} ${l.amount}  ${l.reference ?? ''}  ${l.note ?? ''}`,
      );
    }
    if (open.hasMore) write(`  (more: GET /v1/reconciliations/${row.id}/lines?resolved=false)`);
    return 0;
  });
}

async function runResolve(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...COMMON, note: { type: 'string' } },
    allowPositionals: true,
  });
  const id = positionals[0];
  if (!id) throw new UsageError('resolve needs an rcl_ id');
  const note = values.note?.trim() ?? '';
  if (note === '' || note.length > LIMITS.reconciliationNoteLengthMax) {
    throw new UsageError(
      `--note is required, at most ${LIMITS.reconciliationNoteLengthMax} characters`,
    );
  }
  return withService(values, async (service, scope) => {
    const line = await service.resolve(scope, id, { note, resolvedBy: 'cli' });
    write(`${line.id} resolved (${line.status})`);
    return 0;
  });
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  import: runImport,
  list: runList,
  show: runShow,
  resolve: runResolve,
};

export async function runReconcileCli(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const command = sub ? COMMANDS[sub] : undefined;
  try {
    if (!command) throw new UsageError(`unknown command ${sub ?? ''}`);
    return await command(rest);
  } catch (error) {
    if (error instanceof ApiError) {
      process.stderr.write(`payrail reconcile: ${error.message}\n`);
      return 1;
    }
    const usage =
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (!usage) throw error;
    process.stderr.write(
      `payrail reconcile: ${(error as Error).message}\nusage:\n${RECONCILE_USAGE}\n`,
    );
    return 2;
  }
}
