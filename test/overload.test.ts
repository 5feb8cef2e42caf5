import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { randomToken } from '../src/lib/ids.ts';
import { startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

// Overload: a small in-flight limit and a slow sandbox processor make capacity
// easy to exceed. Beyond it the engine must shed with 503 overloaded and
// Retry-After (never a 500, never a hang), a shed request must have changed
// nothing, memory must stay bounded, and the engine must recover by itself.

const MAX_INFLIGHT = 8;
const SANDBOX_LATENCY_MS = 100;
/** Retries run this many at a time: below the limit, so none is shed again. */
const RETRY_WORKERS = MAX_INFLIGHT / 2;
const BURST = 200;
const REQUEST_TIMEOUT_MS = 20_000;
/** Generous: 200 small requests must not grow a process by anything like this. */
const RSS_GROWTH_MAX_BYTES = 150 * 1024 * 1024;

interface Answer {
  key: string;
  status: number;
  retryAfter: string | null;
  body: any;
}

async function createAndConfirm(t: TestEngine, key: string): Promise<Answer> {
  const response = await fetch(`${t.url}/v1/payment_intents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${t.secretKey}`,
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': key,
    },
    body: 'amount=1500&currency=usd&payment_method=pm_card_visa&confirm=true',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = await response.json();
  return { key, status: response.status, retryAfter: response.headers.get('retry-after'), body };
}

describe('overload: load shedding', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine({
      env: {
        PAYRAIL_MAX_INFLIGHT: String(MAX_INFLIGHT),
        PAYRAIL_SANDBOX_LATENCY_MS: String(SANDBOX_LATENCY_MS),
      },
    });
  });
  after(async () => t?.close());

  test('sheds beyond capacity with 503 + Retry-After, changes nothing, recovers', async () => {
    const rssBefore = process.memoryUsage().rss;
    const keys = Array.from({ length: BURST }, () => `overload-${randomToken(16)}`);
    const answers = await Promise.all(keys.map((key) => createAndConfirm(t, key)));
    const rssAfter = process.memoryUsage().rss;

    const shed = answers.filter((a) => a.status === 503);
    const served = answers.filter((a) => a.status === 200);
    for (const a of answers) {
      assert.ok([200, 503].includes(a.status), `unexpected ${a.status}: ${JSON.stringify(a.body)}`);
    }
    for (const a of served) assert.equal(a.body.status, 'succeeded');
    for (const a of shed) {
      assert.equal(a.retryAfter, '1');
      assert.equal(a.body.error.code, 'overloaded');
      assert.equal(a.body.error.type, 'api_error');
      assert.match(a.body.error.message, /Retry-After/);
    }
    assert.ok(shed.length > 0, 'nothing was shed: the limit did not apply');
    assert.ok(served.length >= MAX_INFLIGHT, `only ${served.length} served`);
    assert.ok(
      rssAfter - rssBefore < RSS_GROWTH_MAX_BYTES,
      `RSS grew by ${rssAfter - rssBefore} bytes`,
    );

    // Every shed request changed nothing: only the served ones exist now.
    assert.equal((await tableCounts(t)).payment_intents, served.length);

    // The load dropped: retried below the limit with their own keys, the shed
    // requests succeed exactly once each, and the served ones replay.
    const queue = [...shed];
    const retryWorker = async () => {
      for (let a = queue.pop(); a; a = queue.pop()) {
        const retry = await createAndConfirm(t, a.key);
        assert.equal(retry.status, 200, JSON.stringify(retry.body));
        assert.equal(retry.body.status, 'succeeded');
      }
    };
    await Promise.all(Array.from({ length: RETRY_WORKERS }, retryWorker));
    const replay = served[0];
    assert.ok(replay);
    const again = await createAndConfirm(t, replay.key);
    assert.equal(again.body.id, replay.body.id);
    assert.equal((await tableCounts(t)).payment_intents, BURST);

    // Liveness is never shed.
    const health = await fetch(`${t.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(health.status, 200);
  });

  test('health and metrics answer while the process is saturated', async () => {
    const slow = Array.from({ length: MAX_INFLIGHT * 3 }, () =>
      createAndConfirm(t, `sat-${randomToken(16)}`),
    );
    // Let the burst occupy every slot, then probe.
    await new Promise((r) => setTimeout(r, SANDBOX_LATENCY_MS / 4));
    const [health, metrics] = await Promise.all([
      fetch(`${t.url}/healthz`, { signal: AbortSignal.timeout(5000) }),
      fetch(`${t.url}/metrics`, { signal: AbortSignal.timeout(5000) }),
    ]);
    const answers = await Promise.all(slow);
    assert.ok(
      answers.some((a) => a.status === 503),
      'the burst should have been shed in part',
    );
    assert.equal(health.status, 200);
    assert.notEqual(metrics.status, 503);
  });
});
