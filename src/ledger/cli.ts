import { ensureDataDir, loadConfig } from '../config.ts';
import { type Db, migrate, openDatabase } from '../db/database.ts';
import { systemClock, unixSeconds } from '../lib/clock.ts';
import { createLedgerService } from './service.ts';
import { formatReport, verifyLedger } from './verify.ts';

// `payrail ledger verify | settle`, on the configured database (the same
// environment variables as the engine). `release` is the older name of `settle`.
export const LEDGER_USAGE = `  payrail ledger verify                          check every ledger invariant; exit 0 when clean, 1 when not
  payrail ledger settle                          settle due funds (pending → available) in batches; alias: release`;

async function withDatabase<T>(fn: (db: Db, fundsDelaySeconds: number) => Promise<T>): Promise<T> {
  const config = loadConfig();
  ensureDataDir(config.dataDir);
  const handle = openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await migrate(handle);
    return await fn(handle.db, config.fundsAvailableAfterSeconds);
  } finally {
    await handle.close();
  }
}

export async function runLedgerCli(args: string[]): Promise<number> {
  const [sub] = args;
  if (sub === 'verify') {
    return withDatabase(async (db) => {
      const report = await verifyLedger(db);
      (report.ok ? process.stdout : process.stderr).write(formatReport(report));
      return report.ok ? 0 : 1;
    });
  }
  if (sub === 'settle' || sub === 'release') {
    return withDatabase(async (db, availableAfterSeconds) => {
      const ledger = createLedgerService({ db, clock: systemClock, availableAfterSeconds });
      let batches = 0;
      let transactions = 0;
      // Each pass is bounded; repeat until nothing is due.
      for (;;) {
        const pass = await ledger.settle({ nowSeconds: unixSeconds(systemClock) });
        batches += pass.batches;
        transactions += pass.transactions;
        if (pass.transactions === 0) break;
      }
      process.stdout.write(
        `ledger settle: ${batches} batch(es), ${transactions} balance transaction(s) made available\n`,
      );
      return 0;
    });
  }
  process.stderr.write(`usage:\n${LEDGER_USAGE}\n`);
  return 2;
}
