import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connectorDefinitions } from '../src/connectors/index.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Connector accounts hold processor credentials and decide where money goes:
// secret keys only, and one account (and mode) never sees another's.

const SECRET = 'sk-for-the-processor-0123456789';
const PSP_KEY =
  connectorDefinitions({ latencyMs: 0, challengeUrl: () => '' }).psp_sim.credentialFields[0] ??
  'api_key';

// biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field.
type Json = any;

describe('connectors API: security', () => {
  let t: TestEngine;
  let connector: Json;
  let window: Json;
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  /** Every route of the module, with a body that would succeed for the owner. */
  const routes = (): [string, string, string | undefined][] => [
    ['POST', '/v1/connectors', 'type=sandbox&name=intruder'],
    ['GET', '/v1/connectors', undefined],
    ['GET', `/v1/connectors/${connector.id}`, undefined],
    ['POST', `/v1/connectors/${connector.id}`, 'name=renamed'],
    ['GET', `/v1/connectors/${connector.id}/health`, undefined],
    ['GET', `/v1/connectors/${connector.id}/maintenance_windows`, undefined],
    [
      'POST',
      `/v1/connectors/${connector.id}/maintenance_windows`,
      `start=now&end=${nowSeconds() + 600}`,
    ],
    ['GET', `/v1/maintenance_windows/${window.id}`, undefined],
    ['POST', `/v1/maintenance_windows/${window.id}`, 'note=changed'],
    ['POST', `/v1/maintenance_windows/${window.id}/cancel`, undefined],
    ['GET', '/v1/routing', undefined],
    [
      'POST',
      '/v1/routing',
      `strategies[0][type]=priority&strategies[0][connectors][0]=${connector.id}`,
    ],
    ['DELETE', `/v1/connectors/${connector.id}`, undefined],
  ];

  async function state() {
    const db = t.engine.database.db;
    return {
      connectors: await db.selectFrom('connector_accounts').selectAll().orderBy('id').execute(),
      windows: await db.selectFrom('maintenance_windows').selectAll().orderBy('id').execute(),
      configs: await db.selectFrom('routing_configs').selectAll().execute(),
      events: (await db.selectFrom('events').select('id').execute()).length,
    };
  }

  before(async () => {
    t = await startEngine();
    connector = await t.stripe.rawRequest('POST', '/v1/connectors', {
      type: 'sandbox',
      name: 'mine',
    });
    window = await t.stripe.rawRequest(
      'POST',
      `/v1/connectors/${connector.id}/maintenance_windows`,
      {
        start: String(nowSeconds() + 3600),
        end: String(nowSeconds() + 7200),
      },
    );
  });
  after(async () => {
    await t.close();
  });

  test('a publishable key is refused everywhere, like other secret-only routes', async () => {
    const reference = await rawRequest(t, 'GET', '/v1/customers', { key: t.publishableKey });
    assert.equal(reference.status, 403);
    const before = await state();
    for (const [method, path, body] of routes()) {
      const res = await rawRequest(t, method, path, { key: t.publishableKey, body });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.deepEqual(res.json.error, reference.json.error, `${method} ${path}`);
    }
    assert.deepEqual(await state(), before);
  });

  test('no key or a wrong key is 401', async () => {
    for (const [method, path, body] of routes()) {
      const none = await rawRequest(t, method, path, { key: null, body });
      assert.equal(none.status, 401, `${method} ${path}`);
      const wrong = await rawRequest(t, method, path, { key: 'sk_test_wrongwrongwrong', body });
      assert.equal(wrong.status, 401, `${method} ${path}`);
    }
  });

  test("another account's or live mode's connectors and windows are 404 and untouched", async () => {
    const other = await t.engine.accounts.createAccount();
    const otherKey = await t.engine.accounts.createKey(other.id, {
      kind: 'secret',
      livemode: false,
    });
    const liveKey = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: true,
    });
    const before = await state();
    for (const key of [otherKey.key, liveKey.key]) {
      for (const [method, path, body] of routes()) {
        if (!path.includes(connector.id) && !path.includes(window.id)) continue;
        if (path === '/v1/routing') continue;
        const res = await rawRequest(t, method, path, { key, body });
        assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.error.code, 'resource_missing');
      }
      // Routing may not name a connector of another scope either.
      const res = await rawRequest(t, 'POST', '/v1/routing', {
        key,
        body: `strategies[0][type]=priority&strategies[0][connectors][0]=${connector.id}`,
      });
      assert.equal(res.status, 400);
      assert.equal(res.json.error.param, 'strategies[0][connectors][0]');
      const list = await rawRequest(t, 'GET', '/v1/connectors', { key });
      assert.deepEqual(list.json.data, []);
    }
    assert.deepEqual(await state(), before);
  });

  test('the built-in sandbox may be routed to in test mode only', async () => {
    const body = 'strategies[0][type]=priority&strategies[0][connectors][0]=sandbox';
    const test = await rawRequest(t, 'POST', '/v1/routing', { body });
    assert.equal(test.status, 200, JSON.stringify(test.json));
    const liveKey = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: true,
    });
    const live = await rawRequest(t, 'POST', '/v1/routing', { key: liveKey.key, body });
    assert.equal(live.status, 400);
    assert.equal(live.json.error.param, 'strategies[0][connectors][0]');
  });

  test('credentials sent in a form body stay out of responses, events and logs', async () => {
    const res = await rawRequest(t, 'POST', '/v1/connectors', {
      body: `type=psp_sim&name=psp&base_url=http%3A%2F%2F127.0.0.1%3A9&credentials[${PSP_KEY}]=${SECRET}`,
      headers: { 'idempotency-key': 'create-psp-1' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const replay = await rawRequest(t, 'POST', '/v1/connectors', {
      body: `type=psp_sim&name=psp&base_url=http%3A%2F%2F127.0.0.1%3A9&credentials[${PSP_KEY}]=${SECRET}`,
      headers: { 'idempotency-key': 'create-psp-1' },
    });
    assert.equal(replay.json.id, res.json.id);
    const db = t.engine.database.db;
    const texts = [
      JSON.stringify(res.json),
      JSON.stringify(replay.json),
      JSON.stringify(await db.selectFrom('events').selectAll().execute()),
      JSON.stringify(await db.selectFrom('idempotency_keys').selectAll().execute()),
      JSON.stringify(await db.selectFrom('connector_accounts').selectAll().execute()),
      fs.readFileSync(t.logFile, 'utf8'),
    ];
    for (const text of texts) assert.ok(!text.includes(SECRET.slice(0, 16)));
    assert.equal(res.json.credentials[PSP_KEY], `••••••••${SECRET.slice(-4)}`);
  });
});
