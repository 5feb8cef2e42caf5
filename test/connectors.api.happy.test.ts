import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connectorDefinitions } from '../src/connectors/index.ts';
import { CONNECTOR_TYPES, type ConnectorType } from '../src/connectors/types.ts';
import { internalContext } from '../src/db/context.ts';
import { createEventsService } from '../src/events/service.ts';
import type { Clock } from '../src/lib/clock.ts';
import { EnvelopeCipher } from '../src/lib/crypto.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { createRoutingAdmin, type RoutingAdmin } from '../src/routing/admin.ts';
import { loadMasterKey } from '../src/vault/master-key.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Connector accounts through the API: every type, the full lifecycle, fees
// that round-trip exactly, credentials that never come back out, and the
// runtime view (routable, settings) that payments read, with its caches.

const DEFINITIONS = connectorDefinitions({ latencyMs: 0, challengeUrl: () => '' });

/** Distinct, recognisable secrets, long enough that their hint shows 4 characters. */
const secretFor = (type: string, field: string) => `SECRET-${type}-${field}-9f8e7d6c5b4a`;

function createParams(type: ConnectorType, name: string): Record<string, unknown> {
  const definition = DEFINITIONS[type];
  const credentials: Record<string, string> = {};
  for (const field of [...definition.credentialFields, ...definition.optionalCredentialFields])
    credentials[field] = secretFor(type, field);
  return {
    type,
    name,
    ...(definition.baseUrl === 'none' ? {} : { base_url: `http://127.0.0.1:9/${type}` }),
    ...(Object.keys(credentials).length ? { credentials } : {}),
  };
}

/** The first required credential field of a type (what its API key is called). */
const keyField = (type: ConnectorType) => DEFINITIONS[type].credentialFields[0] ?? 'api_key';

// biome-ignore lint/suspicious/noExplicitAny: API objects are checked field by field.
type Json = any;

/** A second RoutingAdmin on the same database: what another engine process would see. */
function otherProcess(t: TestEngine, clock: Clock): RoutingAdmin {
  const db = t.engine.database.db;
  const cipher = new EnvelopeCipher(loadMasterKey({ masterKey: undefined, dataDir: t.dataDir }));
  return createRoutingAdmin({ db, clock, cipher, events: createEventsService(db, clock) });
}

