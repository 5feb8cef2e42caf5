import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from '../database.ts';

// Notifications: per-account (and mode) settings for receipts and operator
// alerts, and the log of every notification, one row per (event, kind,
// channel, recipient). The unique `dedupe_key` makes the trigger idempotent:
// the same event can never produce two rows for one recipient and channel.
/** Same name as notifications/trigger.ts: the trigger's position in `events.seq`. */
const TRIGGER_CURSOR = 'notifications.trigger';

export function notificationsMigration(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('notification_settings')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('sender_name', 'text')
        .addColumn('reply_to', 'text')
        .addColumn('operator_emails', 'text', (c) => c.notNull())
        .addColumn('operator_phones', 'text', (c) => c.notNull())
        .addColumn('receipts_enabled', 'integer', (c) => c.notNull())
        .addColumn('failed_payments_threshold', 'integer', (c) => c.notNull())
        .addColumn('failed_payments_window_seconds', 'integer', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('notification_settings_pk', ['account_id', 'livemode'])
        .execute();

      await db.schema
        .createTable('notifications')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('livemode', 'integer', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('provider_id', 'text')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('sent_ms', 'bigint')
        .execute();
      await db.schema
        .createIndex('notifications_scope')
        .on('notifications')
        .columns(['account_id', 'livemode', 'id'])
        .execute();
      await db.schema
        .createIndex('notifications_kind')
        .on('notifications')
        .columns(['account_id', 'livemode', 'kind', 'created_ms'])
        .execute();
      // The failed-payment spike counts one type of event of one account in a time window.
      await db.schema
        .createIndex('events_notifications_window')
        .on('events')
        .columns(['account_id', 'livemode', 'type', 'created'])
        .execute();
      // The trigger starts after the events that exist now: upgrading an
      // engine must not mail receipts for every payment it ever took.
      await sql`insert into job_cursors (name, position, updated_ms)
        select ${TRIGGER_CURSOR}, coalesce(max(seq), 0), ${Date.now()} from events`.execute(db);
    },
  };
}
