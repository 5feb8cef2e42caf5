import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { SQLITE_FILE } from '../src/db/database.ts';
import { rawRequest, startEngine, type TestEngine, testDialect } from './helpers/engine.ts';

describe('auth: security', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('no key is a 401 authentication_error', async () => {
    const res = await rawRequest(t, 'GET', '/v1/customers', { key: null });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.type, 'authentication_error');
    assert.equal(res.json.error.code, 'api_key_missing');
    // The SDK refuses to send an empty key, so a blank Bearer value is what it can do.
    const sdk = new Stripe('sk_test_', {
      host: '127.0.0.1',
      port: t.port,
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    await assert.rejects(
      sdk.customers.list(),
      (e: unknown) => e instanceof Stripe.errors.StripeAuthenticationError,
    );
  });

  test('an unknown key is a 401 and its message does not echo the key', async () => {
    const bad = `sk_test_${'x'.repeat(30)}`;
    await assert.rejects(t.client(bad).customers.list(), (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripeAuthenticationError);
      assert.equal(e.statusCode, 401);
      assert.ok(!e.message.includes(bad));
      return true;
    });
    const res = await rawRequest(t, 'GET', '/v1/customers', { key: 'garbage' });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'api_key_invalid');
  });

  test('Basic auth with the key as user name works (curl -u sk_...:)', async () => {
    const basic = Buffer.from(`${t.secretKey}:`).toString('base64');
    const res = await rawRequest(t, 'GET', '/v1/customers', {
      key: null,
      headers: { authorization: `Basic ${basic}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.object, 'list');
    const wrong = Buffer.from(`sk_test_${'y'.repeat(30)}:`).toString('base64');
    const denied = await rawRequest(t, 'GET', '/v1/customers', {
      key: null,
      headers: { authorization: `Basic ${wrong}` },
    });
    assert.equal(denied.status, 401);
  });

  test('a publishable key cannot list or create customers (403 permission_error)', async () => {
    const pk = t.client(t.publishableKey);
    await assert.rejects(pk.customers.list(), (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripePermissionError);
      assert.equal(e.statusCode, 403);
      return true;
    });
    await assert.rejects(
      pk.customers.create({ email: 'a@example.com' }),
      Stripe.errors.StripePermissionError,
    );
  });

  test('a revoked key stops working', async () => {
    const made = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: false,
    });
    const client = t.client(made.key);
    await client.customers.list();
    await t.engine.accounts.revokeKey(made.id);
    await assert.rejects(client.customers.list(), Stripe.errors.StripeAuthenticationError);
  });

  test('live mode cannot see test-mode customers and events, and the reverse', async () => {
    const live = await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true });
    const liveClient = t.client(live.key);
    const testCustomer = await t.stripe.customers.create({ email: 'test-mode@example.com' });
    const testEvent = (await t.stripe.events.list({ limit: 1 })).data[0];
    assert.ok(testEvent);

    await assert.rejects(liveClient.customers.retrieve(testCustomer.id), (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.statusCode, 404);
      return true;
    });
    await assert.rejects(liveClient.customers.update(testCustomer.id, { name: 'x' }), {
      statusCode: 404,
    });
    await assert.rejects(liveClient.customers.del(testCustomer.id), { statusCode: 404 });
    await assert.rejects(liveClient.events.retrieve(testEvent.id), { statusCode: 404 });
    const liveList = await liveClient.customers.list({ limit: 100 });
    assert.ok(!liveList.data.some((c) => c.id === testCustomer.id));
    const liveEvents = await liveClient.events.list({ limit: 100 });
    assert.ok(!liveEvents.data.some((e) => e.id === testEvent.id));

    const liveCustomer = await liveClient.customers.create({ email: 'live@example.com' });
    assert.equal(liveCustomer.livemode, true);
    await assert.rejects(t.stripe.customers.retrieve(liveCustomer.id), { statusCode: 404 });
    const liveEvent = (await liveClient.events.list({ limit: 1 })).data[0];
    assert.equal(liveEvent?.livemode, true);
    await assert.rejects(t.stripe.events.retrieve(liveEvent?.id ?? ''), { statusCode: 404 });
  });

  test('another account sees 404 (not 403) for this account’s customer and event', async () => {
    const other = await t.engine.accounts.createAccount();
    const key = await t.engine.accounts.createKey(other.id, { kind: 'secret', livemode: false });
    const otherClient = t.client(key.key);
    const mine = await t.stripe.customers.create({ email: 'mine@example.com' });
    const event = (await t.stripe.events.list({ limit: 1, type: 'customer.created' })).data[0];
    assert.ok(event);

    for (const call of [
      () => otherClient.customers.retrieve(mine.id),
      () => otherClient.customers.update(mine.id, { name: 'stolen' }),
      () => otherClient.customers.del(mine.id),
      () => otherClient.events.retrieve(event.id),
    ]) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
        assert.equal(e.statusCode, 404);
        assert.equal(e.code, 'resource_missing');
        return true;
      });
    }
    assert.equal((await otherClient.customers.list()).data.length, 0);
    assert.equal((await otherClient.events.list()).data.length, 0);
    const still = await t.stripe.customers.retrieve(mine.id);
    assert.equal((still as Stripe.Customer).name, null, 'the other account changed nothing');
  });

  test('API keys are stored only as hashes', async () => {
    const extra = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: true,
    });
    const rows = await t.engine.database.db.selectFrom('api_keys').selectAll().execute();
    assert.ok(rows.length >= 3);
    const keys = [t.secretKey, t.publishableKey, extra.key];
    const dump = JSON.stringify(rows);
    for (const key of keys) {
      assert.ok(!dump.includes(key), 'a clear key is in api_keys');
      // Not even the random part without its prefix.
      assert.ok(!dump.includes(key.slice(8, 28)), 'the secret part of a key is in api_keys');
    }
    if (testDialect() === 'sqlite') {
      const files = fs.readdirSync(t.dataDir).filter((f) => f.startsWith(SQLITE_FILE));
      assert.ok(files.length > 0);
      for (const file of files) {
        const bytes = fs.readFileSync(path.join(t.dataDir, file));
        for (const key of keys) assert.equal(bytes.indexOf(key), -1, `${file} holds a clear key`);
      }
    }
  });
});