describe('connectors API: happy paths', () => {
  let t: TestEngine;
  const seen: string[] = [];
  const post = async (path: string, params: Record<string, unknown>): Promise<Json> => {
    const res = await t.stripe.rawRequest('POST', path, params);
    seen.push(JSON.stringify(res));
    return res;
  };
  const get = async (path: string, params: Record<string, unknown> = {}): Promise<Json> => {
    const query = new URLSearchParams(params as Record<string, string>).toString();
    const res = await t.stripe.rawRequest('GET', query ? `${path}?${query}` : path);
    seen.push(JSON.stringify(res));
    return res;
  };
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('creates one connector of every type, with defaults', async () => {
    for (const type of CONNECTOR_TYPES) {
      const created = await post('/v1/connectors', createParams(type, `first ${type}`));
      assert.match(created.id, /^conn_[0-9a-z]{24}$/);
      assert.equal(created.object, 'connector');
      assert.equal(created.type, type);
      assert.equal(created.name, `first ${type}`);
      assert.equal(created.status, 'active');
      assert.equal(created.currencies, null, 'omitted currencies mean every currency');
      assert.deepEqual(created.payment_method_types, ['card']);
      assert.deepEqual(created.fees, { percent: '0', fixed: 0 });
      assert.equal(created.timeout_ms, LIMITS.connectorTimeoutMsDefault);
      assert.equal(created.livemode, false);
      assert.deepEqual(created.metadata, {});
      const definition = DEFINITIONS[type];
      assert.equal(
        created.base_url,
        definition.baseUrl === 'none' ? null : `http://127.0.0.1:9/${type}`,
      );
      for (const field of definition.credentialFields) {
        assert.equal(created.credentials[field], `••••••••${secretFor(type, field).slice(-4)}`);
      }
      const fetched = await get(`/v1/connectors/${created.id}`);
      assert.deepEqual(
        { ...fetched, lastResponse: undefined },
        { ...created, lastResponse: undefined },
      );
    }
  });

  test('retrieve, update, list and delete', async () => {
    const created = await post('/v1/connectors', {
      ...createParams('psp_sim', 'lifecycle'),
      currencies: ['USD', 'eur', 'usd'],
      payment_method_types: ['card', 'sepa_debit'],
      fees: { percent: '2.9', fixed: 30 },
      timeout_ms: 2500,
      metadata: { team: 'payments' },
    });
    assert.deepEqual(created.currencies, ['usd', 'eur']);
    assert.deepEqual(created.payment_method_types, ['card', 'sepa_debit']);
    assert.deepEqual(created.fees, { percent: '2.9', fixed: 30 });
    assert.equal(created.timeout_ms, 2500);

    const updated = await post(`/v1/connectors/${created.id}`, {
      name: 'lifecycle renamed',
      currencies: '',
      fees: { percent: '1.25' },
      status: 'disabled',
      base_url: 'https://psp.example.test/v2',
      metadata: { team: '', owner: 'ops' },
      type: 'psp_sim',
    });
    assert.equal(updated.name, 'lifecycle renamed');
    assert.equal(updated.currencies, null);
    assert.deepEqual(updated.fees, { percent: '1.25', fixed: 30 }, 'fixed kept');
    assert.equal(updated.status, 'disabled');
    assert.equal(updated.base_url, 'https://psp.example.test/v2');
    assert.deepEqual(updated.metadata, { owner: 'ops' });
    assert.equal(updated.timeout_ms, 2500);

    const page = await get('/v1/connectors', { limit: 2 });
    assert.equal(page.object, 'list');
    assert.equal(page.url, '/v1/connectors');
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    assert.equal(page.data[0].id, created.id, 'newest first');
    const next = await get('/v1/connectors', { limit: 100, starting_after: created.id });
    assert.ok(next.data.every((c: Json) => c.id < created.id));

    const deleted = await t.stripe.rawRequest('DELETE', `/v1/connectors/${created.id}`);
    assert.deepEqual(
      { id: deleted.id, object: deleted.object, deleted: deleted.deleted },
      { id: created.id, object: 'connector', deleted: true },
    );
    for (const request of [
      () => t.stripe.rawRequest('GET', `/v1/connectors/${created.id}`),
      () => t.stripe.rawRequest('POST', `/v1/connectors/${created.id}`, { name: 'x' }),
      () => t.stripe.rawRequest('DELETE', `/v1/connectors/${created.id}`),
    ]) {
      await assert.rejects(
        request(),
        (e: Json) => e.statusCode === 404 && e.code === 'resource_missing',
      );
    }
    const all = await get('/v1/connectors', { limit: 100 });
    assert.ok(!all.data.some((c: Json) => c.id === created.id), 'deleted ones are not listed');

    // A deleted connector's name is free again.
    const reused = await post('/v1/connectors', createParams('psp_sim', 'lifecycle renamed'));
    assert.notEqual(reused.id, created.id);

    const rows = await t.engine.database.db
      .selectFrom('events')
      .select(['type', 'data_object'])
      .where('data_object', 'like', `%${created.id}%`)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      rows.map((r) => r.type),
      ['connector.created', 'connector.updated', 'connector.deleted'],
    );
  });

  test('fee percentages round-trip exactly through integer parts per million', async () => {
    const cases: [string | number, number, string][] = [
      ['2.9', 29_000, '2.9'],
      [2.9, 29_000, '2.9'],
      ['0.0125', 125, '0.0125'],
      ['1.10', 11_000, '1.1'],
      ['100', 1_000_000, '100'],
      ['0', 0, '0'],
      ['33.3333', 333_333, '33.3333'],
    ];
    for (const [i, [percent, ppm, shown]] of cases.entries()) {
      const body = JSON.stringify({
        ...createParams('sandbox', `fees ${i}`),
        fees: { percent, fixed: 7 },
      });
      const res = await rawRequest(t, 'POST', '/v1/connectors', {
        body,
        contentType: 'application/json',
      });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.deepEqual(res.json.fees, { percent: shown, fixed: 7 });
      const row = await t.engine.database.db
        .selectFrom('connector_accounts')
        .select(['fee_rate_ppm', 'fee_fixed'])
        .where('id', '=', res.json.id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.fee_rate_ppm), ppm);
      assert.equal(Number(row.fee_fixed), 7);
      await t.stripe.rawRequest('DELETE', `/v1/connectors/${res.json.id}`);
    }
  });

  test('credentials are encrypted, decrypt for the engine, and appear in no response, event, row or log', async () => {
    const created = await post('/v1/connectors', createParams('stripe', 'secretive'));
    const rotated = 'ROTATED-api-key-0123456789-zyxw';
    const field = keyField('stripe');
    const updated = await post(`/v1/connectors/${created.id}`, {
      credentials: { [field]: rotated },
    });
    assert.deepEqual(updated.credentials, { [field]: '••••••••zyxw' }, 'the whole set is replaced');

    const admin = otherProcess(t, { nowMs: () => Date.now() });
    const settings = await admin.settings(created.id);
    assert.deepEqual(settings?.credentials, { [field]: rotated });
    assert.equal(settings?.type, 'stripe');
    assert.equal(settings?.accountId, t.accountId);
    assert.equal(settings?.deleted, false);

    const row = await t.engine.database.db
      .selectFrom('connector_accounts')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    const secrets = [rotated];
    for (const type of CONNECTOR_TYPES) {
      const definition = DEFINITIONS[type];
      for (const name of [...definition.credentialFields, ...definition.optionalCredentialFields])
        secrets.push(secretFor(type, name));
    }
    const events = await t.engine.database.db.selectFrom('events').selectAll().execute();
    const idempotency = await t.engine.database.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .execute();
    const allRows = await t.engine.database.db
      .selectFrom('connector_accounts')
      .selectAll()
      .execute();
    const places: [string, string][] = [
      ['responses', seen.join('\n')],
      ['events', JSON.stringify(events)],
      ['idempotency', JSON.stringify(idempotency)],
      ['connector rows', JSON.stringify(allRows)],
      ['log', fs.readFileSync(t.logFile, 'utf8')],
    ];
    assert.ok(row.credentials_enc.startsWith('v1.'), 'envelope-encrypted');
    for (const secret of secrets) {
      for (const [where, text] of places)
        assert.ok(!text.includes(secret), `${secret} in ${where}`);
      // Not even a long piece of it.
      assert.ok(!row.credentials_enc.includes(secret.slice(0, 12)));
    }
    assert.ok(seen.length > 5 && events.length > 5, 'the checks looked at something');

    // The ciphertext is bound to its row: copied to another row it does not decrypt.
    const other = await post('/v1/connectors', createParams('stripe', 'other'));
    await t.engine.database.db
      .updateTable('connector_accounts')
      .set({ credentials_enc: row.credentials_enc })
      .where('id', '=', other.id)
      .execute();
    await assert.rejects(otherProcess(t, { nowMs: () => Date.now() }).settings(other.id));
    await t.stripe.rawRequest('DELETE', `/v1/connectors/${other.id}`);
  });

  test('the runtime view: routable order, deleted settings, caches within a process and across', async () => {
    let nowMs = Date.now();
    const clock: Clock = { nowMs: () => nowMs };
    // Another account keeps this test's view clean of the connectors made above.
    const account = await t.engine.accounts.createAccount();
    const key = await t.engine.accounts.createKey(account.id, { kind: 'secret', livemode: false });
    const scope = { accountId: account.id, livemode: false };
    const client = t.client(key.key);
    const made: Json[] = [];
    for (const name of ['one', 'two', 'three']) {
      made.push(
        await client.rawRequest('POST', '/v1/connectors', {
          ...createParams('sandbox', name),
          fees: { percent: '1.5', fixed: 25 },
          currencies: ['eur'],
          payment_method_types: ['card', 'sepa_debit'],
        }),
      );
    }
    await client.rawRequest('POST', `/v1/connectors/${made[1].id}`, { status: 'disabled' });
    const admin = otherProcess(t, clock);
    const routable = await admin.routable(scope);
    assert.deepEqual(
      routable.map((c) => c.id),
      [made[0].id, made[2].id],
      'active only, in creation order',
    );
    assert.deepEqual(routable[0], {
      id: made[0].id,
      type: 'sandbox',
      name: 'one',
      currencies: ['eur'],
      paymentMethodTypes: ['card', 'sepa_debit'],
      feeRatePpm: 15_000,
      feeFixed: 25,
      created: made[0].created,
    });

    // Another process's change shows once the cache time has passed, not before.
    await client.rawRequest('DELETE', `/v1/connectors/${made[0].id}`);
    assert.equal((await admin.routable(scope)).length, 2, 'still cached');
    nowMs += LIMITS.routingCacheMs;
    assert.deepEqual(
      (await admin.routable(scope)).map((c) => c.id),
      [made[2].id],
    );
    // A deleted connector's settings are still there: its old charges must capture and refund.
    const deletedSettings = await admin.settings(made[0].id);
    assert.equal(deletedSettings?.deleted, true);
    assert.equal(deletedSettings?.baseUrl, null);
    assert.deepEqual(deletedSettings?.credentials, {});

    // A change made through this process's own API is seen at once.
    const ctx = internalContext(scope);
    const fourth = await admin.api.createConnector(ctx, {
      type: 'sandbox',
      name: 'four',
    });
    assert.deepEqual(
      (await admin.routable(scope)).map((c) => c.id),
      [made[2].id, fourth.id],
    );
    assert.equal((await admin.settings(fourth.id))?.status, 'active');
    await admin.api.updateConnector(ctx, fourth.id, { status: 'disabled' });
    assert.equal((await admin.settings(fourth.id))?.status, 'disabled', 'settings cache dropped');
    assert.deepEqual(
      (await admin.routable(scope)).map((c) => c.id),
      [made[2].id],
    );

    const active = await admin.allActive();
    assert.ok(active.some((s) => s.id === made[2].id));
    assert.ok(
      !active.some((s) => s.id === made[0].id || s.id === made[1].id || s.id === fourth.id),
    );
  });
});
