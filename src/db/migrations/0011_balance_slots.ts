import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.ts';

// Ledger balances move from one row per ledger account to a few slot rows per
// account. Every capture of a merchant credits the same two or three accounts
// (merchant pending, the processor's receivable, fees); with one balance row
// each, concurrent postings on PostgreSQL queue on those rows' locks, which are
// held until COMMIT (its WAL flush included), so one merchant's payments were
// serialised. A posting now adds to one slot, picked per transaction, and an
// account's balance is the sum of its slots (docs/ledger.md "Balances").
export function balanceSlotsMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('ledger_balances')
        .addColumn('ledger_account_id', 'text', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('balance', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_balances_pk', ['ledger_account_id', 'slot'])
        .execute();
      // A process still running the previous version could add to a balance
      // between the copy and the column's removal; on PostgreSQL it waits
      // instead (migrations run in one transaction there). SQLite has one writer.
      if (dialect === 'postgres') {
        await sql`LOCK TABLE ledger_accounts IN EXCLUSIVE MODE`.execute(db);
      }
      await sql`INSERT INTO ledger_balances (ledger_account_id, slot, balance)
        SELECT id, 0, balance FROM ledger_accounts`.execute(db);
      await db.schema.alterTable('ledger_accounts').dropColumn('balance').execute();
      await db.schema.alterTable('ledger_accounts').dropColumn('version').execute();
    },
  };
}
