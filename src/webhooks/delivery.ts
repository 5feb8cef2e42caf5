import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
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
import {
  isPrivateAddress,
  PrivateAddressError,
  publicOnlyLookup,
  type Resolver,
  systemResolver,
  urlHost,
} from './ssrf.ts';

// One delivery attempt: sign the event, POST it (timeout, no redirects, in
// live mode only to the public addresses its own DNS lookup checked),
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

const USER_AGENT = 'Payrail/1.0 (+https://docs.payrail.dev/webhooks)';

export interface PostInput {
  url: string;
  body: string;
  signature: string;
  timeoutMs: number;
  /**
   * Set (live mode without PAYRAIL_WEBHOOK_ALLOW_PRIVATE_URLS): the socket
   * connects only to addresses of the host that this resolver returned and
   * that are all public (ssrf.ts publicOnlyLookup); null: any address.
   */
  publicOnly: Resolver | null;
}

const failed = (error: string): PostResult => ({ ok: false, status: null, body: null, error });

/**
 * One POST with node:http(s): never follows a redirect, reads at most
 * LIMITS.webhookResponseBodyMax characters of the answer, and gives up after
 * `timeoutMs` (DNS, connect, answer and body together). `agent: false` makes
 * a fresh connection each time, so a request checked by publicOnlyLookup never
 * reuses a pooled socket that was connected without the check.
 */
export function postWebhook(input: PostInput): Promise<PostResult> {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return Promise.resolve(failed('the endpoint URL is not valid'));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve(failed(`refused: ${url.protocol} URLs are not delivered to`));
  }
  const host = urlHost(url);
  // Node skips `lookup` for an IP literal: check it here.
  if (input.publicOnly && net.isIP(host) && isPrivateAddress(host)) {
    return Promise.resolve(
      failed(`refused: the host ${host} is a private, loopback or link-local address`),
    );
  }
  const signal = AbortSignal.timeout(input.timeoutMs);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const settle = (result: PostResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        agent: false,
        signal,
        ...(input.publicOnly ? { lookup: publicOnlyLookup(input.publicOnly) } : {}),
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(input.body),
          'stripe-signature': input.signature,
          'user-agent': USER_AGENT,
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        const error = status >= 300 && status < 400 ? 'redirect not followed' : null;
        const decoder = new TextDecoder();
        let text = '';
        const finish = () => {
          text += decoder.decode();
          settle({ ok, status, body: text.slice(0, LIMITS.webhookResponseBodyMax), error });
        };
        response.on('data', (chunk: Buffer) => {
          text += decoder.decode(chunk, { stream: true });
          if (text.length >= LIMITS.webhookResponseBodyMax) {
            finish();
            response.destroy();
          }
        });
        response.on('end', finish);
        // An answer cut short after its status line still counts by its status.
        response.on('error', finish);
        response.on('close', finish);
      },
    );
    request.on('error', (error: Error & { code?: string }) => {
      if (error instanceof PrivateAddressError) return settle(failed(`refused: ${error.message}`));
      if (signal.aborted) return settle(failed(`timed out after ${input.timeoutMs} ms`));
      settle(failed(error.message || error.code || 'connection failed'));
    });
    request.end(input.body);
  });
}

export function createDelivery(deps: {
  db: Db;
  clock: Clock;
  jobs: JobStore;
  events: EventsService;
  service: WebhooksService;
  logger: Logger;
  settings: DeliverySettings;
  /** How live-mode deliveries resolve endpoint hosts (tests inject one); default getaddrinfo. */
  resolve?: Resolver;
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
    const signature = signatureHeader({
      payload: body,
      secrets: deps.service.signingSecrets(endpoint, nowMs),
      timestampSeconds: Math.floor(nowMs / 1000),
    });
    // Live mode: the address checked is the address connected to (no DNS rebinding).
    const guarded = endpoint.livemode === 1 && !settings.allowPrivateUrls;
    return postWebhook({
      url: endpoint.url,
      body,
      signature,
      timeoutMs: settings.timeoutMs,
      publicOnly: guarded ? (deps.resolve ?? systemResolver) : null,
    });
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
