import type { Db } from '../db/database.ts';
import type { NotificationsTable } from '../db/schema.ts';
import type { ClaimedJob, JobStore } from '../jobs/store.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { retryDelayMs } from '../webhooks/delivery.ts';
import { maskRecipient, redactAddresses } from './mask.ts';
import type { EmailSender, SendResult, SmsSender } from './senders.ts';
import { loadSettings } from './settings.ts';
import { type NotificationKind, renderMessage, type TemplateData } from './templates.ts';
import type { SendPayload } from './trigger.ts';

// One send job: one message to one recipient. The template is rendered now,
// with the account's current sender name and reply-to. The result and the
// job's end commit together. A crash after the provider accepted the message
// but before that commit sends it again on the next attempt: at least once.
// The email's Message-ID is the notification id, so a receiving system can
// recognise the duplicate.

export function createSender(deps: {
  db: Db;
  clock: Clock;
  jobs: JobStore;
  logger: Logger;
  email: EmailSender | null;
  sms: SmsSender | null;
  retryBaseMs: number;
}) {
  const { db, clock, jobs } = deps;

  async function run(job: ClaimedJob): Promise<void> {
    const { notificationId } = JSON.parse(job.payload) as SendPayload;
    const row = await db
      .selectFrom('notifications')
      .selectAll()
      .where('id', '=', notificationId)
      .executeTakeFirst();
    if (row?.status !== 'queued') {
      await jobs.finish(db, job, { status: 'done', error: row ? null : 'notification not found' });
      return;
    }
    const result = await send(row);
    await record(job, row, result);
  }

  async function send(row: NotificationsTable): Promise<SendResult> {
    const scope = { accountId: row.account_id, livemode: row.livemode === 1 };
    const settings = await loadSettings(db, scope);
    const message = renderMessage(
      row.kind as NotificationKind,
      JSON.parse(row.data) as TemplateData,
      settings.senderName,
    );
    if (row.channel === 'sms') {
      if (!deps.sms) return { ok: false, retryable: false, error: 'SMS is not configured' };
      return deps.sms.send({ to: row.recipient, body: message.sms });
    }
    if (!deps.email) return { ok: false, retryable: false, error: 'SMTP is not configured' };
    return deps.email.send({
      messageId: `<${row.id}@payrail.invalid>`,
      to: row.recipient,
      fromName: settings.senderName,
      replyTo: settings.replyTo,
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
  }

  async function record(job: ClaimedJob, row: NotificationsTable, result: SendResult) {
    const nowMs = clock.nowMs();
    const lastTry = job.attempts >= LIMITS.notificationAttemptsMax;
    // Providers echo addresses in their errors; the log and the API must not.
    const error = result.ok
      ? null
      : redactAddresses(result.error).slice(0, LIMITS.notificationErrorLengthMax);
    const status = result.ok ? 'sent' : !result.retryable || lastTry ? 'failed' : 'queued';
    await db.transaction().execute(async (tx) => {
      // Fenced: a worker whose lease was taken over records nothing.
      const owned = await jobs.finish(
        tx,
        job,
        status === 'queued'
          ? {
              status: 'retry',
              runAtMs: nowMs + retryDelayMs(job.attempts, deps.retryBaseMs),
              error,
            }
          : { status: status === 'sent' ? 'done' : 'dead', error },
      );
      if (!owned) return;
      await tx
        .updateTable('notifications')
        .set({
          status,
          attempts: job.attempts,
          error,
          provider_id: result.ok ? result.providerId : null,
          sent_ms: result.ok ? nowMs : null,
        })
        .where('id', '=', row.id)
        .execute();
    });
    const log = {
      notificationId: row.id,
      kind: row.kind,
      channel: row.channel,
      recipient: maskRecipient(row.channel, row.recipient),
      attempt: job.attempts,
      status,
    };
    if (result.ok) deps.logger.info(log, 'notification sent');
    else deps.logger.warn({ ...log, error }, 'notification not sent');
  }

  return { run };
}
