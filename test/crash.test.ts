import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../src/db/database.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { randomToken } from '../src/lib/ids.ts';
import { createPgDatabase, testDialect } from './helpers/engine.ts';
import { type EngineProcess, spawnEngine } from './helpers/process.ts';

// Crash safety: drive payments at full speed, kill -9 the engine at a random
// moment, restart it on the same data and check that every acknowledged
// payment is there with the state it was acknowledged in, that retrying every
// request with its Idempotency-Key yields exactly one payment per key, and
// that no attempt is left pending. Bounded: a few hundred requests per seed.

const SEEDS = [11, 23, 47];
const CONCURRENCY = 16;
const REQUESTS_MAX = 400;
const RETRY_ROUNDS_MAX = 50;

function rng(seed: number): () => number {
  let s = Math.imul(seed, 2654435761) >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Sent {
  key: string;
  body: string;
  amount: number;
  ack?: { id: string; status: string; amount: number };
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

async function listAll(url: string, key: string, pathName: string): Promise<Record<string, any>[]> {
  const out: Record<string, any>[] = [];
  let after: string | undefined;
  for (let page = 0; page < 1000; page += 1) {
    const query = new URLSearchParams({
      limit: '100',
      ...(after ? { starting_after: after } : {}),
    });
    const r = await fetch(`${url}${pathName}?${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const json = (await r.json()) as { data: Record<string, any>[]; has_more: boolean };
    out.push(...json.data);
    if (!json.has_more) return out;
    after = json.data.at(-1)?.id;
  }
  throw new Error('list did not end');
}

async function runSeed(seed: number): Promise<void> {
  const random = rng(seed);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-crash-'));
  const pgDb = testDialect() === 'postgres' ? await createPgDatabase() : undefined;
  const secretKey = `sk_test_${randomToken(28)}`;
  const env = {
    PAYRAIL_DATA_DIR: dataDir,
    PAYRAIL_SECRET_KEY: secretKey,
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
  };
  let engine: EngineProcess | undefined;
  try {
    engine = await spawnEngine(env);
    const sent: Sent[] = [];
    let next = 0;
    let killed = false;
    // Kill at a random moment once the stream is flowing: after a random number
    // of acknowledged payments plus a random few milliseconds.
    const killAfterAcks = 1 + Math.floor(random() * 120);
    const killJitterMs = Math.floor(random() * 40);
    let acks = 0;
    const worker = async () => {
      while (!killed && next < REQUESTS_MAX) {
        const i = next++;
        const amount = 100 + Math.floor(random() * 10_000);
        const item: Sent = {
          key: `crash-${seed}-${i}`,
          amount,
          body: `amount=${amount}&currency=usd&payment_method=pm_card_visa&confirm=true&metadata[i]=${i}`,
        };
        sent.push(item);
        try {
          const r = await post(engine!.url, secretKey, item.key, item.body);
          if (r.status === 200) {
            item.ack = { id: r.json.id, status: r.json.status, amount: r.json.amount };
            acks += 1;
          }
        } catch {
          // Connection reset by the kill: not acknowledged.
        }
      }
    };
    const killer = (async () => {
      const deadline = Date.now() + 20_000;
      while (acks < killAfterAcks && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, killJitterMs));
      killed = true;
      await engine!.kill('SIGKILL');
    })();
    await Promise.all([...Array.from({ length: CONCURRENCY }, worker), killer]);
    const acked = sent.filter((s) => s.ack);
    console.log(`# seed ${seed}: ${sent.length} sent, ${acked.length} acknowledged before kill -9`);
    assert.ok(acked.length > 0, `seed ${seed}: some payments were acknowledged before the kill`);

    engine = await spawnEngine(env);
    // Every acknowledged payment exists in the state it was acknowledged in.
    for (const item of acked) {
      const r: Response = await fetch(`${engine.url}/v1/payment_intents/${item.ack!.id}`, {
        headers: { authorization: `Bearer ${secretKey}` },
      });
      const json = (await r.json()) as Record<string, any>;
      assert.equal(r.status, 200, `seed ${seed}: acknowledged ${item.ack!.id} exists`);
      assert.equal(json.status, item.ack!.status);
      assert.equal(json.amount, item.ack!.amount);
      assert.equal(json.amount_received, item.ack!.amount);
    }
    // Retrying every request with its key gives exactly one payment each.
    const idsByKey = new Map<string, string>();
    for (const item of sent) {
      let result: { status: number; json: Record<string, any> } | undefined;
      for (let round = 0; round < RETRY_ROUNDS_MAX; round += 1) {
        result = await post(engine.url, secretKey, item.key, item.body);
        if (result.status !== 409) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(
        result?.status,
        200,
        `seed ${seed}: retry of ${item.key} answered ${JSON.stringify(result?.json)}`,
      );
      assert.equal(result!.json.status, 'succeeded');
      assert.equal(result!.json.amount, item.amount);
      if (item.ack)
        assert.equal(result!.json.id, item.ack.id, 'a retry returns the acknowledged payment');
      idsByKey.set(item.key, result!.json.id);
    }
    const intents = await listAll(engine.url, secretKey, '/v1/payment_intents');
    assert.equal(new Set(idsByKey.values()).size, sent.length, 'one distinct payment per key');
    assert.equal(
      intents.length,
      sent.length,
      'no payment without its key, no key with two payments',
    );
    for (const intent of intents) {
      assert.equal(intent.status, 'succeeded', `${intent.id} is final`);
      const attempts = await listAll(
        engine.url,
        secretKey,
        `/v1/payment_intents/${intent.id}/attempts`,
      );
      assert.ok(attempts.length >= 1);
      for (const attempt of attempts)
        assert.notEqual(attempt.status, 'pending', `${attempt.id} is not stuck`);
      assert.equal(
        attempts.filter((a) => a.status === 'succeeded').length,
        1,
        `${intent.id} charged once`,
      );
    }
    // The books survived the crash too: every invariant holds, and each
    // payment is posted exactly once, for its amount.
    const handle = openDatabase({ dataDir, databaseUrl: pgDb?.url });
    try {
      const books = await verifyLedger(handle.db);
      assert.deepEqual(books.problems, [], `seed ${seed}: the ledger verifies after the crash`);
      const charges = await handle.db
        .selectFrom('ledger_transactions')
        .select(['source', 'amount'])
        .where('type', '=', 'charge')
        .execute();
      assert.equal(charges.length, sent.length, `seed ${seed}: one charge posting per payment`);
    } finally {
      await handle.close();
    }
  } finally {
    await engine?.kill('SIGKILL');
    await pgDb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('crash: kill -9 during a stream of payments', () => {
  after(() => {});
  for (const seed of SEEDS) {
    test(`seed ${seed}: nothing acknowledged is lost, nothing is charged twice`, {
      timeout: 120_000,
    }, async () => {
      await runSeed(seed);
    });
  }
});
