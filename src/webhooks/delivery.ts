import { internalContext, livemodeFlag } from '../db/context.ts';
import type { Db, Tx } from '../db/database.ts';
import type { WebhookEndpointsTable } from '../db/schema.ts';
import { type EventsService, serializeEvent } from '../events/service.ts';
import type { ClaimedJob, JobStore } from '../jobs/store.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { serializeEndpoint } from './serialize.ts';
import type { DeliverPayload, WebhooksService } from './service.ts';
import { signatureHeader } from './signature.ts';
import { privateAddressReason } from './ssrf.ts';

// One delivery attempt: sign the event, POST it (timeout, no redirects),
// record the attempt, then finish the job or schedule the next try with
// exponential backoff and jitter, inside the retry window. An endpoint that
// has failed continuously for longer than `disableAfterMs` is disabled.

export interface DeliverySettings {
  timeoutMs: number;
  retryBaseMs: number;
  retryWindowMs: number;
  disableAfterMs: number;
  allowPrivateUrls: boolean;
}

interface PostResult {
  ok: boolean;
  status: number | null;
  body: string | null;
  error: string | null;
}

/** Full-jitter-ish backoff: half the exponential delay, plus up to that again at random. */
export function retryDelayMs(attempt: number, baseMs: number, random = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const delay = Math.min(LIMITS.webhookRetryDelayMaxMs, baseMs * 2 ** exponent);
  return Math.round(delay / 2 + (random() * delay) / 2);
}

async function readBounded(response: Response, maxChars: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  while (text.length < maxChars) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel().catch(() => {});
  return text.slice(0, maxChars);
}

async function post(url: string, body: string, signature: string, timeoutMs: number) {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': signature,
        'user-agent': 'Payrail/1.0 (+https://docs.payrail.dev/webhooks)',
      },
      body,
    });
    const text = await readBounded(response, LIMITS.webhookResponseBodyMax);
    const ok = response.status >= 200 && response.status < 300;
    const error = ok
      ? null
      : response.status >= 300 && response.status < 400
        ? 'redirect not followed'
        : null;
    return { ok, status: response.status, body: text, error } satisfies PostResult;
  } catch (err) {
    const message = signal.aborted ? `timed out after ${timeoutMs} ms` : (err as Error).message;
    return { ok: false, status: null, body: null, error: message } satisfies PostResult;
  }
}

