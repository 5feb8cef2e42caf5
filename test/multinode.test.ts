import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../src/db/database.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { randomToken } from '../src/lib/ids.ts';
import { createPgDatabase, testDialect } from './helpers/engine.ts';
import { type EngineProcess, spawnEngine } from './helpers/process.ts';

// Two engine processes on one PostgreSQL database take payments together; one
// is killed with SIGKILL in the middle of the load. A client that loses its
// connection retries on the other process with the same Idempotency-Key, as a
// load balancer would. The survivor must finish what the dead one left (its
// in-flight keys and attempts, through recovery and the advisory-lock liveness
// check), and in the end: one payment per key, none stuck, charged once each,
// and the books verify. Bounded: 300 requests, 16 connections.

const REQUESTS_MAX = 300;
const CONCURRENCY = 16;
const RETRY_ROUNDS_MAX = 300;

interface Sent {
  key: string;
  body: string;
  amount: number;
  id?: string;
}

async function post(url: string, key: string, idem: string, body: string) {
  const response = await fetch(`${url}/v1/payment_intents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': idem,
    },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

test('two engines on PostgreSQL: one is killed mid-load, the other finishes its work', {
  skip: testDialect() !== 'postgres' ? 'needs PostgreSQL (several processes share it)' : false,
  timeout: 150_000,
}, async () => {
  const pgDb = await createPgDatabase();
  const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-multinode-')));
  const secretKey = `sk_test_${randomToken(28)}`;
  const shared = {
    DATABASE_URL: pgDb.url,
    PAYRAIL_SECRET_KEY: secretKey,
    PAYRAIL_MASTER_KEY: randomBytes(32).toString('hex'),
  };
  const engines: EngineProcess[] = [];
  try {
    engines.push(await spawnEngine({ ...shared, PAYRAIL_DATA_DIR: dirs[0]! }));
    engines.push(await spawnEngine({ ...shared, PAYRAIL_DATA_DIR: dirs[1]! }));
    const [a, b] = engines as [EngineProcess, EngineProcess];
    let aDead = false;
    let next = 0;
    let acksOnA = 0;
    const sent: Sent[] = [];
    const worker = async (w: number) => {
      while (next < REQUESTS_MAX) {
        const i = next++;
        const amount = 100 + i;
        const item: Sent = {
          key: `multinode-${i}`,
          amount,
          body: `amount=${amount}&currency=usd&payment_method=pm_card_visa&confirm=true`,
        };
        sent.push(item);
        const target = w % 2 === 0 && !aDead ? a : b;
        try {
          const r = await post(target.url, secretKey, item.key, item.body);
          if (r.status === 200) {
            item.id = r.json.id;
            if (target === a) acksOnA += 1;
          }
        } catch {
          // The connection died with engine A: the retry phase sends it to B.
        }
      }
    };
    const killer = (async () => {
      const deadline = Date.now() + 30_000;
      while (acksOnA < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await a.kill('SIGKILL');
      aDead = true;
    })();
    await Promise.all([killer, ...Array.from({ length: CONCURRENCY }, (_, w) => worker(w))]);
    assert.ok(acksOnA >= 1, 'engine A took payments before it was killed');

    // Every request, retried on the survivor with its key, ends as one payment.
    const ids = new Set<string>();
    for (const item of sent) {
      let result: Awaited<ReturnType<typeof post>> | undefined;
      for (let round = 0; round < RETRY_ROUNDS_MAX; round += 1) {
        result = await post(b.url, secretKey, item.key, item.body);
        if (result.status !== 409) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(result?.status, 200, `retry of ${item.key}: ${JSON.stringify(result?.json)}`);
      assert.equal(result!.json.status, 'succeeded');
      if (item.id)
        assert.equal(result!.json.id, item.id, 'a retry returns the acknowledged payment');
      ids.add(result!.json.id);
    }
    assert.equal(ids.size, sent.length, 'one distinct payment per key');

    const handle = openDatabase({ dataDir: dirs[1]!, databaseUrl: pgDb.url });
    try {
      const db = handle.db;
      const intents = await db.selectFrom('payment_intents').select(['id', 'status']).execute();
      assert.equal(intents.length, sent.length, 'no payment without its key');
      assert.ok(intents.every((i) => i.status === 'succeeded'));
      const attempts = await db
        .selectFrom('payment_attempts')
        .select(['payment_intent_id', 'status', 'instance_id'])
        .execute();
      assert.ok(attempts.every((x) => x.status !== 'pending' && x.status !== 'unknown'));
      assert.equal(
        new Set(attempts.map((x) => x.instance_id)).size,
        2,
        'both processes made attempts',
      );
      const succeeded = new Map<string, number>();
      for (const x of attempts.filter((x) => x.status === 'succeeded'))
        succeeded.set(x.payment_intent_id, (succeeded.get(x.payment_intent_id) ?? 0) + 1);
      for (const intent of intents)
        assert.equal(succeeded.get(intent.id), 1, `${intent.id} charged once`);
      const books = await verifyLedger(db);
      assert.deepEqual(books.problems, [], 'the ledger verifies');
    } finally {
      await handle.close();
    }
    console.log(
      `# multinode: ${sent.length} requests, ${acksOnA} acknowledged by A before SIGKILL`,
    );
  } finally {
    for (const engine of engines) await engine.kill('SIGKILL');
    await pgDb.drop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});
