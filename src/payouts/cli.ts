import path from 'node:path';
import { parseArgs } from 'node:util';
import { electronicFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
import { type Config, ensureDataDir, loadConfig } from '../config.ts';
import { type Db, migrate, openDatabase } from '../db/database.ts';
import { createEventsService } from '../events/service.ts';
import { systemClock } from '../lib/clock.ts';
import { EnvelopeCipher } from '../lib/crypto.ts';
import { LIMITS } from '../lib/limits.ts';
import { loadMasterKey } from '../vault/master-key.ts';
import { ExportConflict, type ExportInput, exportPain001 } from './export.ts';
import type { Pain001Debtor } from './pain001.ts';
import { markPayoutFailed, markPayoutPaid, type TransitionOutcome } from './transitions.ts';

// `payrail payouts export | mark`, on the configured database (the same
// environment variables as the engine).
export const PAYOUTS_USAGE = `  payrail payouts export --format pain.001 [--account acct_...] [--live] [--out FILE]
          [--debtor-name N --debtor-iban I --debtor-bic B]
                                                 write pending payouts as a pain.001 file; they become in_transit
  payrail payouts mark po_... --paid | --failed CODE [--message M]
                                                 record what the bank did with a payout`;

class UsageError extends Error {}

async function withDatabase<T>(fn: (db: Db, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  ensureDataDir(config.dataDir);
  const handle = openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await migrate(handle);
    return await fn(handle.db, config);
  } finally {
    await handle.close();
  }
}

/** Flags override PAYRAIL_DEBTOR_*; each must be present and valid. */
function debtorOf(values: Record<string, unknown>, config: Config): Pain001Debtor {
  const pick = (flag: string, fallback: string | undefined) =>
    typeof values[flag] === 'string' ? (values[flag] as string) : fallback;
  const name = pick('debtor-name', config.debtorName);
  const iban = electronicFormatIBAN(pick('debtor-iban', config.debtorIban) ?? '') ?? '';
  const bic = (pick('debtor-bic', config.debtorBic) ?? '').replace(/\s+/g, '').toUpperCase();
  if (!name || name.length > LIMITS.payoutNameLengthMax)
    throw new UsageError(
      `--debtor-name (or PAYRAIL_DEBTOR_NAME) is required, at most ${LIMITS.payoutNameLengthMax} characters`,
    );
  if (!isValidIBAN(iban))
    throw new UsageError('--debtor-iban (or PAYRAIL_DEBTOR_IBAN) must be a valid IBAN');
  if (!isValidBIC(bic))
    throw new UsageError('--debtor-bic (or PAYRAIL_DEBTOR_BIC) must be a valid BIC');
  return { name, iban, bic };
}

async function runExport(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      format: { type: 'string' },
      account: { type: 'string' },
      live: { type: 'boolean' },
      out: { type: 'string' },
      'debtor-name': { type: 'string' },
      'debtor-iban': { type: 'string' },
      'debtor-bic': { type: 'string' },
    },
  });
  if (values.format !== 'pain.001') throw new UsageError('--format pain.001 is required');
  return withDatabase(async (db, config) => {
    const debtor = debtorOf(values, config);
    const cipher = new EnvelopeCipher(
      loadMasterKey({ masterKey: config.masterKey, dataDir: config.dataDir }),
    );
    const outPath = values.out ?? `pain001-${new Date().toISOString().slice(0, 10)}.xml`;
    const deps = { db, clock: systemClock, events: createEventsService(db, systemClock), cipher };
    const input = { accountId: values.account, livemode: values.live ? 1 : 0, debtor, outPath };
    const result = await exportPain001(deps, input as ExportInput).catch((error: unknown) => {
      if (error instanceof ExportConflict) return error;
      throw error;
    });
    if (result instanceof ExportConflict) {
      process.stderr.write(`payouts export: ${result.message}\n`);
      return 1;
    }
    if (!result) {
      process.stdout.write('payouts export: no pending payouts; no file written\n');
      return 0;
    }
    process.stdout.write(
      `payouts export: ${result.count} payout(s) in ${path.relative(process.cwd(), result.file) || result.file} (MsgId ${result.messageId})\n`,
    );
    return 0;
  });
}

const EXIT_BY_OUTCOME: Record<TransitionOutcome, number> = {
  changed: 0,
  unchanged: 0,
  not_found: 1,
  invalid_state: 1,
};

async function runMark(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      paid: { type: 'boolean' },
      failed: { type: 'string' },
      message: { type: 'string' },
    },
  });
  const [payoutId] = positionals;
  if (!payoutId?.startsWith('po_') || positionals.length !== 1)
    throw new UsageError('one po_ id is required');
  if ((values.paid === true) === (values.failed !== undefined))
    throw new UsageError('give exactly one of --paid or --failed CODE');
  if (values.failed !== undefined && !/^[A-Za-z0-9_]{1,50}$/.test(values.failed))
    throw new UsageError('--failed CODE: letters, digits and _ only (e.g. account_closed)');
  return withDatabase(async (db) => {
    const deps = { clock: systemClock, events: createEventsService(db, systemClock) };
    const outcome = await db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom('payouts')
        .select(['account_id', 'livemode'])
        .where('id', '=', payoutId)
        .executeTakeFirst();
      if (!row) return 'not_found' as const;
      const ref = { accountId: row.account_id, livemode: row.livemode, payoutId };
      return values.paid
        ? markPayoutPaid(tx, deps, ref, { paidAt: Math.floor(Date.now() / 1000) })
        : markPayoutFailed(tx, deps, ref, {
            failureCode: values.failed ?? '',
            failureMessage: values.message ?? 'Marked failed by the operator.',
          });
    });
    const line = `payouts mark ${payoutId}: ${outcome}\n`;
    (EXIT_BY_OUTCOME[outcome] === 0 ? process.stdout : process.stderr).write(line);
    return EXIT_BY_OUTCOME[outcome];
  });
}

export async function runPayoutsCli(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === 'export') return await runExport(rest);
    if (sub === 'mark') return await runMark(rest);
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? '');
    if (!(error instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS')) throw error;
    process.stderr.write(`payrail payouts: ${(error as Error).message}\n`);
  }
  process.stderr.write(`usage:\n${PAYOUTS_USAGE}\n`);
  return 2;
}
