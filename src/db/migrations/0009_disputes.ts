import type { Kysely, Migration } from 'kysely';

// Disputes (chargebacks, docs/disputes.md). One row per processor dispute:
// `(connector, connector_dispute_id)` is unique, so the same processor notice
// delivered twice finds its dispute instead of opening a second one. The
// charge remembers that it was disputed (Stripe's `charge.disputed`), and a
// connector account may charge a fixed dispute fee.
export function disputesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('disputes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('charge_id', 'text', (c) => c.notNull())
        .addColumn('payment_intent_id', 'text', (c) => c.notNull())
        .addColumn('connector', 'text', (c) => c.notNull())
        .addColumn('connector_dispute_id', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('cycle', 'integer', (c) => c.notNull())
        .addColumn('funds_moves', 'integer', (c) => c.notNull())
        .addColumn('network_reason_code', 'text')
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('due_by', 'bigint')
        .addColumn('submission_count', 'integer', (c) => c.notNull())
        .addColumn('has_evidence', 'integer', (c) => c.notNull())
        .addColumn('past_due', 'integer', (c) => c.notNull())
        .addColumn('is_charge_refundable', 'integer', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('disputes_connector_reference')
        .on('disputes')
        .columns(['connector', 'connector_dispute_id'])
        .unique()
        .execute();
      await db.schema
        .createIndex('disputes_scope')
        .on('disputes')
        .columns(['account_id', 'livemode', 'id'])
        .execute();
      await db.schema
        .createIndex('disputes_charge')
        .on('disputes')
        .columns(['charge_id'])
        .execute();
      await db.schema.alterTable('charges').addColumn('disputed', 'integer').execute();
      await db.schema.alterTable('connector_accounts').addColumn('dispute_fee', 'bigint').execute();
    },
  };
}
