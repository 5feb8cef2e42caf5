import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Tx, toJson } from '../db/database.ts';
import type { WebhookEndpointsTable } from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import type { JobStore, NewJob } from '../jobs/store.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { type EnvelopeCipher, Secret } from '../lib/crypto.ts';
import { ApiError, invalidParam, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { eventMatches } from './matching.ts';
import type { DeliveryListInput, EndpointCreateInput, EndpointUpdateInput } from './schemas.ts';
import { newWebhookSecret } from './signature.ts';
import { privateAddressReason } from './ssrf.ts';

// Webhook endpoints: CRUD, secret roll, resend and replay. Deliveries
// themselves are jobs (see delivery.ts); this module only enqueues them.

export const DELIVER_JOB = 'webhook.deliver';

export interface DeliverPayload {
  endpointId: string;
  eventId: string;
}

export function deliverJob(endpointId: string, eventId: string, runAtMs?: number): NewJob {
  const payload: DeliverPayload = { endpointId, eventId };
  return { kind: DELIVER_JOB, ref: eventId, payload, ...(runAtMs ? { runAtMs } : {}) };
}

const secretAad = (id: string) => `webhook_endpoint:${id}`;
const previousSecretAad = (id: string) => `webhook_endpoint:${id}:previous`;

export function createWebhooksService(deps: {
  db: Db;
  clock: Clock;
  cipher: EnvelopeCipher;
  jobs: JobStore;
  allowPrivateUrls: boolean;
  onEnqueued?: () => void;
}) {
  const { db, clock, cipher, jobs } = deps;

  /** Live mode refuses URLs on this machine or its private network (SSRF). */
  async function checkUrl(scope: Scope, url: string): Promise<void> {
    if (!scope.livemode || deps.allowPrivateUrls) return;
    const reason = await privateAddressReason(new URL(url));
    if (reason) throw invalidParam('url', `Invalid webhook URL in live mode: ${reason}.`);
  }

  async function find(ex: Db | Tx | undefined, scope: Scope, id: string) {
    const row = await (ex ?? db)
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0)
      .executeTakeFirst();
    if (!row) throw notFound('webhook_endpoint', id);
    return row;
  }

  async function create(ctx: OpContext, input: EndpointCreateInput) {
    await checkUrl(ctx.scope, input.url);
    const id = newId('we', clock.nowMs());
    const secret = newWebhookSecret();
    const row: WebhookEndpointsTable = {
      id,
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      url: input.url,
      description: input.description ?? null,
      enabled_events: toJson(input.enabled_events),
      metadata: toJson(mergeMetadata({}, input.metadata)),
      status: 'enabled',
      secret_enc: cipher.encrypt(new Secret(secret), secretAad(id)),
      previous_secret_enc: null,
      previous_secret_expires_ms: null,
      failing_since_ms: null,
      disabled_reason: null,
      deleted: 0,
      created: unixSeconds(clock),
    };
    return db.transaction().execute(async (tx) => {
      const count = await tx
        .selectFrom('webhook_endpoints')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', ctx.scope.accountId)
        .where('livemode', '=', livemodeFlag(ctx.scope))
        .where('deleted', '=', 0)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= LIMITS.webhookEndpointsMax) {
        throw invalidParam(
          'url',
          `An account can have at most ${LIMITS.webhookEndpointsMax} webhook endpoints per mode.`,
        );
      }
      await tx.insertInto('webhook_endpoints').values(row).execute();
      const result = { row, secret };
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function update(ctx: OpContext, id: string, input: EndpointUpdateInput) {
    if (input.url !== undefined) await checkUrl(ctx.scope, input.url);
    if (input.disabled !== undefined && input.status !== undefined) {
      throw new ApiError('parameters_exclusive', 'Pass either `disabled` or `status`, not both.', {
        param: 'status',
      });
    }
    const wanted =
      input.status ??
      (input.disabled === undefined ? undefined : input.disabled ? 'disabled' : 'enabled');
    let replaySinceSeconds: number | null = null;
    const after = await db.transaction().execute(async (tx) => {
      const before = await find(tx, ctx.scope, id);
      const next: WebhookEndpointsTable = {
        ...before,
        url: input.url ?? before.url,
        description: input.description !== undefined ? input.description : before.description,
        enabled_events: input.enabled_events ? toJson(input.enabled_events) : before.enabled_events,
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
      };
      if (wanted === 'disabled' && before.status === 'enabled') {
        next.status = 'disabled';
        next.disabled_reason = 'manual';
      } else if (wanted === 'enabled' && before.status === 'disabled') {
        // Re-enabling an endpoint that was disabled for failing replays what it
        // missed: every matching event since it started failing.
        if (before.disabled_reason === 'failing' && before.failing_since_ms !== null) {
          replaySinceSeconds = Math.floor(before.failing_since_ms / 1000);
        }
        next.status = 'enabled';
        next.disabled_reason = null;
        next.failing_since_ms = null;
      }
      await tx.updateTable('webhook_endpoints').set(next).where('id', '=', id).execute();
      if (replaySinceSeconds !== null) await enqueueSince(tx, next, replaySinceSeconds);
      await ctx.complete(tx, next);
      return next;
    });
    if (replaySinceSeconds !== null) deps.onEnqueued?.();
    return after;
  }

  async function remove(ctx: OpContext, id: string) {
    return db.transaction().execute(async (tx) => {
      await find(tx, ctx.scope, id);
      await tx
        .updateTable('webhook_endpoints')
        .set({ deleted: 1, status: 'disabled' })
        .where('id', '=', id)
        .execute();
      const result = { id, object: 'webhook_endpoint' as const, deleted: true as const };
      await ctx.complete(tx, result);
      return result;
    });
  }

  /** A new secret; the previous one keeps signing for `expiresInSeconds`. */
  async function rollSecret(ctx: OpContext, id: string, expiresInSeconds: number | undefined) {
    const overlapSeconds = expiresInSeconds ?? LIMITS.webhookRollOverlapSecondsDefault;
    const secret = newWebhookSecret();
    return db.transaction().execute(async (tx) => {
      const before = await find(tx, ctx.scope, id);
      const current = cipher.decrypt(before.secret_enc, secretAad(id));
      const next: WebhookEndpointsTable = {
        ...before,
        secret_enc: cipher.encrypt(new Secret(secret), secretAad(id)),
        previous_secret_enc:
          overlapSeconds > 0 ? cipher.encrypt(current, previousSecretAad(id)) : null,
        previous_secret_expires_ms:
          overlapSeconds > 0 ? clock.nowMs() + overlapSeconds * 1000 : null,
      };
      await tx.updateTable('webhook_endpoints').set(next).where('id', '=', id).execute();
      const result = { row: next, secret };
      await ctx.complete(tx, result);
      return result;
    });
  }

  /** The secrets that sign a delivery now: the current one, and the previous during a roll. */
  function signingSecrets(row: WebhookEndpointsTable, nowMs: number): string[] {
    const secrets = [cipher.decrypt(row.secret_enc, secretAad(row.id)).reveal()];
    if (row.previous_secret_enc && (row.previous_secret_expires_ms ?? 0) > nowMs) {
      secrets.push(cipher.decrypt(row.previous_secret_enc, previousSecretAad(row.id)).reveal());
    }
    return secrets;
  }

  async function resend(ctx: OpContext, id: string, eventId: string) {
    const endpoint = await find(db, ctx.scope, id);
    const event = await db
      .selectFrom('events')
      .select(['id', 'type'])
      .where('id', '=', eventId)
      .where('account_id', '=', ctx.scope.accountId)
      .where('livemode', '=', livemodeFlag(ctx.scope))
      .executeTakeFirst();
    if (!event) throw notFound('event', eventId, 'event');
    await jobs.enqueue(db, [deliverJob(endpoint.id, event.id)]);
    deps.onEnqueued?.();
    return { object: 'webhook_endpoint.resend', webhook_endpoint: id, event: eventId, enqueued: 1 };
  }

  async function replay(ctx: OpContext, id: string, sinceSeconds: number) {
    const enqueued = await db.transaction().execute(async (tx) => {
      const endpoint = await find(tx, ctx.scope, id);
      return enqueueSince(tx, endpoint, sinceSeconds);
    });
    deps.onEnqueued?.();
    return {
      object: 'webhook_endpoint.replay',
      webhook_endpoint: id,
      since: sinceSeconds,
      enqueued,
    };
  }

  /** Enqueues every matching event created at or after `sinceSeconds`, oldest first, bounded. */
  async function enqueueSince(tx: Tx, endpoint: WebhookEndpointsTable, sinceSeconds: number) {
    const patterns = JSON.parse(endpoint.enabled_events) as string[];
    const events = await tx
      .selectFrom('events')
      .select(['id', 'type'])
      .where('account_id', '=', endpoint.account_id)
      .where('livemode', '=', endpoint.livemode)
      .where('created', '>=', sinceSeconds)
      .orderBy('seq')
      .limit(LIMITS.webhookReplayEventsMax)
      .execute();
    const matching = events.filter((e) => eventMatches(patterns, e.type));
    await jobs.enqueue(
      tx,
      matching.map((e) => deliverJob(endpoint.id, e.id)),
    );
    return matching.length;
  }

  async function listEndpoints(scope: Scope, filters: DeliveryListInput) {
    const query = db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0);
    return paginate(query, filters);
  }

  async function listDeliveries(scope: Scope, id: string, filters: DeliveryListInput) {
    await find(db, scope, id);
    let query = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', id);
    if (filters.event !== undefined) query = query.where('event_id', '=', filters.event);
    return paginate(query, filters);
  }

  return {
    find,
    create,
    update,
    remove,
    rollSecret,
    signingSecrets,
    resend,
    replay,
    listEndpoints,
    listDeliveries,
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
