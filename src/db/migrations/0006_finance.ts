import type { Kysely, Migration } from 'kysely';

// Finance: the columns and tables shared by payouts, settlement, FX, splits
// and reconciliation. New columns on older tables are all nullable, so rows
// written before this migration stay valid.
export function financeMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // Splits (Stripe destination charges) and the balance-transaction link.
      for (const table of ['payment_intents', 'charges']) {
        await db.schema.alterTable(table).addColumn('application_fee_amount', 'bigint').execute();
        await db.schema.alterTable(table).addColumn('transfer_destination', 'text').execute();
      }
      await db.schema.alterTable('charges').addColumn('balance_transaction', 'text').execute();
      await db.schema.alterTable('refunds').addColumn('balance_transaction', 'text').execute();
      // A connected account (Stripe Connect) names the platform that created it.
      await db.schema.alterTable('accounts').addColumn('platform_account_id', 'text').execute();
      // The currency a processor pays out in; null: the presentment currency.
      await db.schema
        .alterTable('connector_accounts')
        .addColumn('settlement_currency', 'text')
        .execute();

      for (const [column, type] of [
        ['exchange_rate', 'text'],
        ['source_amount', 'bigint'],
        ['source_currency', 'text'],
        ['connector_id', 'text'],
        ['settlement_batch_id', 'text'],
        ['payout_id', 'text'],
      ] as const) {
        await db.schema.alterTable('ledger_transactions').addColumn(column, type).execute();
      }
      await db.schema
        .createIndex('ledger_transactions_payout')
        .on('ledger_transactions')
        .columns(['payout_id'])
        .execute();
      await db.schema
        .createIndex('ledger_transactions_batch')
        .on('ledger_transactions')
        .columns(['settlement_batch_id'])
        .execute();

      await db.schema
        .createTable('fx_rates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('base_currency', 'text', (c) => c.notNull())
        .addColumn('quote_currency', 'text', (c) => c.notNull())
        .addColumn('rate', 'text', (c) => c.notNull())
        .addColumn('effective_from', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('fx_rates_pair')
        .on('fx_rates')
        .columns(['account_id', 'livemode', 'base_currency', 'quote_currency', 'effective_from'])
        .unique()
        .execute();

      await db.schema
        .createTable('settlement_batches')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('cutoff', 'bigint', (c) => c.notNull())
        .addColumn('gross', 'bigint', (c) => c.notNull())
        .addColumn('fee', 'bigint', (c) => c.notNull())
        .addColumn('net', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('settlement_batches_cutoff')
        .on('settlement_batches')
        .columns(['account_id', 'livemode', 'connector_id', 'currency', 'cutoff'])
        .unique()
        .execute();

      await db.schema
        .createTable('external_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('account_holder_name', 'text')
        .addColumn('account_holder_type', 'text')
        .addColumn('iban_enc', 'text', (c) => c.notNull())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('bic', 'text')
        .addColumn('bank_name', 'text')
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('default_for_currency', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('external_accounts_scope')
        .on('external_accounts')
        .columns(['account_id', 'livemode', 'id'])
        .execute();

      await db.schema
        .createTable('payouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('destination', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('statement_descriptor', 'text')
        .addColumn('arrival_date', 'bigint', (c) => c.notNull())
        .addColumn('failure_code', 'text')
        .addColumn('failure_message', 'text')
        .addColumn('balance_transaction', 'text')
        .addColumn('failure_balance_transaction', 'text')
        .addColumn('export_id', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('payouts_scope')
        .on('payouts')
        .columns(['account_id', 'livemode', 'id'])
        .execute();
      await db.schema.createIndex('payouts_status').on('payouts').columns(['status']).execute();
    },
  };
}
