#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
// The load generator: a separate process, so that it never shares an event
// loop with the engine or the driver. It keeps `concurrency` requests in
// flight (one keep-alive connection each) against one or more targets in
// round robin for `durationMs`, and prints one JSON line with the results.
//
// Usage: node bench/loadgen.mjs '<json options>'
//   { targets: [url...], key, concurrency, durationMs, warmupMs, mode: 'create' | 'mix' }
// 'create': create-and-confirm card payments (automatic capture).
// 'mix': 40 % create-and-confirm, 15 % manual capture then capture, 15 % refunds,
//        20 % retrieves, 10 % lists.
import http from 'node:http';

const options = JSON.parse(process.argv[2] ?? '{}');
const REQUEST_TIMEOUT_MS = 10_000;
const CREATE_BODY = 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true';
const MANUAL_BODY = `${CREATE_BODY}&capture_method=manual`;
const runId = randomBytes(4).toString('hex');
let keySeq = 0;

const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
const targets = options.targets.map((t) => new URL(t));
let targetSeq = 0;

function request(method, path, body) {
  const target = targets[targetSeq++ % targets.length];
  const headers = { authorization: `Bearer ${options.key}` };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = Buffer.byteLength(body);
    headers['idempotency-key'] = `bench-${runId}-${keySeq++}`;
  }
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request(
      { host: target.hostname, port: target.port, method, path, headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - started;
          let json = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            // counted as an error below when the status is not 2xx
          }
          resolve({ status: res.statusCode, ms, json });
        });
        res.on('error', () => resolve({ status: 0, ms: performance.now() - started, json: null }));
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started, json: null }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const stats = { ops: 0, payments: 0, errors: 0, latencies: [], statuses: {}, firstError: null };
let measuring = false;

function record(result, { payment = false } = {}) {
  if (!measuring) return;
  stats.ops += 1;
  stats.latencies.push(result.ms);
  const ok = result.status >= 200 && result.status < 300;
  if (!ok) {
    stats.errors += 1;
    stats.statuses[result.status] = (stats.statuses[result.status] ?? 0) + 1;
    stats.firstError ??= { status: result.status, body: result.json };
  } else if (payment) stats.payments += 1;
}

async function createOp(paid) {
  const r = await request('POST', '/v1/payment_intents', CREATE_BODY);
  record(r, { payment: true });
  if (r.json?.id && paid.length < 1000) paid.push(r.json.id);
}

async function mixOp(paid) {
  const roll = Math.random();
  if (roll < 0.4 || paid.length === 0) return createOp(paid);
  if (roll < 0.55) {
    const r = await request('POST', '/v1/payment_intents', MANUAL_BODY);
    record(r, { payment: true });
    if (!r.json?.id) return;
    record(await request('POST', `/v1/payment_intents/${r.json.id}/capture`, ''));
    return;
  }
  if (roll < 0.7) {
    // Each payment is refunded at most once: taken off the list.
    const id = paid.pop();
    record(await request('POST', '/v1/refunds', `payment_intent=${id}&amount=500`));
    return;
  }
  const id = paid[Math.floor(Math.random() * paid.length)];
  if (roll < 0.9) record(await request('GET', `/v1/payment_intents/${id}`));
  else record(await request('GET', '/v1/payment_intents?limit=10'));
}

async function worker(deadline) {
  const paid = [];
  const op = options.mode === 'mix' ? mixOp : createOp;
  while (performance.now() < deadline) await op(paid);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const warmupMs = options.warmupMs ?? 0;
const start = performance.now();
const deadline = start + warmupMs + options.durationMs;
setTimeout(() => {
  measuring = true;
}, warmupMs);
await Promise.all(Array.from({ length: options.concurrency }, () => worker(deadline)));
const seconds = options.durationMs / 1000;
const sorted = Float64Array.from(stats.latencies).sort();
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    ops: stats.ops,
    payments: stats.payments,
    errors: stats.errors,
    statuses: stats.statuses,
    firstError: stats.firstError,
    opsPerSec: stats.ops / seconds,
    paymentsPerSec: stats.payments / seconds,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
  })}\n`,
);
