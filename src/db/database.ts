import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { assertSafeInteger } from '../lib/assert.ts';
import { LIMITS } from '../lib/limits.ts';
import { GroupCommitSqliteDialect, type SqliteHandle } from './group-commit.ts';
import { coreMigration } from './migrations/0001_core.ts';
import { routingMigration } from './migrations/0002_routing.ts';
import { webhooksMigration } from './migrations/0003_webhooks.ts';
import { ledgerMigration } from './migrations/0004_ledger.ts';
import { notificationsMigration } from './migrations/0005_notifications.ts';
import { financeMigration } from './migrations/0006_finance.ts';
import { reconciliationMigration } from './migrations/0007_reconciliation.ts';
import { exportsMigration } from './migrations/0008_exports.ts';
import { disputesMigration } from './migrations/0009_disputes.ts';
import { financeFixesMigration } from './migrations/0010_finance_fixes.ts';
import { balanceSlotsMigration } from './migrations/0011_balance_slots.ts';
import { attemptCaptureMigration } from './migrations/0012_attempt_capture.ts';
import { bankTransfersMigration } from './migrations/0013_bank_transfers.ts';
import { disputeSubmissionMigration } from './migrations/0014_dispute_submission.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: what a query function runs on. */
export type Executor = Db | Tx;

export interface DatabaseHandle {
  db: Db;
  dialect: Dialect;
  /** Where the data lives, for logs: a file path or the PostgreSQL URL without password. */
  location: string;
  close(): Promise<void>;
}

export const SQLITE_FILE = 'payrail.sqlite';
const PG_POOL_MAX = 16;
const PG_INT8_OID = 20;

// PostgreSQL returns BIGINT as a string; amounts are safe integers by
// construction, and we check that on the way out.
pg.types.setTypeParser(PG_INT8_OID, (text: string) => {
  const value = Number(text);
  assertSafeInteger(value, 'bigint column');
  return value;
});

export function openDatabase(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
}): DatabaseHandle {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: PG_POOL_MAX });
    // An idle client whose connection the server closed (restart, failover)
    // is dropped by the pool; without a listener the error would crash the process.
    pool.on('error', () => {});
    pool.on('connect', usePreparedStatements);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const url = new URL(options.databaseUrl);
    url.password = '';
    return { db, dialect: 'postgres', location: url.toString(), close: () => db.destroy() };
  }
  const file = path.join(options.dataDir, SQLITE_FILE);
  const sqlite = new SQLite(file);
  // WAL with synchronous=FULL: a committed transaction survives power loss, so
  // a 2xx sent after commit is a promise we can keep.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({
    dialect: new GroupCommitSqliteDialect(withStatementCache(sqlite)),
  });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

/**
 * PostgreSQL parses and plans every unnamed statement again. Kysely sends its
 * queries unnamed, so each pooled client names the data statements it sends
 * (one name per SQL text, for the life of the process) and the server parses
 * each of them once per connection. DDL and other statements stay unnamed, and
 * so does any text with a `*` (`select *`, `returning *`): a prepared
 * statement whose result columns change (another process migrating the
 * schema) fails with "cached plan must not change result type" until the
 * connection is gone, while an explicit column list stays valid.
 */
const statementNames = new Map<string, string>();
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;

function usePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [text, values] = args;
    if (args.length !== 2 || typeof text !== 'string' || !Array.isArray(values)) {
      return query(...args);
    }
    if (!PREPARABLE.test(text) || text.includes('*')) return query(text, values);
    let name = statementNames.get(text);
    if (name === undefined) {
      if (statementNames.size >= LIMITS.pgPreparedStatementsMax) return query(text, values);
      name = `payrail_${statementNames.size}`;
      statementNames.set(text, name);
    }
    return query({ text, values, name });
  };
}

/**
 * Kysely prepares every statement again on every query; preparing costs as
 * much as running a small one. SQLite statements are reusable (and re-prepared
 * by SQLite itself when the schema changes), so keep them, bounded, by SQL text.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteHandle {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    get inTransaction() {
      return sqlite.inTransaction;
    },
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (cache.size >= LIMITS.sqliteStatementCacheMax) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

export async function migrate(handle: DatabaseHandle): Promise<void> {
  const migrations: Record<string, Migration> = {
    '0001_core': coreMigration(handle.dialect),
    '0002_routing': routingMigration(),
    '0003_webhooks': webhooksMigration(handle.dialect),
    '0004_ledger': ledgerMigration(handle.dialect),
    '0005_notifications': notificationsMigration(handle.dialect),
    '0006_finance': financeMigration(),
    '0007_reconciliation': reconciliationMigration(),
    '0008_exports': exportsMigration(),
    '0009_disputes': disputesMigration(),
    '0010_finance_fixes': financeFixesMigration(),
    '0011_balance_slots': balanceSlotsMigration(handle.dialect),
    '0012_attempt_capture': attemptCaptureMigration(),
    '0013_bank_transfers': bankTransfersMigration(),
    '0014_dispute_submission': disputeSubmissionMigration(),
  };
  const migrator = new Migrator({
    db: handle.db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

/** The dialect an executor (the database or a transaction) speaks. */
export function dialectOf(ex: Executor): Dialect {
  return ex.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** JSON columns are text on both dialects. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}
