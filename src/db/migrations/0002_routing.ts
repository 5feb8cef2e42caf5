import { type Kysely, type Migration, sql } from 'kysely';

// Several processors: connector accounts, routing configuration, maintenance
// windows, incidents and their timelines; attempts learn how an unknown
// outcome was resolved, intents which secondary method they were offered.
export function routingMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('connector_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text')
        .addColumn('credentials_enc', 'text', (c) => c.notNull())
        .addColumn('credentials_hint', 'text', (c) => c.notNull())
        .addColumn('currencies', 'text')
        .addColumn('payment_method_types', 'text', (c) => c.notNull())
        .addColumn('fee_rate_ppm', 'integer', (c) => c.notNull())
        .addColumn('fee_fixed', 'bigint', (c) => c.notNull())
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('deleted', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('connector_accounts_scope')
        .on('connector_accounts')
        .columns(['account_id', 'livemode', 'id'])
        .execute();

      await db.schema
        .createTable('routing_configs')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('routing_configs_pk', ['account_id', 'livemode'])
        .execute();

      await db.schema
        .createTable('maintenance_windows')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('connector_id', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'bigint', (c) => c.notNull())
        .addColumn('ends_at', 'bigint', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('maintenance_windows_connector')
        .on('maintenance_windows')
        .columns(['connector_id', 'ends_at'])
        .execute();
      await db.schema
        .createIndex('maintenance_windows_scope')
        .on('maintenance_windows')
        .columns(['account_id', 'livemode', 'id'])
        .execute();

      await db.schema
        .createTable('incidents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('connector_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('impact', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_ms', 'bigint', (c) => c.notNull())
        .addColumn('resolved_ms', 'bigint')
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incidents_scope')
        .on('incidents')
        .columns(['account_id', 'livemode', 'id'])
        .execute();
      // At most one open automatic incident per connector, even with several processes.
      await db.schema
        .createIndex('incidents_open_automatic')
        .on('incidents')
        .column('connector_id')
        .unique()
        .where(sql.ref('source'), '=', 'automatic')
        .where(sql.ref('resolved_ms'), 'is', null)
        .execute();

      await db.schema
        .createTable('incident_updates')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('incident_id', 'text', (c) => c.notNull().references('incidents.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('incident_updates_incident')
        .on('incident_updates')
        .columns(['incident_id', 'id'])
        .execute();

      await db.schema.alterTable('payment_attempts').addColumn('unknown_at_ms', 'bigint').execute();
      await db.schema.alterTable('payment_attempts').addColumn('resolution', 'text').execute();
      await db.schema
        .alterTable('payment_attempts')
        .addColumn('reverses_attempt_id', 'text')
        .execute();
      await db.schema.alterTable('payment_intents').addColumn('secondary_method', 'text').execute();
      await db.schema
        .createIndex('payment_attempts_connector')
        .on('payment_attempts')
        .columns(['connector', 'created_ms'])
        .execute();
    },
  };
}
