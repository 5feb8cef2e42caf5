import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '../src/lib/limits.ts';
import { DEFAULT_ROUTING_CONFIG } from '../src/routing/types.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// /v1/routing: the default, a round trip of every strategy kind in JSON and
// in form encoding, versions, events, and every reference checked.

// biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field.
type Json = any;

const IBAN = 'DE89 3704 0044 0532 0130 00';

describe('routing config API', () => {
  let t: TestEngine;
  let a: Json;
  let b: Json;
  let c: Json;
  const postJson = (body: unknown) =>
    rawRequest(t, 'POST', '/v1/routing', {
      body: JSON.stringify(body),
      contentType: 'application/json',
    });
  const current = async () => (await rawRequest(t, 'GET', '/v1/routing')).json;

  async function counts() {
    const db = t.engine.database.db;
    const events = await db.selectFrom('events').select('id').execute();
    const configs = await db.selectFrom('routing_configs').selectAll().execute();
    return { events: events.length, configs };
  }

  async function rejects(body: unknown, param: string, code = 'parameter_invalid', status = 400) {
    const before = await counts();
    const res = await postJson(body);
    assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error.param, param, JSON.stringify(res.json));
    assert.equal(res.json.error.code, code, JSON.stringify(res.json));
    assert.deepEqual(await counts(), before, 'nothing written');
  }

  before(async () => {
    t = await startEngine();
    const make = (name: string) =>
      t.stripe.rawRequest('POST', '/v1/connectors', { type: 'sandbox', name });
    a = await make('a');
    b = await make('b');
    c = await make('c');
  });
  after(async () => {
    await t.close();
  });

  test('the default configuration until one is set', async () => {
    const res = await rawRequest(t, 'GET', '/v1/routing');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, {
      object: 'routing_config',
      ...DEFAULT_ROUTING_CONFIG,
      livemode: false,
      updated: null,
      version: 0,
    });
    assert.equal(res.json.max_attempts, LIMITS.failoverAttemptsDefault);
  });

  test('every strategy kind round-trips through JSON, with a version bump and an event', async () => {
    const config = {
      strategies: [
        {
          type: 'rules',
          rules: [
            {
              name: 'big euro cards',
              conditions: {
                currency: ['EUR'],
                amount_gte: 10_000,
                amount_lte: 500_000,
                payment_method_type: ['card'],
                card_brand: ['visa', 'mastercard'],
                card_country: ['de', 'FR'],
                customer_country: ['DE'],
                metadata: { tier: 'gold' },
              },
              connectors: [b.id, a.id],
            },
          ],
        },
        { type: 'priority', connectors: [a.id, b.id, 'sandbox'] },
        {
          type: 'weighted',
          weights: [
            { connector: a.id, weight: 70 },
            { connector: c.id, weight: 30 },
          ],
        },
        { type: 'success_rate', bucket_percent: 3, min_samples: 10 },
        { type: 'lowest_cost' },
      ],
      max_attempts: 2,
      failover_rules: [
        {
          connector: 'psp_sim',
          outcome: 'failed_retryable',
          code: 'processor_error',
          action: 'stop',
        },
        { connector: '*', outcome: 'declined', code: 'do_not_honor', action: 'failover' },
      ],
      secondary_method: {
        type: 'bank_transfer',
        bank_transfer: { account_holder_name: 'Acme GmbH', iban: IBAN, bic: 'COBADEFFXXX' },
      },
    };
    const res = await postJson(config);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const expected = structuredClone(config) as Json;
    expected.strategies[0].rules[0].conditions.currency = ['eur'];
    expected.strategies[0].rules[0].conditions.card_country = ['DE', 'FR'];
    expected.secondary_method.bank_transfer.iban = 'DE89370400440532013000';
    expected.secondary_method.bank_transfer.reference_prefix = 'PR';
    const { object, livemode, updated, version, ...stored } = res.json;
    assert.deepEqual(stored, expected);
    assert.equal(object, 'routing_config');
    assert.equal(livemode, false);
    assert.equal(version, 1);
    assert.ok(Math.abs(updated - Date.now() / 1000) < 60);
    assert.deepEqual(await current(), res.json);

    const events = await t.stripe.events.list({ type: 'routing_config.updated' });
    assert.equal(events.data.length, 1);
    assert.deepEqual(events.data[0]?.data.object, res.json);
    assert.equal(
      (events.data[0]?.data.previous_attributes as Json)?.version,
      0,
      'previous attributes name the old version',
    );
  });

  test('form encoding (what the stripe SDK sends) works too, "" clears lists and null', async () => {
    const before = await current();
    const res = await t.stripe.rawRequest('POST', '/v1/routing', {
      strategies: [
        { type: 'weighted', weights: [{ connector: b.id, weight: 5 }] },
        { type: 'success_rate' },
      ],
      max_attempts: 4,
      failover_rules: '',
      secondary_method: '',
    });
    const { lastResponse: _l, ...body } = res as Json;
    assert.deepEqual(body.strategies, [
      { type: 'weighted', weights: [{ connector: b.id, weight: 5 }] },
      { type: 'success_rate', bucket_percent: 5, min_samples: LIMITS.successRateMinSamples },
    ]);
    assert.equal(body.max_attempts, 4, 'numbers arrive as strings and are coerced');
    assert.deepEqual(body.failover_rules, []);
    assert.equal(body.secondary_method, null);
    assert.equal(body.version, before.version + 1);

    const cleared = await rawRequest(t, 'POST', '/v1/routing', { body: 'strategies=' });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.json));
    assert.deepEqual(cleared.json.strategies, []);
    assert.equal(cleared.json.max_attempts, LIMITS.failoverAttemptsDefault, 'replaced whole');
  });

  test('version: a stale expected version is a 409 and changes nothing', async () => {
    const now = await current();
    const ok = await postJson({ version: now.version, max_attempts: 1 });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.version, now.version + 1);
    await rejects(
      { version: now.version, max_attempts: 2 },
      'version',
      'routing_config_version_mismatch',
      409,
    );
    await assert.rejects(
      t.stripe.rawRequest('POST', '/v1/routing', { version: 0 }),
      (e: Json) => e.statusCode === 409 && e.code === 'routing_config_version_mismatch',
    );
  });

  test('bad values are 400 naming the Stripe-style param path, and write nothing', async () => {
    await rejects({ strategies: [{ type: 'fastest' }] }, 'strategies[0][type]');
    await rejects(
      { strategies: [{ type: 'priority' }] },
      'strategies[0][connectors]',
      'parameter_missing',
    );
    await rejects(
      { strategies: [{ type: 'priority', connectors: [] }] },
      'strategies[0][connectors]',
    );
    await rejects(
      { strategies: [{ type: 'priority', connectors: [a.id, 'conn_x'] }] },
      'strategies[0][connectors][1]',
    );
    await rejects(
      { strategies: [{ type: 'weighted', weights: [{ connector: a.id, weight: 1001 }] }] },
      'strategies[0][weights][0][weight]',
    );
    await rejects(
      { strategies: [{ type: 'weighted', weights: [{ connector: a.id, weight: 'heavy' }] }] },
      'strategies[0][weights][0][weight]',
    );
    await rejects(
      { strategies: [{ type: 'lowest_cost', extra: 1 }] },
      'strategies[0][extra]',
      'parameter_unknown',
    );
    await rejects(
      { strategies: [{ type: 'success_rate', bucket_percent: 0 }] },
      'strategies[0][bucket_percent]',
    );
    await rejects(
      {
        strategies: [
          {
            type: 'rules',
            rules: [{ name: 'r', conditions: { currency: ['euro'] }, connectors: [a.id] }],
          },
        ],
      },
      'strategies[0][rules][0][conditions][currency][0]',
    );
    await rejects({ max_attempts: 0 }, 'max_attempts');
    await rejects({ max_attempts: LIMITS.failoverAttemptsMax + 1 }, 'max_attempts');
    await rejects(
      { failover_rules: [{ connector: 'paypal', outcome: 'declined', code: 'x', action: 'stop' }] },
      'failover_rules[0][connector]',
    );
    await rejects(
      { secondary_method: { type: 'bank_transfer', bank_transfer: { account_holder_name: 'A' } } },
      'secondary_method[bank_transfer][iban]',
      'parameter_missing',
    );
    await rejects({ colour: 'blue' }, 'colour', 'parameter_unknown');
  });

  test('every connector reference must be a live connector of this account and mode', async () => {
    const unknownId = 'conn_000000000000000000000000';
    await rejects(
      { strategies: [{ type: 'priority', connectors: [a.id, unknownId] }] },
      'strategies[0][connectors][1]',
    );
    await rejects(
      {
        strategies: [
          { type: 'lowest_cost' },
          {
            type: 'weighted',
            weights: [
              { connector: a.id, weight: 1 },
              { connector: unknownId, weight: 1 },
            ],
          },
        ],
      },
      'strategies[1][weights][1][connector]',
    );
    await rejects(
      {
        strategies: [
          {
            type: 'rules',
            rules: [
              { name: 'one', conditions: {}, connectors: [a.id] },
              { name: 'two', conditions: { currency: ['usd'] }, connectors: [b.id, unknownId] },
            ],
          },
        ],
      },
      'strategies[0][rules][1][connectors][1]',
    );
    const gone = await t.stripe.rawRequest('POST', '/v1/connectors', {
      type: 'sandbox',
      name: 'gone',
    });
    await t.stripe.rawRequest('DELETE', `/v1/connectors/${(gone as Json).id}`);
    await rejects(
      { strategies: [{ type: 'priority', connectors: [(gone as Json).id] }] },
      'strategies[0][connectors][0]',
    );
    // A disabled connector still exists: it may be named (routing skips it while disabled).
    await t.stripe.rawRequest('POST', `/v1/connectors/${c.id}`, { status: 'disabled' });
    const ok = await postJson({ strategies: [{ type: 'priority', connectors: [c.id] }] });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  test('the secondary method IBAN is checked with ibantools and stored in electronic format', async () => {
    const bank = (iban: string) => ({
      secondary_method: {
        type: 'bank_transfer',
        bank_transfer: { account_holder_name: 'Acme', iban },
      },
    });
    await rejects(
      bank('DE89 3704 0044 0532 0130 01'),
      'secondary_method[bank_transfer][iban]',
      'invalid_iban',
    );
    await rejects(bank('XX00 0000 0000'), 'secondary_method[bank_transfer][iban]', 'invalid_iban');
    const ok = await postJson(bank('gb82 west 1234 5698 7654 32'));
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.secondary_method.bank_transfer.iban, 'GB82WEST12345698765432');
  });
});
