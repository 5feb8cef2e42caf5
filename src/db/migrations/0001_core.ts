import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.ts';

// The core schema: accounts and keys, idempotency, customers, payment
// methods, payment intents with their charges and attempts, refunds, events.
// Every business table carries (account_id, livemode) and every list index
// starts with them, so one account's mode never scans another's rows.
export function coreMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('business_name', 'text')
        .addColumn('email', 'text')
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('default_currency', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('key_hint', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('idempotency_keys')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_method', 'text', (c) => c.notNull())
        .addColumn('request_path', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('locked_by', 'text', (c) => c.notNull())
        .addColumn('locked_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('recovery_resource', 'text')
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['account_id', 'livemode', 'key'])
        .execute();
      await db.schema
        .createIndex('idempotency_keys_created')
        .on('idempotency_keys')
        .column('created_ms')
        .execute();

      await db.schema
        .createTable('customers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('email', 'text')
        .addColumn('name', 'text')
        .addColumn('phone', 'text')
        .addColumn('description', 'text')
        .addColumn('address', 'text')
        .addColumn('shipping', 'text')
        .addColumn('invoice_prefix', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await scopedIndex(db, 'customers');

      await db.schema
        .createTable('payment_methods')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text')
        .addColumn('billing_details', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('secret_enc', 'text')
        .addColumn('fingerprint', 'text')
        .addColumn('allow_redisplay', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await scopedIndex(db, 'payment_methods');
      await db.schema
        .createIndex('payment_methods_customer')
        .on('payment_methods')
        .columns(['customer_id', 'id'])
        .execute();

      await db.schema
        .createTable('payment_intents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('capture_method', 'text', (c) => c.notNull())
        .addColumn('confirmation_method', 'text', (c) => c.notNull())
        .addColumn('customer_id', 'text')
        .addColumn('payment_method_id', 'text')
        .addColumn('payment_method_types', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('receipt_email', 'text')
        .addColumn('statement_descriptor', 'text')
        .addColumn('setup_future_usage', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('amount_capturable', 'bigint', (c) => c.notNull())
        .addColumn('amount_received', 'bigint', (c) => c.notNull())
        .addColumn('latest_charge', 'text')
        .addColumn('last_payment_error', 'text')
        .addColumn('next_action', 'text')
        .addColumn('cancellation_reason', 'text')
        .addColumn('canceled_at', 'bigint')
        .addColumn('client_secret', 'text', (c) => c.notNull())
        .addColumn('return_url', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await scopedIndex(db, 'payment_intents');
      await db.schema
        .createIndex('payment_intents_customer')
        .on('payment_intents')
        .columns(['customer_id', 'id'])
        .execute();

      await db.schema
        .createTable('charges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('payment_intent_id', 'text', (c) => c.notNull().references('payment_intents.id'))
        .addColumn('customer_id', 'text')
        .addColumn('payment_method_id', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('amount_captured', 'bigint', (c) => c.notNull())
        .addColumn('amount_refunded', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('captured', 'integer', (c) => c.notNull())
        .addColumn('released', 'integer', (c) => c.notNull())
        .addColumn('connector', 'text', (c) => c.notNull())
        .addColumn('connector_reference', 'text')
        .addColumn('failure_code', 'text')
        .addColumn('failure_message', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('payment_method_details', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('receipt_email', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addCheckConstraint('charges_refund_bound', sqlCheck('amount_refunded <= amount_captured'))
        .addCheckConstraint('charges_capture_bound', sqlCheck('amount_captured <= amount'))
        .execute();
      await scopedIndex(db, 'charges');
      await db.schema
        .createIndex('charges_intent')
        .on('charges')
        .columns(['payment_intent_id', 'id'])
        .execute();

      await db.schema
        .createTable('payment_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('payment_intent_id', 'text', (c) => c.notNull().references('payment_intents.id'))
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('connector', 'text', (c) => c.notNull())
        .addColumn('connector_reference', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('decline_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('routing_reason', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'integer')
        .addColumn('refund_id', 'text')
        .addColumn('instance_id', 'text')
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('completed_ms', 'bigint')
        .execute();
      await db.schema
        .createIndex('payment_attempts_intent')
        .on('payment_attempts')
        .columns(['payment_intent_id', 'id'])
        .execute();
      await db.schema
        .createIndex('payment_attempts_status')
        .on('payment_attempts')
        .columns(['status', 'created_ms'])
        .execute();

      await db.schema
        .createTable('refunds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('payment_intent_id', 'text', (c) => c.notNull().references('payment_intents.id'))
        .addColumn('charge_id', 'text', (c) => c.notNull().references('charges.id'))
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('failure_reason', 'text')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await scopedIndex(db, 'refunds');
      await db.schema
        .createIndex('refunds_intent')
        .on('refunds')
        .columns(['payment_intent_id', 'id'])
        .execute();

      await db.schema
        .createTable('events')
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('api_version', 'text', (c) => c.notNull())
        .addColumn('data_object', 'text', (c) => c.notNull())
        .addColumn('previous_attributes', 'text')
        .addColumn('request_id', 'text')
        .addColumn('idempotency_key', 'text')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('events_scope')
        .on('events')
        .columns(['account_id', 'livemode', 'seq'])
        .execute();
    },
  };
}

async function scopedIndex(db: Kysely<unknown>, table: string): Promise<void> {
  await db.schema
    .createIndex(`${table}_scope`)
    .on(table)
    .columns(['account_id', 'livemode', 'id'])
    .execute();
}

function sqlCheck(expression: string) {
  return sql.raw(expression);
}
