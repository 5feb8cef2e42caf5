import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  boolField,
  clearableStr,
  emailField,
  enumField,
  intField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';
import { NOTIFICATION_KINDS } from './templates.ts';

// Request schemas for notification settings and the notifications log.

const E164 = /^\+[1-9]\d{6,14}$/;

const phoneField = () =>
  strField(16).refine((v) => E164.test(v), {
    message: 'Invalid phone number: expected E.164, like +14155550123',
  });

/** A list; the empty string clears it (form encoding cannot send an empty array). */
function listField<T extends z.ZodType>(item: T) {
  return z.union([
    z.literal('').transform(() => [] as z.output<T>[]),
    z.array(item).max(LIMITS.notificationRecipientsMax),
  ]);
}

export const SettingsUpdate = z.strictObject({
  sender_name: clearableStr(LIMITS.notificationSenderNameLengthMax).optional(),
  reply_to: z.union([z.literal('').transform(() => null), emailField()]).optional(),
  operator_emails: listField(emailField()).optional(),
  operator_phones: listField(phoneField()).optional(),
  receipts_enabled: boolField().optional(),
  failed_payments_threshold: intField({
    min: 1,
    max: LIMITS.notificationFailedPaymentsThresholdMax,
  }).optional(),
  failed_payments_window_seconds: intField({
    min: 10,
    max: LIMITS.notificationFailedPaymentsWindowSecondsMax,
  }).optional(),
});
export type SettingsUpdateInput = z.output<typeof SettingsUpdate>;

export const NotificationListQuery = z.strictObject({
  ...listParams,
  kind: enumField(NOTIFICATION_KINDS).optional(),
  status: enumField(['queued', 'sent', 'failed', 'skipped'] as const).optional(),
  channel: enumField(['email', 'sms'] as const).optional(),
});
export type NotificationListInput = z.output<typeof NotificationListQuery>;
