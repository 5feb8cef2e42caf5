import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { randomToken } from '../src/lib/ids.ts';
import { createPgDatabase, stripeClient, testDialect } from './helpers/engine.ts';
import { type EngineProcess, spawnEngine } from './helpers/process.ts';

// Two real engine processes on one PostgreSQL database share webhook
// delivery. One is killed with SIGKILL mid-way. Every event must still be
// delivered, and no delivery job may ever be in flight in two processes at
// once: the receiver tracks, per event, the requests open at the same moment
// (a request ends when it is answered or its connection drops, which is what
// a killed sender does), and the deliveries table must show distinct attempt
// numbers per job.

const EVENTS = 50;

interface Arrival {
  eventId: string;
  startMs: number;
  endMs: number | null;
}

async function overlapReceiver(delayMs: number) {
  const arrivals: Arrival[] = [];
  const open = new Map<string, number>();
  let overlaps = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const eventId = (JSON.parse(body) as { id: string }).id;
      const arrival: Arrival = { eventId, startMs: Date.now(), endMs: null };
      arrivals.push(arrival);
      const now = (open.get(eventId) ?? 0) + 1;
      if (now > 1) overlaps += 1;
      open.set(eventId, now);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        arrival.endMs = Date.now();
        open.set(eventId, (open.get(eventId) ?? 1) - 1);
      };
      res.on('close', end);
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(200).end('{"received":true}');
        end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    overlaps: () => overlaps,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('two engine processes share webhook delivery on PostgreSQL, no job runs twice at once', {
  skip: testDialect() !== 'postgres' && 'PostgreSQL only: on SQLite one process owns the data',
}, async () => {
  const dataDirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-whmp-')));
  const pgDb = await createPgDatabase();
  const secretKey = `sk_test_${randomToken(28)}`;
  const masterKey = randomBytes(32).toString('hex');
  const envFor = (dataDir: string) => ({
    PAYRAIL_DATA_DIR: dataDir,
    PAYRAIL_SECRET_KEY: secretKey,
    // One key for both: each process must decrypt the endpoint's signing secret.
    PAYRAIL_MASTER_KEY: masterKey,
    PAYRAIL_WEBHOOK_RETRY_BASE_MS: '100',
    DATABASE_URL: pgDb.url,
  });
  const receiver = await overlapReceiver(120);
  const watcher = new pg.Client({ connectionString: pgDb.url });
  const engines: EngineProcess[] = [];
  const lessees = new Set<string>();
  let watching = true;
  try {
    engines.push(await spawnEngine(envFor(dataDirs[0] ?? '')));
    engines.push(await spawnEngine(envFor(dataDirs[1] ?? '')));
    const [a, b] = engines as [EngineProcess, EngineProcess];
    const stripeA = stripeClient(secretKey, a.port);
    const stripeB = stripeClient(secretKey, b.port);
    await stripeA.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['customer.created'],
    });
    // Which processes hold delivery leases: proof that both take work.
    await watcher.connect();
    const watch = (async () => {
      while (watching) {
        const r = await watcher.query<{ locked_by: string }>(
          "select distinct locked_by from jobs where kind like 'webhook%' and locked_by is not null",
        );
        for (const row of r.rows) lessees.add(row.locked_by);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    for (let i = 0; i < EVENTS; i += 1) {
      await (i % 2 === 0 ? stripeA : stripeB).customers.create({ name: `mp ${i}` });
    }
    await waitFor(() => receiver.arrivals.length >= 15 && lessees.size >= 2, 30_000);
    await a.kill('SIGKILL');
    const deliveredBeforeKill = new Set(receiver.arrivals.map((x) => x.eventId)).size;
    assert.ok(deliveredBeforeKill < EVENTS, 'the kill landed before everything was delivered');

    const events = await stripeB.events.list({ type: 'customer.created', limit: 100 });
    assert.equal(events.data.length, EVENTS);
    const expected = events.data.map((e) => e.id);
    await waitFor(() => {
      const got = new Set(receiver.arrivals.filter((x) => x.endMs !== null).map((x) => x.eventId));
      return expected.every((id) => got.has(id));
    }, 60_000);
    watching = false;
    await watch;

    assert.ok(lessees.size >= 2, `both processes held delivery leases: ${[...lessees]}`);
    assert.equal(receiver.overlaps(), 0, 'one event was in flight from two senders at once');
    const rows = await watcher.query<{ job_id: string; attempt: number }>(
      'select job_id, attempt from webhook_deliveries',
    );
    const seen = new Set<string>();
    for (const row of rows.rows) {
      const key = `${row.job_id}#${row.attempt}`;
      assert.ok(!seen.has(key), `attempt ${row.attempt} of ${row.job_id} recorded twice`);
      seen.add(key);
    }
    // One job per event and endpoint: the fan-out in two processes never doubled one.
    const jobs = await watcher.query<{ ref: string; n: string }>(
      "select ref, count(*) as n from jobs where kind like 'webhook%' group by ref having count(*) > 1",
    );
    assert.deepEqual(jobs.rows, []);
  } finally {
    watching = false;
    for (const engine of engines) await engine.kill('SIGKILL');
    await watcher.end().catch(() => {});
    await receiver.close();
    await pgDb.drop();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
