import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Stripe from 'stripe';
import { randomToken } from '../src/lib/ids.ts';
import { createPgDatabase, stripeClient, testDialect } from './helpers/engine.ts';
import { type EngineProcess, spawnEngine } from './helpers/process.ts';
import { startReceiver } from './helpers/webhook-receiver.ts';

// kill -9 the engine while deliveries are in flight, restart it on the same
// data: every event is still delivered at least once, with a valid signature.

const EVENTS = 20;
const verifier = new Stripe('sk_test_verifier');

test('killing the engine mid-delivery loses no event', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-whcrash-'));
  const pgDb = testDialect() === 'postgres' ? await createPgDatabase() : undefined;
  const secretKey = `sk_test_${randomToken(28)}`;
  const env = {
    PAYRAIL_DATA_DIR: dataDir,
    PAYRAIL_SECRET_KEY: secretKey,
    PAYRAIL_WEBHOOK_RETRY_BASE_MS: '100',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
  };
  // A slow receiver keeps deliveries in flight when the kill lands.
  const receiver = await startReceiver(() => 'ok', { delayMs: 150 });
  let engine: EngineProcess | undefined;
  try {
    engine = await spawnEngine(env);
    let stripe = stripeClient(secretKey, engine.port);
    const endpoint = await stripe.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['customer.created'],
    });
    for (let i = 0; i < EVENTS; i += 1) await stripe.customers.create({ name: `crash ${i}` });
    await receiver.waitFor((x) => x.length >= 2);
    await engine.kill('SIGKILL');
    const deliveredBeforeKill = receiver.received.length;
    assert.ok(deliveredBeforeKill < EVENTS, 'the kill landed before everything was delivered');

    engine = await spawnEngine(env);
    stripe = stripeClient(secretKey, engine.port);
    const events = await stripe.events.list({ type: 'customer.created', limit: 100 });
    assert.equal(events.data.length, EVENTS);
    const expected = new Set(events.data.map((e) => e.id));
    await receiver.waitFor(
      (x) => [...expected].every((id) => x.some((y) => y.event.id === id)),
      30_000,
    );
    for (const got of receiver.received) {
      verifier.webhooks.constructEvent(got.body, got.signature, endpoint.secret ?? '');
    }
  } finally {
    await engine?.kill('SIGKILL');
    await receiver.close();
    await pgDb?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
