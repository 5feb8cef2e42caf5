import { ensureDataDir, loadConfig } from '../config.ts';
import { type Db, migrate, openDatabase } from '../db/database.ts';
import { systemClock, unixSeconds } from '../lib/clock.ts';
import { createLedgerService } from './service.ts';
import { formatReport, verifyLedger } from './verify.ts';

// `payrail ledger verify | release`, on the configured database (the same
// environment variables as the engine).
export const LEDGER_USAGE = `  payrail ledger verify                          check every ledger invariant; exit 0 when clean, 1 when not
  payrail ledger release                         move funds that are due from pending to available`;

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
  if (sub === 'release') {
    return withDatabase(async (db, availableAfterSeconds) => {
      const ledger = createLedgerService({ db, clock: systemClock, availableAfterSeconds });
      let total = 0;
      // Each call is bounded by a batch; repeat until nothing is due.
      for (;;) {
        const released = await ledger.releaseAvailable({ nowSeconds: unixSeconds(systemClock) });
        total += released;
        if (released === 0) break;
      }
      process.stdout.write(`ledger release: ${total} balance transaction(s) made available\n`);
      return 0;
    });
  }
  process.stderr.write(`usage:\n${LEDGER_USAGE}\n`);
  return 2;
}
