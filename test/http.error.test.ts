import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import Stripe from 'stripe';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

// What the HTTP layer does with requests it must refuse: the right status and
// Stripe error body, never a 500, and nothing written.

describe('http: errors', () => {
  let t: TestEngine;
  let counts: Record<string, number>;
  before(async () => {
    t = await startEngine();
    await t.stripe.customers.create({ email: 'existing@example.com' });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    counts = await tableCounts(t);
  });
  afterEach(async () => {
    // Every request in this file is refused: none may change anything.
    assert.deepEqual(await tableCounts(t), counts, 'a rejected request changed the database');
  });

  function expectError(
    // biome-ignore lint/suspicious/noExplicitAny: an error body of any shape is what is checked.
    res: { status: number; json: any },
    status: number,
    expected: { type?: string; code?: string; param?: string },
  ): void {
    assert.equal(res.status, status, JSON.stringify(res.json));
    assert.equal(typeof res.json?.error?.message, 'string');
    assert.equal(res.json.error.type, expected.type ?? 'invalid_request_error');
    if (expected.code) assert.equal(res.json.error.code, expected.code);
    if (expected.param) assert.equal(res.json.error.param, expected.param);
  }

  test('malformed JSON is a 400 invalid_request_error', async () => {
    for (const body of ['{"email":', '{email: 1}', '[1,', '\u0000', '"unterminated']) {
      const res = await rawRequest(t, 'POST', '/v1/customers', {
        body,
        contentType: 'application/json',
      });
      expectError(res, 400, { code: 'invalid_request_body' });
    }
    // Valid JSON that is not an object of parameters.
    for (const body of ['[]', '"text"', '42', 'null']) {
      const res = await rawRequest(t, 'POST', '/v1/customers', {
        body,
        contentType: 'application/json',
      });
      expectError(res, 400, {});
    }
  });

  test('an unsupported content type is a 415', async () => {
    for (const contentType of [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await rawRequest(t, 'POST', '/v1/customers', {
        body: 'email=a@example.com',
        contentType,
      });
      expectError(res, 415, { code: 'unsupported_content_type' });
    }
  });

  test('a body over the limit is a 413', async () => {
    const body = `email=a%40example.com&description=${'x'.repeat(LIMITS.bodyBytesMax)}`;
    const res = await rawRequest(t, 'POST', '/v1/customers', { body });
    expectError(res, 413, { code: 'request_too_large' });
    const json = JSON.stringify({ description: 'x'.repeat(LIMITS.bodyBytesMax) });
    expectError(
      await rawRequest(t, 'POST', '/v1/customers', { body: json, contentType: 'application/json' }),
      413,
      {
        code: 'request_too_large',
      },
    );
  });

  test('an unknown route is a 404 route_missing, with or without a key', async () => {
    expectError(await rawRequest(t, 'GET', '/v1/nothing_here'), 404, { code: 'route_missing' });
    expectError(await rawRequest(t, 'POST', '/v1/nothing_here', { body: 'a=1' }), 404, {
      code: 'route_missing',
    });
    expectError(await rawRequest(t, 'GET', '/v2/customers', { key: null }), 404, {
      code: 'route_missing',
    });
    await assert.rejects(
      t.stripe.rawRequest('GET', '/v1/nothing_here'),
      (e: unknown) => e instanceof Stripe.errors.StripeInvalidRequestError && e.statusCode === 404,
    );
  });

  test('an unknown parameter names itself, nested ones with brackets', async () => {
    await assert.rejects(
      t.stripe.customers.create({
        email: 'a@example.com',
        colour: 'red',
      } as Stripe.CustomerCreateParams),
      (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
        assert.equal(e.code, 'parameter_unknown');
        assert.equal(e.param, 'colour');
        return true;
      },
    );
    const nested = await rawRequest(t, 'POST', '/v1/customers', {
      body: 'address[line1]=1+Main&address[foo]=bar',
    });
    expectError(nested, 400, { code: 'parameter_unknown', param: 'address[foo]' });
    const deeper = await rawRequest(t, 'POST', '/v1/customers', {
      body: 'shipping[name]=J&shipping[address][city]=X&shipping[address][planet]=Mars',
    });
    expectError(deeper, 400, { code: 'parameter_unknown', param: 'shipping[address][planet]' });
    const json = await rawRequest(t, 'POST', '/v1/customers', {
      body: JSON.stringify({ address: { line1: '1 Main', foo: 'bar' } }),
      contentType: 'application/json',
    });
    expectError(json, 400, { code: 'parameter_unknown', param: 'address[foo]' });
    const query = await rawRequest(t, 'GET', '/v1/customers?colour=red');
    expectError(query, 400, { code: 'parameter_unknown', param: 'colour' });
  });

  test('list limit outside 1..100 or not a number names `limit`', async () => {
    for (const limit of ['0', '101', 'abc', '-1', '1.5', '']) {
      const res = await rawRequest(t, 'GET', `/v1/customers?limit=${limit}`);
      expectError(res, 400, { param: 'limit' });
      const events = await rawRequest(t, 'GET', `/v1/events?limit=${limit}`);
      expectError(events, 400, { param: 'limit' });
    }
    await assert.rejects(t.stripe.customers.list({ limit: 101 }), {
      statusCode: 400,
      param: 'limit',
    });
    assert.equal((await t.stripe.customers.list({ limit: 100 })).object, 'list');
  });

  test('metadata limits: 51 keys, a 41-character key, a 501-character value', async () => {
    const tooMany = Object.fromEntries(
      Array.from({ length: LIMITS.metadataKeysMax + 1 }, (_, i) => [`k${i}`, 'v']),
    );
    const cases: Record<string, string>[] = [
      tooMany,
      { ['k'.repeat(LIMITS.metadataKeyLengthMax + 1)]: 'v' },
      { k: 'v'.repeat(LIMITS.metadataValueLengthMax + 1) },
    ];
    for (const metadata of cases) {
      await assert.rejects(t.stripe.customers.create({ metadata }), (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
        assert.equal(e.statusCode, 400);
        assert.match(e.param ?? '', /^metadata/);
        return true;
      });
    }
    // Update that would push the merged set over the limit.
    const existing = (await t.stripe.customers.list({ limit: 1 })).data[0];
    assert.ok(existing);
    const half = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a${i}`, 'v']));
    const otherHalf = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`b${i}`, 'v']));
    const before = await t.stripe.customers.update(existing.id, { metadata: half });
    counts = await tableCounts(t);
    await assert.rejects(t.stripe.customers.update(existing.id, { metadata: otherHalf }), {
      statusCode: 400,
      param: 'metadata',
    });
    const after = await t.stripe.customers.retrieve(existing.id);
    assert.deepEqual((after as Stripe.Customer).metadata, before.metadata);
  });

  test('form bodies nested beyond the depth limit are a 400, not a 500', async () => {
    const deep = `metadata${'[a]'.repeat(LIMITS.formDepthMax + 5)}=x`;
    expectError(await rawRequest(t, 'POST', '/v1/customers', { body: deep }), 400, {});
    const wide = Array.from(
      { length: LIMITS.formParametersMax + 1 },
      (_, i) => `metadata[k${i}]=v`,
    ).join('&');
    expectError(await rawRequest(t, 'POST', '/v1/customers', { body: wide }), 400, {});
    const longArray = Array.from(
      { length: LIMITS.formArrayLengthMax + 5 },
      () => 'expand[]=x',
    ).join('&');
    expectError(await rawRequest(t, 'POST', '/v1/customers', { body: longArray }), 400, {});
  });

  test('deeply nested JSON is a 400, not a 500', async () => {
    for (const depth of [50, 5000]) {
      const body = `{"address":${'{"line1":'.repeat(depth)}"x"${'}'.repeat(depth)}}`;
      const res = await rawRequest(t, 'POST', '/v1/customers', {
        body,
        contentType: 'application/json',
      });
      expectError(res, 400, {});
      const meta = `{"metadata":${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}}`;
      expectError(
        await rawRequest(t, 'POST', '/v1/customers', {
          body: meta,
          contentType: 'application/json',
        }),
        400,
        {},
      );
    }
  });

  test('__proto__ and constructor keys do not pollute: refused (4xx) or ignored', async () => {
    // Sent as updates of an existing customer, so a body whose keys are all
    // dropped is an update that changes nothing (no row, no event).
    const existing = (await t.stripe.customers.list({ limit: 1 })).data[0];
    assert.ok(existing);
    const attempts: { body: string; contentType?: string }[] = [
      { body: '__proto__[polluted]=yes' },
      { body: '__proto__=polluted' },
      { body: 'constructor[prototype][polluted]=yes' },
      { body: 'metadata[__proto__][polluted]=yes' },
      { body: 'metadata[__proto__]=yes' },
      { body: 'address[__proto__][polluted]=yes' },
      { body: '{"__proto__":{"polluted":"yes"}}', contentType: 'application/json' },
      { body: '{"constructor":{"prototype":{"polluted":"yes"}}}', contentType: 'application/json' },
      { body: '{"metadata":{"__proto__":{"polluted":"yes"}}}', contentType: 'application/json' },
      { body: '{"metadata":{"__proto__":"yes"}}', contentType: 'application/json' },
      { body: '{"address":{"__proto__":{"polluted":"yes"}}}', contentType: 'application/json' },
    ];
    for (const attempt of attempts) {
      const res = await rawRequest(t, 'POST', `/v1/customers/${existing.id}`, attempt);
      const what = `${attempt.body}: ${res.status} ${JSON.stringify(res.json)}`;
      assert.ok(res.status < 500, what);
      if (res.status === 200) {
        assert.deepEqual(res.json.metadata, existing.metadata, what);
        assert.ok(!JSON.stringify(res.json).includes('polluted'), what);
      } else {
        assert.ok(res.status >= 400, what);
      }
      assert.equal(
        ({} as Record<string, unknown>).polluted,
        undefined,
        `${attempt.body} polluted Object.prototype`,
      );
      assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    }
    const query = await rawRequest(t, 'GET', '/v1/customers?__proto__[polluted]=yes');
    assert.ok(query.status < 500);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // `address[__proto__][x]` leaves an empty address hash, a legitimate update
    // (with its customer.updated event); no row may appear or disappear.
    const now = await tableCounts(t);
    assert.deepEqual({ ...now, events: counts.events }, counts);
    counts = now;
  });

  test('invalid values name their parameter', async () => {
    const cases: [string, string][] = [
      ['email=not-an-email', 'email'],
      ['address[country]=USA', 'address[country]'],
      [`name=${'n'.repeat(LIMITS.shortStringLengthMax + 1)}`, 'name'],
      ['metadata=not-a-hash', 'metadata'],
      ['shipping[name]=J', 'shipping[address]'],
      ['shipping[name]=J&shipping[address][country]=USA', 'shipping[address][country]'],
    ];
    for (const [body, param] of cases) {
      expectError(await rawRequest(t, 'POST', '/v1/customers', { body }), 400, { param });
    }
    expectError(await rawRequest(t, 'GET', '/v1/customers?created[gt]=soon'), 400, {});
  });

  test('an id longer than the path limit is a 404 with a Stripe error body', async () => {
    const res = await rawRequest(
      t,
      'GET',
      `/v1/customers/cus_${'x'.repeat(LIMITS.paramLengthMax + 10)}`,
    );
    expectError(res, 404, { code: 'resource_missing', param: 'id' });
    const bad = await rawRequest(t, 'GET', '/v1/customers/%E0%A4%A');
    assert.ok(bad.status === 400 || bad.status === 404, String(bad.status));
    assert.equal(typeof bad.json.error?.message, 'string');
  });

  test('a query string the parser refuses is a 400 and the engine keeps serving', async () => {
    const deep = await rawRequest(
      t,
      'GET',
      `/v1/customers?created${'[gt]'.repeat(LIMITS.formDepthMax + 5)}=1`,
    );
    expectError(deep, 400, { code: 'invalid_request_body' });
    const unauthenticated = await rawRequest(t, 'GET', `/v1/customers?a${'[b]'.repeat(20)}=1`, {
      key: null,
    });
    expectError(unauthenticated, 401, { type: 'authentication_error' });
    const health = await rawRequest(t, 'GET', '/healthz');
    assert.equal(health.status, 200);
  });
});

test('headers over 16 KiB are refused with 431 in Stripe error shape', async () => {
  const t = await startEngine();
  try {
    const response = await fetch(`${t.url}/v1/customers`, {
      headers: { authorization: `Bearer ${t.secretKey}`, 'x-filler': 'a'.repeat(20_000) },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(response.status, 431);
    const body = (await response.json()) as {
      error: { type: string; code: string; message: string };
    };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.code, 'request_header_fields_too_large');
    assert.match(body.error.message, /16 KiB/);
  } finally {
    await t.close();
  }
});
