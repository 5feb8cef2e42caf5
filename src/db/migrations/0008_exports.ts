import type { Kysely, Migration } from 'kysely';

// Accounting exports: the mapping of ledger accounts to a merchant's chart of
// accounts. `connector_id` is '' for "any connector" (not NULL, so the unique
// index holds on both SQLite and PostgreSQL, where NULLs never collide).
export function exportsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('ledger_account_mappings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('quickbooks_account', 'text')
        .addColumn('xero_account_code', 'text')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('ledger_account_mappings_key')
        .on('ledger_account_mappings')
        .columns(['account_id', 'livemode', 'purpose', 'connector_id'])
        .unique()
        .execute();
    },
  };
}
