import type { Scope } from '../db/context.ts';
import { livemodeFlag } from '../db/context.ts';
import type { Db, Tx } from '../db/database.ts';
import type { EventsTable, NotificationsTable } from '../db/schema.ts';
import { advanceCursor, lockCursor } from '../jobs/cursor.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { takeUntilYoungGap } from '../webhooks/fanout.ts';
import { loadSettings, type NotificationSettings } from './settings.ts';
import type { NotificationKind, TemplateData } from './templates.ts';

// The trigger: reads the events outbox after its own durable cursor and turns
// the events that matter into notification rows plus one send job each. The
// rows, the jobs and the cursor advance commit in one transaction, so a crash
// never skips an event nor notifies twice for one; the unique dedupe key
// (event, kind, channel, recipient) makes even a replayed event harmless.
// Sending happens later, in jobs: nothing here waits on SMTP or SMS.

export const TRIGGER_CURSOR = 'notifications.trigger';
export const SEND_JOB = 'notification.send';

export interface SendPayload {
  notificationId: string;
}

/** Which channels can send; a missing one logs its notifications as skipped, with why. */
export interface ChannelAvailability {
  email: string | null;
  sms: string | null;
}

type Event = Pick<
  EventsTable,
  'id' | 'account_id' | 'livemode' | 'type' | 'created' | 'data_object' | 'previous_attributes'
> & { seq: number };

interface Planned {
  kind: NotificationKind;
  audience: 'customer' | 'operators';
  /** For the customer audience: the receipt address. */
  email?: string;
  data: TemplateData;
}

// biome-ignore lint/suspicious/noExplicitAny: event objects are the API's JSON shapes.
type Obj = Record<string, any>;

