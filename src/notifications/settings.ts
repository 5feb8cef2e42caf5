import { livemodeFlag, type Scope } from '../db/context.ts';
import type { Db, Executor } from '../db/database.ts';
import type { NotificationSettingsTable } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import { unixSeconds } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import type { SettingsUpdateInput } from './schemas.ts';

// Per-account (and mode) notification settings. An account that never saved
// any gets the defaults: receipts on, its own email as the operator address,
// and the failed-payment spike thresholds from LIMITS.

export interface NotificationSettings {
  senderName: string;
  replyTo: string | null;
  operatorEmails: string[];
  operatorPhones: string[];
  receiptsEnabled: boolean;
  failedPaymentsThreshold: number;
  failedPaymentsWindowSeconds: number;
  /** Whether the values come from a saved row (false: defaults). */
  saved: boolean;
  /** Unix seconds of the last save; null for defaults. */
  updated: number | null;
}

const FALLBACK_SENDER = 'Payrail';

async function defaults(ex: Executor, accountId: string): Promise<NotificationSettingsTable> {
  const account = await ex
    .selectFrom('accounts')
    .select(['business_name', 'email'])
    .where('id', '=', accountId)
    .executeTakeFirst();
  return {
    account_id: accountId,
    livemode: 0,
    sender_name: account?.business_name ?? null,
    reply_to: null,
    operator_emails: JSON.stringify(account?.email ? [account.email] : []),
    operator_phones: '[]',
    receipts_enabled: 1,
    failed_payments_threshold: LIMITS.notificationFailedPaymentsThresholdDefault,
    failed_payments_window_seconds: LIMITS.notificationFailedPaymentsWindowSecondsDefault,
    updated: 0,
  };
}

async function readRow(ex: Executor, scope: Scope) {
  return ex
    .selectFrom('notification_settings')
    .selectAll()
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', livemodeFlag(scope))
    .executeTakeFirst();
}

function fromRow(row: NotificationSettingsTable, saved: boolean): NotificationSettings {
  return {
    senderName: row.sender_name ?? FALLBACK_SENDER,
    replyTo: row.reply_to,
    operatorEmails: JSON.parse(row.operator_emails) as string[],
    operatorPhones: JSON.parse(row.operator_phones) as string[],
    receiptsEnabled: row.receipts_enabled === 1,
    failedPaymentsThreshold: row.failed_payments_threshold,
    failedPaymentsWindowSeconds: row.failed_payments_window_seconds,
    saved,
    updated: saved ? row.updated : null,
  };
}

export async function loadSettings(ex: Executor, scope: Scope): Promise<NotificationSettings> {
  const row = await readRow(ex, scope);
  return row ? fromRow(row, true) : fromRow(await defaults(ex, scope.accountId), false);
}

export function createSettingsService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  /** Applies a validated partial update over the current values (or the defaults). */
  async function update(scope: Scope, input: SettingsUpdateInput): Promise<NotificationSettings> {
    return db.transaction().execute(async (tx) => {
      const current =
        (await readRow(tx, scope)) ??
        ({ ...(await defaults(tx, scope.accountId)), livemode: livemodeFlag(scope) } as const);
      const next: NotificationSettingsTable = {
        ...current,
        livemode: livemodeFlag(scope),
        updated: unixSeconds(clock),
      };
      if (input.sender_name !== undefined) next.sender_name = input.sender_name;
      if (input.reply_to !== undefined) next.reply_to = input.reply_to;
      if (input.operator_emails !== undefined)
        next.operator_emails = JSON.stringify(unique(input.operator_emails));
      if (input.operator_phones !== undefined)
        next.operator_phones = JSON.stringify(unique(input.operator_phones));
      if (input.receipts_enabled !== undefined)
        next.receipts_enabled = input.receipts_enabled ? 1 : 0;
      if (input.failed_payments_threshold !== undefined)
        next.failed_payments_threshold = input.failed_payments_threshold;
      if (input.failed_payments_window_seconds !== undefined)
        next.failed_payments_window_seconds = input.failed_payments_window_seconds;
      await tx
        .insertInto('notification_settings')
        .values(next)
        .onConflict((oc) =>
          oc.columns(['account_id', 'livemode']).doUpdateSet({
            sender_name: next.sender_name,
            reply_to: next.reply_to,
            operator_emails: next.operator_emails,
            operator_phones: next.operator_phones,
            receipts_enabled: next.receipts_enabled,
            failed_payments_threshold: next.failed_payments_threshold,
            failed_payments_window_seconds: next.failed_payments_window_seconds,
            updated: next.updated,
          }),
        )
        .execute();
      return fromRow(next, true);
    });
  }

  return { retrieve: (scope: Scope) => loadSettings(db, scope), update };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export type SettingsService = ReturnType<typeof createSettingsService>;
