import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { connectorDefinitions } from '../src/connectors/index.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Every bad value of every connector field is a 400 that names the field and
// writes nothing: no connector row, no event, no change to an existing row.

const DEFINITIONS = connectorDefinitions({ latencyMs: 0, challengeUrl: () => '' });
const PSP_KEY = DEFINITIONS.psp_sim.credentialFields[0] ?? 'api_key';

const VALID = {
  type: 'psp_sim',
  name: 'primary',
  base_url: 'http://127.0.0.1:9',
  credentials: { [PSP_KEY]: 'psp-secret-key-123456' },
};

// biome-ignore lint/suspicious/noExplicitAny: error bodies are checked field by field.
type Json = any;

async function snapshot(t: TestEngine) {
  const db = t.engine.database.db;
  const connectors = await db.selectFrom('connector_accounts').selectAll().orderBy('id').execute();
  const events = await db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return { connectors, events: Number(events.n) };
}

describe('connectors API: errors', () => {
  let t: TestEngine;
  let existing: Json;
  const send = (method: string, path: string, body: unknown) =>
    rawRequest(t, method, path, { body: JSON.stringify(body), contentType: 'application/json' });

  /** Sends the request, expects a 400 naming `param`, and checks nothing changed. */
  async function rejects(
    method: string,
    path: string,
    body: unknown,
    param: string | undefined,
    code?: string,
  ) {
    const before = await snapshot(t);
    const res = await send(method, path, body);
    const label = `${method} ${path} ${JSON.stringify(body)}`;
    assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error.param, param, `${label}: ${JSON.stringify(res.json)}`);
    if (code) assert.equal(res.json.error.code, code, label);
    assert.equal(res.json.error.type, 'invalid_request_error');
    assert.deepEqual(await snapshot(t), before, `${label} changed something`);
  }

  before(async () => {
    t = await startEngine();
    const res = await send('POST', '/v1/connectors', VALID);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    existing = res.json;
  });
  after(async () => {
    await t.close();
  });

  test('create: every field, every kind of bad value', async () => {
    const long = (n: number) => 'x'.repeat(n);
    // A name not yet taken, so each case fails on its own field alone.
    const base = { ...VALID, name: 'fresh' };
    const { type: _type, ...noType } = base;
    const { name: _name, ...noName } = base;
    const { base_url: _baseUrl, ...noBaseUrl } = base;
    const cases: [unknown, string, string?][] = [
      [noType, 'type', 'parameter_missing'],
      [{ ...base, type: 'paypal' }, 'type', 'parameter_invalid'],
      [{ ...base, type: 7 }, 'type'],
      [noName, 'name', 'parameter_missing'],
      [{ ...base, name: '' }, 'name', 'parameter_invalid_empty'],
      [{ ...base, name: long(101) }, 'name'],
      [{ ...base, name: 'primary' }, 'name', 'parameter_invalid'],
      [{ ...base, credentials: {} }, `credentials[${PSP_KEY}]`, 'parameter_missing'],
      [{ ...base, credentials: undefined }, `credentials[${PSP_KEY}]`, 'parameter_missing'],
      [{ ...base, credentials: { [PSP_KEY]: '' } }, `credentials[${PSP_KEY}]`],
      [{ ...base, credentials: { [PSP_KEY]: long(4097) } }, `credentials[${PSP_KEY}]`],
      [{ ...base, credentials: { [PSP_KEY]: { a: 1 } } }, `credentials[${PSP_KEY}]`],
      [
        { ...base, credentials: { ...VALID.credentials, password: 'x' } },
        'credentials[password]',
        'parameter_unknown',
      ],
      [{ ...base, credentials: 'sk_live_x' }, 'credentials'],
      [noBaseUrl, 'base_url', 'parameter_missing'],
      [{ ...base, base_url: '' }, 'base_url', 'parameter_missing'],
      [{ ...base, base_url: 'ftp://127.0.0.1' }, 'base_url'],
      [{ ...base, base_url: 'not a url' }, 'base_url'],
      [{ ...base, base_url: 'http://user:pw@127.0.0.1' }, 'base_url'],
      [{ ...base, base_url: 'http://127.0.0.1/#frag' }, 'base_url'],
      [{ ...base, base_url: `http://127.0.0.1/${long(2048)}` }, 'base_url'],
      [{ type: 'sandbox', name: 'sb', base_url: 'http://127.0.0.1' }, 'base_url'],
      [{ type: 'sandbox', name: 'sb', credentials: { x: 'y' } }, 'credentials[x]'],
      [{ ...base, currencies: ['xyz'] }, 'currencies[0]', 'invalid_currency'],
      [{ ...base, currencies: ['usd', 'us'] }, 'currencies[1]'],
      [{ ...base, currencies: [] }, 'currencies'],
      [{ ...base, currencies: 'usd' }, 'currencies'],
      [{ ...base, payment_method_types: ['paypal'] }, 'payment_method_types[0]'],
      [{ ...base, payment_method_types: [] }, 'payment_method_types'],
      [{ ...base, payment_method_types: 'card' }, 'payment_method_types'],
      [{ ...base, fees: { percent: '101' } }, 'fees[percent]'],
      [{ ...base, fees: { percent: '100.0001' } }, 'fees[percent]'],
      [{ ...base, fees: { percent: '-1' } }, 'fees[percent]'],
      [{ ...base, fees: { percent: '2.12345' } }, 'fees[percent]'],
      [{ ...base, fees: { percent: '1e1' } }, 'fees[percent]'],
      [{ ...base, fees: { percent: 'abc' } }, 'fees[percent]'],
      [{ ...base, fees: { percent: 0.00001 } }, 'fees[percent]'],
      [{ ...base, fees: { fixed: -1 } }, 'fees[fixed]'],
      [{ ...base, fees: { fixed: 1.5 } }, 'fees[fixed]', 'parameter_invalid_integer'],
      [{ ...base, fees: { fixed: LIMITS.amountMinorMax + 1 } }, 'fees[fixed]'],
      [{ ...base, fees: { flat: 1 } }, 'fees[flat]', 'parameter_unknown'],
      [{ ...base, fees: '2.9' }, 'fees'],
      [{ ...base, timeout_ms: LIMITS.connectorTimeoutMsMin - 1 }, 'timeout_ms'],
      [{ ...base, timeout_ms: LIMITS.connectorTimeoutMsMax + 1 }, 'timeout_ms'],
      [{ ...base, timeout_ms: 'soon' }, 'timeout_ms', 'parameter_invalid_integer'],
      [{ ...base, status: 'paused' }, 'status'],
      [{ ...base, metadata: 'x' }, 'metadata'],
      [{ ...base, metadata: { [long(41)]: 'v' } }, 'metadata'],
      [{ ...base, colour: 'blue' }, 'colour', 'parameter_unknown'],
    ];
    for (const [body, param, code] of cases) {
      await rejects('POST', '/v1/connectors', body, param, code);
    }
  });

  test('form-encoded bodies name the same params, as the stripe SDK reports them', async () => {
    const before = await snapshot(t);
    for (const [params, param] of [
      [{ ...VALID, name: 'f1', currencies: ['usd', 'nope'] }, 'currencies[1]'],
      [{ ...VALID, name: 'f2', fees: { percent: '2.99999' } }, 'fees[percent]'],
      [{ ...VALID, name: 'f3', credentials: { other: 'x' } }, 'credentials[other]'],
    ] as const) {
      await assert.rejects(t.stripe.rawRequest('POST', '/v1/connectors', params), (e: Json) => {
        assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
        assert.equal(e.param, param);
        return true;
      });
    }
    assert.deepEqual(await snapshot(t), before);
  });

  test('update: bad values, a type change and a taken name change nothing', async () => {
    const second = await send('POST', '/v1/connectors', { ...VALID, name: 'secondary' });
    assert.equal(second.status, 200);
    const path = `/v1/connectors/${existing.id}`;
    const cases: [unknown, string, string?][] = [
      [{ type: 'stripe' }, 'type', 'parameter_invalid'],
      [{ name: 'secondary' }, 'name', 'parameter_invalid'],
      [{ name: '' }, 'name'],
      [{ credentials: {} }, `credentials[${PSP_KEY}]`, 'parameter_missing'],
      [{ credentials: { nope: 'x' } }, 'credentials[nope]', 'parameter_unknown'],
      [{ base_url: '' }, 'base_url'],
      [{ base_url: 'javascript:alert(1)' }, 'base_url'],
      [{ currencies: ['usd', 'abc'] }, 'currencies[1]'],
      [{ fees: { percent: '250' } }, 'fees[percent]'],
      [{ timeout_ms: 0 }, 'timeout_ms'],
      [{ status: 'deleted' }, 'status'],
      [{ created: 1 }, 'created', 'parameter_unknown'],
    ];
    for (const [body, param, code] of cases) await rejects('POST', path, body, param, code);
    const res = await send('POST', path, { type: existing.type, name: 'primary' });
    assert.equal(res.status, 200, 'the same type and name are fine');
  });

  test('unknown ids are 404 and at most connectorAccountsMax connectors per account and mode', async () => {
    for (const [method, path] of [
      ['GET', '/v1/connectors/conn_doesnotexist'],
      ['POST', '/v1/connectors/conn_doesnotexist'],
      ['DELETE', '/v1/connectors/conn_doesnotexist'],
      ['GET', '/v1/connectors/conn_doesnotexist/health'],
    ] as const) {
      const res = await rawRequest(t, method, path, method === 'POST' ? { body: 'name=x' } : {});
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.json.error.code, 'resource_missing');
    }

    const account = await t.engine.accounts.createAccount();
    const key = await t.engine.accounts.createKey(account.id, { kind: 'secret', livemode: false });
    const other = { url: t.url, secretKey: key.key };
    const make = (name: string) =>
      rawRequest(other, 'POST', '/v1/connectors', {
        body: JSON.stringify({ type: 'sandbox', name }),
        contentType: 'application/json',
      });
    const ids: string[] = [];
    for (let i = 0; i < LIMITS.connectorAccountsMax; i++) {
      const res = await make(`c${i}`);
      assert.equal(res.status, 200);
      ids.push(res.json.id);
    }
    const before = await snapshot(t);
    const over = await make('one too many');
    assert.equal(over.status, 400);
    assert.equal(over.json.error.code, 'connector_limit_reached');
    assert.deepEqual(await snapshot(t), before);
    // Deleted ones do not count.
    await rawRequest(other, 'DELETE', `/v1/connectors/${ids[0]}`);
    assert.equal((await make('fits again')).status, 200);
  });
});
