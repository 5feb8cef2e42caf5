import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.ts';

// The double-entry ledger: accounts (one per merchant account, mode, currency,
// purpose and, for processor receivables, connector), transactions (the
// Stripe balance transactions plus internal transfers such as pending →
// available) and their entries. Entries are insert-only: a trigger on each
// dialect refuses UPDATE and DELETE, so a correction can only be a new entry.
export function ledgerMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('ledger_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        // account|livemode|currency|purpose|connector: one row per natural key,
        // found or created with ON CONFLICT DO NOTHING under concurrency.
        .addColumn('natural_key', 'text', (c) => c.notNull().unique())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text')
        .addColumn('balance', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('ledger_accounts_scope')
        .on('ledger_accounts')
        .columns(['account_id', 'livemode', 'currency'])
        .execute();

      await db.schema
        .createTable('ledger_transactions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('reporting_category', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('fee', 'bigint', (c) => c.notNull())
        .addColumn('net', 'bigint', (c) => c.notNull())
        .addColumn('fee_details', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('available_on', 'bigint', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      // One transaction of each type per cause: a charge is posted once, a
      // refund once, a release once, even if two processes race.
      await db.schema
        .createIndex('ledger_transactions_cause')
        .on('ledger_transactions')
        .columns(['source', 'type'])
        .unique()
        .execute();
      await db.schema
        .createIndex('ledger_transactions_scope')
        .on('ledger_transactions')
        .columns(['account_id', 'livemode', 'id'])
        .execute();
      await db.schema
        .createIndex('ledger_transactions_due')
        .on('ledger_transactions')
        .columns(['status', 'available_on'])
        .execute();

      await db.schema
        .createTable('ledger_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('transaction_id', 'text', (c) =>
          c.notNull().references('ledger_transactions.id'),
        )
        .addColumn('ledger_account_id', 'text', (c) => c.notNull().references('ledger_accounts.id'))
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('ledger_entries_transaction')
        .on('ledger_entries')
        .columns(['transaction_id'])
        .execute();
      await db.schema
        .createIndex('ledger_entries_account')
        .on('ledger_entries')
        .columns(['ledger_account_id'])
        .execute();

      if (dialect === 'sqlite') {
        for (const op of ['UPDATE', 'DELETE']) {
          await sql
            .raw(
              `CREATE TRIGGER ledger_entries_no_${op.toLowerCase()} BEFORE ${op} ON ledger_entries
               BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END`,
            )
            .execute(db);
        }
      } else {
        await sql
          .raw(
            `CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'ledger entries are immutable'; END; $$ LANGUAGE plpgsql`,
          )
          .execute(db);
        await sql
          .raw(
            `CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
             FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()`,
          )
          .execute(db);
      }
    },
  };
}
