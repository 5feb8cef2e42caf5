import type { NotificationsTable } from '../db/schema.ts';
import { maskRecipient } from './mask.ts';
import type { NotificationSettings } from './settings.ts';

// API shapes. A notification shows its recipient masked: the log is for
// operators checking that alerts and receipts go out, not an address book.

export function serializeNotification(row: NotificationsTable) {
  return {
    id: row.id,
    object: 'notification',
    livemode: row.livemode === 1,
    kind: row.kind,
    channel: row.channel,
    recipient: maskRecipient(row.channel, row.recipient),
    status: row.status,
    attempts: row.attempts,
    error: row.error,
    event: row.event_id,
    created: Math.floor(row.created_ms / 1000),
    sent_at: row.sent_ms === null ? null : Math.floor(row.sent_ms / 1000),
  };
}

export function serializeSettings(settings: NotificationSettings, livemode: boolean) {
  return {
    object: 'notification_settings',
    livemode,
    sender_name: settings.senderName,
    reply_to: settings.replyTo,
    operator_emails: settings.operatorEmails,
    operator_phones: settings.operatorPhones,
    receipts_enabled: settings.receiptsEnabled,
    failed_payments_threshold: settings.failedPaymentsThreshold,
    failed_payments_window_seconds: settings.failedPaymentsWindowSeconds,
    updated: settings.updated,
  };
}
