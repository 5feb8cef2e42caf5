import type { Kysely, Migration } from 'kysely';

// Reconciliation imports, their lines and the exceptions an operator resolves.
// One `reconciliations` row per imported file (unique per account, mode and
// content hash, which makes an import idempotent); one `reconciliation_lines`
// row per report line, plus `ledger` lines for our transactions the report
// missed, each with its match result.
export function reconciliationMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('reconciliations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('connector_id', 'text')
        .addColumn('file_name', 'text')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('period_start', 'bigint')
        .addColumn('period_end', 'bigint')
        .addColumn('lines_count', 'integer', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('reconciliations_file')
        .on('reconciliations')
        .columns(['account_id', 'livemode', 'sha256'])
        .unique()
        .execute();
      await db.schema
        .createIndex('reconciliations_scope')
        .on('reconciliations')
        .columns(['account_id', 'livemode', 'id'])
        .execute();

      await db.schema
        .createTable('reconciliation_lines')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('reconciliation_id', 'text', (c) => c.notNull().references('reconciliations.id'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('line_number', 'integer')
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('reference', 'text')
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('fee', 'bigint')
        .addColumn('net', 'bigint')
        .addColumn('occurred_at', 'bigint')
        .addColumn('description', 'text')
        .addColumn('fields', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('match_type', 'text')
        .addColumn('match_id', 'text')
        .addColumn('amount_difference', 'bigint')
        .addColumn('fee_difference', 'bigint')
        .addColumn('action', 'text')
        .addColumn('note', 'text')
        .addColumn('resolved_at', 'bigint')
        .addColumn('resolved_by', 'text')
        .addColumn('resolution_note', 'text')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('reconciliation_lines_recon')
        .on('reconciliation_lines')
        .columns(['reconciliation_id', 'status', 'id'])
        .execute();
      await db.schema
        .createIndex('reconciliation_lines_scope')
        .on('reconciliation_lines')
        .columns(['account_id', 'livemode', 'id'])
        .execute();
    },
  };
}
