import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ensureDataDir, loadConfig } from '../config.ts';
import type { Scope } from '../db/context.ts';
import { type Db, migrate, openDatabase } from '../db/database.ts';
import { systemClock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import { FxFileError, loadRates, parseRatesFile } from './load.ts';
import { createFxService } from './service.ts';

// `payrail fx load FILE.csv [--account acct_] [--live]`, on the configured
// database (the same environment variables as the engine).
export const FX_USAGE = `  payrail fx load FILE.csv [--account acct_...] [--live]
                                                 load FX rates (base_currency,quote_currency,rate,effective_from)`;

export async function withCliDatabase<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  ensureDataDir(config.dataDir);
  const handle = openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await migrate(handle);
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

/** The scope a CLI command works on: --account (checked) or the first account, test mode unless --live. */
export async function cliScope(db: Db, account: string | undefined, live: boolean) {
  const row = account
    ? await db.selectFrom('accounts').select('id').where('id', '=', account).executeTakeFirst()
    : await db.selectFrom('accounts').select('id').orderBy('id').limit(1).executeTakeFirst();
  if (!row) return undefined;
  return { accountId: row.id, livemode: live } satisfies Scope;
}

function readFile(file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (error) {
    throw new FxFileError(
      1,
      null,
      `cannot read the file (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  if (size > LIMITS.fxLoadFileBytesMax) {
    throw new FxFileError(
      1,
      null,
      `the file is ${size} bytes; at most ${LIMITS.fxLoadFileBytesMax}`,
    );
  }
  return fs.readFileSync(file, 'utf8');
}

export async function runFxCli(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const parsed =
    sub === 'load'
      ? parseArgs({
          args: rest,
          allowPositionals: true,
          options: { account: { type: 'string' }, live: { type: 'boolean' } },
        })
      : undefined;
  const file = parsed?.positionals[0];
  if (!parsed || file === undefined || parsed.positionals.length !== 1) {
    process.stderr.write(`usage:\n${FX_USAGE}\n`);
    return 2;
  }
  return withCliDatabase(async (db) => {
    const scope = await cliScope(db, parsed.values.account, parsed.values.live === true);
    if (!scope) {
      process.stderr.write(`fx load: no such account: ${parsed.values.account ?? '(none yet)'}\n`);
      return 2;
    }
    try {
      const lines = parseRatesFile(readFile(file));
      const fx = createFxService({ db, clock: systemClock });
      const result = await loadRates({ db, fx, scope, lines });
      process.stdout.write(
        `fx load: ${result.inserted} rate(s) added, ${result.unchanged} already present (${scope.accountId}, ${scope.livemode ? 'live' : 'test'} mode)\n`,
      );
      return 0;
    } catch (error) {
      if (!(error instanceof FxFileError)) throw error;
      process.stderr.write(`fx load: ${file}: ${error.message}; nothing was loaded\n`);
      return 1;
    }
  });
}