export function createTrigger(deps: {
  db: Db;
  clock: Clock;
  jobs: JobStore;
  postgres: boolean;
  unavailable: ChannelAvailability;
}) {
  const { db, clock, jobs } = deps;

  /** One pass; returns how many events it consumed (a full batch means: run again). */
  async function runOnce(): Promise<{ consumed: number; enqueued: number }> {
    return db.transaction().execute(async (tx) => {
      const nowMs = clock.nowMs();
      const cursor = await lockCursor(tx, TRIGGER_CURSOR, nowMs, deps.postgres);
      const rows = await tx
        .selectFrom('events')
        .select([
          'seq',
          'id',
          'account_id',
          'livemode',
          'type',
          'created',
          'data_object',
          'previous_attributes',
        ])
        .where('seq', '>', cursor)
        .orderBy('seq')
        .limit(LIMITS.notificationTriggerBatchMax)
        .execute();
      const taken = takeUntilYoungGap(rows, cursor, nowMs, deps.postgres);
      let enqueued = 0;
      for (const event of taken) enqueued += await handle(tx, event, nowMs);
      const last = taken.at(-1);
      if (last) await advanceCursor(tx, TRIGGER_CURSOR, last.seq, nowMs);
      return { consumed: taken.length, enqueued };
    });
  }

  async function handle(tx: Tx, event: Event, nowMs: number): Promise<number> {
    const scope: Scope = { accountId: event.account_id, livemode: event.livemode === 1 };
    const planned = await plan(tx, event, scope);
    if (!planned) return 0;
    const settings = await loadSettings(tx, scope);
    const targets = recipients(planned, settings);
    let enqueued = 0;
    for (const [channel, recipient] of targets) {
      enqueued += await insert(tx, { event, scope, planned, channel, recipient, nowMs });
    }
    return enqueued;
  }

  /** What the event calls for, if anything. */
  async function plan(tx: Tx, event: Event, scope: Scope): Promise<Planned | null> {
    const obj = JSON.parse(event.data_object) as Obj;
    const livemode = scope.livemode;
    switch (event.type) {
      case 'payment_intent.succeeded':
        if (!obj.receipt_email) return null;
        return {
          kind: 'payment_receipt',
          audience: 'customer',
          email: obj.receipt_email,
          data: {
            amountMinor: obj.amount_received || obj.amount,
            currency: obj.currency,
            objectId: obj.id,
            description: obj.description ?? null,
          },
        };
      case 'refund.created':
      case 'refund.updated':
        return refundPlan(tx, event, obj, scope);
      case 'incident.created':
      case 'incident.resolved':
        return {
          kind: event.type === 'incident.created' ? 'incident_opened' : 'incident_resolved',
          audience: 'operators',
          data: { objectId: obj.id, title: obj.title, impact: obj.impact, livemode },
        };
      case 'webhook_endpoint.disabled':
        return {
          kind: 'webhook_endpoint_disabled',
          audience: 'operators',
          data: { objectId: obj.id, url: obj.url, livemode },
        };
      case 'review.opened':
      case 'radar.early_fraud_warning.created':
        return {
          kind: 'suspicious_activity',
          audience: 'operators',
          data: {
            objectId: obj.payment_intent ?? obj.charge ?? obj.id,
            title: obj.reason,
            livemode,
          },
        };
      case 'payment_intent.payment_failed':
        return spikePlan(tx, event, obj, scope);
      default:
        return null;
    }
  }

  /** A refund that succeeded now (created as succeeded, or a pending one that just did). */
  async function refundPlan(tx: Tx, event: Event, obj: Obj, scope: Scope): Promise<Planned | null> {
    if (obj.status !== 'succeeded') return null;
    if (event.type === 'refund.updated') {
      const previous = JSON.parse(event.previous_attributes ?? '{}') as Obj;
      if (previous.status === undefined) return null;
    }
    const charge = await tx
      .selectFrom('charges')
      .select('receipt_email')
      .where('id', '=', String(obj.charge ?? ''))
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    if (!charge?.receipt_email) return null;
    return {
      kind: 'refund_receipt',
      audience: 'customer',
      email: charge.receipt_email,
      data: { amountMinor: obj.amount, currency: obj.currency, objectId: obj.id },
    };
  }

  /**
   * Counts the account's failed payments in the window that ends at this
   * event; at the threshold, one alert, then none until a window has passed
   * since that alert.
   */
  async function spikePlan(tx: Tx, event: Event, obj: Obj, scope: Scope): Promise<Planned | null> {
    const settings = await loadSettings(tx, scope);
    const windowSeconds = settings.failedPaymentsWindowSeconds;
    const since = event.created - windowSeconds;
    const failed = await tx
      .selectFrom('events')
      .select('seq')
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('type', '=', 'payment_intent.payment_failed')
      .where('created', '>', since)
      .where('seq', '<=', event.seq)
      .limit(settings.failedPaymentsThreshold)
      .execute();
    if (failed.length < settings.failedPaymentsThreshold) return null;
    const recent = await tx
      .selectFrom('notifications')
      .select('id')
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('kind', '=', 'failed_payment_spike')
      .where('created', '>', since)
      .limit(1)
      .executeTakeFirst();
    if (recent) return null;
    return {
      kind: 'failed_payment_spike',
      audience: 'operators',
      data: { objectId: obj.id, count: failed.length, windowSeconds, livemode: scope.livemode },
    };
  }

  async function insert(
    tx: Tx,
    input: {
      event: Event;
      scope: Scope;
      planned: Planned;
      channel: 'email' | 'sms';
      recipient: string;
      nowMs: number;
    },
  ): Promise<number> {
    const { event, planned, channel, recipient, nowMs } = input;
    const unavailable = deps.unavailable[channel];
    const id = newId('ntf', nowMs);
    const row: NotificationsTable = {
      id,
      account_id: event.account_id,
      livemode: event.livemode,
      event_id: event.id,
      kind: planned.kind,
      channel,
      recipient,
      dedupe_key: `${event.id}:${planned.kind}:${channel}:${recipient}`,
      data: JSON.stringify(planned.data),
      status: unavailable ? 'skipped' : 'queued',
      attempts: 0,
      error: unavailable,
      provider_id: null,
      // The event's time: the spike rule compares alerts with event windows.
      created: event.created,
      created_ms: nowMs,
      sent_ms: null,
    };
    const inserted = await tx
      .insertInto('notifications')
      .values(row)
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .returning('id')
      .execute();
    if (inserted.length === 0 || unavailable) return 0;
    const payload: SendPayload = { notificationId: id };
    await jobs.enqueue(tx, [{ kind: SEND_JOB, ref: id, payload }]);
    return 1;
  }

  return { runOnce };
}

/** (channel, recipient) pairs: the receipt address, or every operator address and phone. */
function recipients(planned: Planned, settings: NotificationSettings): ['email' | 'sms', string][] {
  if (planned.audience === 'customer') {
    return settings.receiptsEnabled && planned.email ? [['email', planned.email]] : [];
  }
  return [
    ...settings.operatorEmails.map((e): ['email', string] => ['email', e]),
    ...settings.operatorPhones.map((p): ['sms', string] => ['sms', p]),
  ];
}