export function createDelivery(deps: {
  db: Db;
  clock: Clock;
  jobs: JobStore;
  events: EventsService;
  service: WebhooksService;
  logger: Logger;
  settings: DeliverySettings;
}) {
  const { db, clock, jobs, settings } = deps;
  const inFlightByEndpoint = new Map<string, number>();

  async function run(job: ClaimedJob): Promise<void> {
    const payload = JSON.parse(job.payload) as DeliverPayload;
    const busy = inFlightByEndpoint.get(payload.endpointId) ?? 0;
    if (busy >= LIMITS.webhookInFlightPerEndpointMax) {
      await jobs.release(job, clock.nowMs() + LIMITS.webhookEndpointBusyDelayMs);
      return;
    }
    inFlightByEndpoint.set(payload.endpointId, busy + 1);
    try {
      await runClaimed(job, payload);
    } finally {
      const left = (inFlightByEndpoint.get(payload.endpointId) ?? 1) - 1;
      if (left > 0) inFlightByEndpoint.set(payload.endpointId, left);
      else inFlightByEndpoint.delete(payload.endpointId);
    }
  }

  async function runClaimed(job: ClaimedJob, payload: DeliverPayload): Promise<void> {
    const endpoint = await db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', payload.endpointId)
      .executeTakeFirst();
    // A disabled endpoint gets nothing; re-enabling after a failure replays.
    if (!endpoint || endpoint.deleted === 1 || endpoint.status !== 'enabled') {
      await jobs.finish(db, job, { status: 'canceled', error: 'endpoint disabled or deleted' });
      return;
    }
    const event = await db
      .selectFrom('events')
      .selectAll()
      .where('id', '=', payload.eventId)
      .executeTakeFirst();
    if (!event) {
      await jobs.finish(db, job, { status: 'dead', error: 'event not found' });
      return;
    }
    const pending = await db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('ref', '=', event.id)
      .where('status', '=', 'queued')
      .executeTakeFirstOrThrow();
    const body = JSON.stringify(
      { ...serializeEvent(event), pending_webhooks: Number(pending.n) },
      null,
      2,
    );
    const startedMs = clock.nowMs();
    const result = await attempt(endpoint, body, startedMs);
    await record(job, endpoint, event.type, result, clock.nowMs() - startedMs);
  }

  async function attempt(endpoint: WebhookEndpointsTable, body: string, nowMs: number) {
    if (endpoint.livemode === 1 && !settings.allowPrivateUrls) {
      const reason = await privateAddressReason(new URL(endpoint.url));
      if (reason) return { ok: false, status: null, body: null, error: `refused: ${reason}` };
    }
    const signature = signatureHeader({
      payload: body,
      secrets: deps.service.signingSecrets(endpoint, nowMs),
      timestampSeconds: Math.floor(nowMs / 1000),
    });
    return post(endpoint.url, body, signature, settings.timeoutMs);
  }

  async function record(
    job: ClaimedJob,
    endpoint: WebhookEndpointsTable,
    eventType: string,
    result: PostResult,
    durationMs: number,
  ): Promise<void> {
    const nowMs = clock.nowMs();
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('webhook_deliveries')
        .values({
          id: newId('whd', nowMs),
          account_id: endpoint.account_id,
          livemode: endpoint.livemode,
          endpoint_id: endpoint.id,
          event_id: JSON.parse(job.payload).eventId,
          event_type: eventType,
          job_id: job.id,
          attempt: job.attempts,
          status: result.ok ? 'succeeded' : 'failed',
          response_status: result.status,
          response_body: result.body,
          error: result.error,
          duration_ms: Math.max(0, Math.round(durationMs)),
          created: Math.floor(nowMs / 1000),
        })
        .execute();
      if (result.ok) {
        await jobs.finish(tx, job, { status: 'done' });
        await tx
          .updateTable('webhook_endpoints')
          .set({ failing_since_ms: null })
          .where('id', '=', endpoint.id)
          .where('failing_since_ms', 'is not', null)
          .execute();
        return;
      }
      const error = result.error ?? `HTTP ${result.status}`;
      const runAtMs = nowMs + retryDelayMs(job.attempts, settings.retryBaseMs);
      const expired = runAtMs > job.created_ms + settings.retryWindowMs;
      await jobs.finish(
        tx,
        job,
        expired ? { status: 'dead', error } : { status: 'retry', runAtMs, error },
      );
      await noteFailure(tx, endpoint.id, nowMs);
    });
  }

  /** Starts or extends the endpoint's failing period; disables it past the limit. */
  async function noteFailure(tx: Tx, endpointId: string, nowMs: number): Promise<void> {
    await tx
      .updateTable('webhook_endpoints')
      .set({ failing_since_ms: nowMs })
      .where('id', '=', endpointId)
      .where('failing_since_ms', 'is', null)
      .execute();
    const row = await tx
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', endpointId)
      .executeTakeFirstOrThrow();
    const failingMs = nowMs - (row.failing_since_ms ?? nowMs);
    if (row.status !== 'enabled' || failingMs < settings.disableAfterMs) return;
    const disabled: WebhookEndpointsTable = {
      ...row,
      status: 'disabled',
      disabled_reason: 'failing',
    };
    await tx
      .updateTable('webhook_endpoints')
      .set({ status: 'disabled', disabled_reason: 'failing' })
      .where('id', '=', endpointId)
      .execute();
    const scope = { accountId: row.account_id, livemode: row.livemode === 1 };
    await deps.events.record(tx, internalContext(scope), [
      { type: 'webhook_endpoint.disabled', object: serializeEndpoint(disabled) },
    ]);
    // Notifying the account's operators (email) comes with notifications/; the event and this log are the signal.
    deps.logger.warn(
      { endpointId, url: row.url, failingMs, livemode: livemodeFlag(scope) },
      'webhook endpoint disabled after failing continuously',
    );
  }

  return { run };
}
