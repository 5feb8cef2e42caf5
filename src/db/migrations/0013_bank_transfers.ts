import { type Kysely, type Migration, sql } from 'kysely';

// Bank transfers received for payment intents that were offered the secondary
// method (docs/bank-transfers.md). One row per credit recorded, by the API or
// by a camt.053 import. `bank_reference` (the bank's entry reference) is unique
// per account and mode, so the same credit recorded twice (the API and a
// statement, or two overlapping statements) is booked once.
//
// The partial index on payment_intents finds an intent by the reference the
// customer quoted: only intents that were offered a bank transfer carry
// `secondary_method`, so the index stays as small as the outages that made them.
export function bankTransfersMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('bank_transfer_receipts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('payment_intent_id', 'text', (c) => c.notNull().references('payment_intents.id'))
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('bank_reference', 'text')
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('reconciliation_id', 'text')
        .addColumn('charge_id', 'text')
        .addColumn('amount_remaining', 'bigint', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addCheckConstraint('bank_transfer_receipts_positive', sql`amount > 0`)
        .addCheckConstraint('bank_transfer_receipts_remaining', sql`amount_remaining >= 0`)
        .execute();
      await db.schema
        .createIndex('bank_transfer_receipts_intent')
        .on('bank_transfer_receipts')
        .columns(['payment_intent_id', 'id'])
        .execute();
      await db.schema
        .createIndex('bank_transfer_receipts_bank_reference')
        .on('bank_transfer_receipts')
        .columns(['account_id', 'livemode', 'bank_reference'])
        .unique()
        .where(sql.ref('bank_reference'), 'is not', null)
        .execute();
      await db.schema
        .createIndex('payment_intents_secondary')
        .on('payment_intents')
        .columns(['account_id', 'livemode', 'id'])
        .where(sql.ref('secondary_method'), 'is not', null)
        .execute();
    },
  };
}
