import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import Stripe from 'stripe';
import { createEngine, type Engine } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';

// The integration test harness: a real engine on a real database (a fresh
// SQLite file, or a fresh PostgreSQL database when PAYRAIL_TEST_DB=postgres),
// listening on a loopback port, driven through the official stripe SDK.

export type TestDialect = 'sqlite' | 'postgres';

export function testDialect(): TestDialect {
  return process.env.PAYRAIL_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';
}

export const PG_ADMIN_URL =
  process.env.PAYRAIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh PostgreSQL database for one test file; dropped by the returned function. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `payrail_t_${randomToken(10).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestEngine {
  engine: Engine;
  url: string;
  port: number;
  dataDir: string;
  secretKey: string;
  publishableKey: string;
  accountId: string;
  stripe: Stripe;
  logFile: string;
  /** A stripe client for another key (another account, live mode, publishable). */
  client(key: string): Stripe;
  close(): Promise<void>;
}

export function stripeClient(key: string, port: number): Stripe {
  // No automatic retries: a test must see exactly what the engine answered.
  return new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
}

export async function startEngine(
  options: { env?: Record<string, string> } = {},
): Promise<TestEngine> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-test-'));
  const pgDb = testDialect() === 'postgres' ? await createPgDatabase() : undefined;
  const config = loadConfig({
    PAYRAIL_DATA_DIR: dataDir,
    PORT: '0',
    PAYRAIL_LOG_LEVEL: 'info',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
    ...options.env,
  });
  const logFile = path.join(dataDir, 'engine.log');
  const logger = createLogger({ level: 'info', destination: fs.createWriteStream(logFile) });
  const engine = await createEngine(config, { logger });
  const secretKey = `sk_test_${randomToken(28)}`;
  const boot = await engine.accounts.bootstrap({ secretKey });
  if (!boot) throw new Error('bootstrap did nothing on a fresh database');
  const publishableKey = boot.keys.find((k) => k.kind === 'publishable')?.key ?? '';
  await engine.recover();
  await engine.app.listen({ port: 0, host: '127.0.0.1' });
  const address = engine.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    engine,
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    secretKey,
    publishableKey,
    accountId: boot.account.id,
    stripe: stripeClient(secretKey, port),
    logFile,
    client: (key: string) => stripeClient(key, port),
    async close() {
      await engine.close();
      await pgDb?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A plain HTTP call, for what the SDK cannot send (bad bodies, odd headers). */
export async function rawRequest(
  t: Pick<TestEngine, 'url' | 'secretKey'>,
  method: string,
  urlPath: string,
  options: {
    body?: string;
    contentType?: string;
    headers?: Record<string, string>;
    key?: string | null;
  } = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? t.secretKey : options.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined)
    headers['content-type'] = options.contentType ?? 'application/x-www-form-urlencoded';
  const response = await fetch(t.url + urlPath, {
    method,
    headers,
    body: options.body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}

/**
 * Counts rows of every table that holds money or its evidence (payments, the
 * ledger, payouts, settlement, bank accounts, reconciliation, FX rates,
 * chart-of-accounts mappings), to prove a rejected request changed nothing.
 */
export async function tableCounts(t: TestEngine): Promise<Record<string, number>> {
  const tables = [
    'customers',
    'payment_methods',
    'payment_intents',
    'charges',
    'payment_attempts',
    'refunds',
    'events',
    // 0004_ledger
    'ledger_accounts',
    'ledger_transactions',
    'ledger_entries',
    // 0006_finance
    'fx_rates',
    'settlement_batches',
    'external_accounts',
    'payouts',
    // 0007_reconciliation
    'reconciliations',
    'reconciliation_lines',
    // 0008_exports
    'ledger_account_mappings',
  ] as const;
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await t.engine.database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}
