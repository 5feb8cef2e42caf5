import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { rawRequest, startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

// Idempotency-Key through the API, with Stripe's semantics.

describe('idempotency: API', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  async function eventsFor(key: string) {
    const page = await t.stripe.events.list({ limit: 100 });
    return page.data.filter((e) => e.request?.idempotency_key === key);
  }

  async function customerCount(email: string): Promise<number> {
    const rows = await t.engine.database.db
      .selectFrom('customers')
      .select('id')
      .where('email', '=', email)
      .execute();
    return rows.length;
  }

  test('same key and same params replay the same object, with one event', async () => {
    const key = 'idem-same-1';
    const params = { email: 'same@example.com', metadata: { a: '1' } };
    const first = await t.stripe.customers.create(params, { idempotencyKey: key });
    const second = await t.stripe.customers.create(params, { idempotencyKey: key });
    assert.deepEqual({ ...second }, { ...first });
    assert.equal(second.id, first.id);
    assert.equal(first.lastResponse.headers?.['idempotent-replayed'], undefined);
    assert.equal(second.lastResponse.headers?.['idempotent-replayed'], 'true');
    const events = await eventsFor(key);
    assert.deepEqual(
      events.map((e) => e.type),
      ['customer.created'],
    );
    assert.equal(await customerCount('same@example.com'), 1);
  });

  test('same key with other params is a 400 idempotency_error and changes nothing', async () => {
    const key = 'idem-diff-1';
    await t.stripe.customers.create({ email: 'diff@example.com' }, { idempotencyKey: key });
    const before = await tableCounts(t);
    await assert.rejects(
      t.stripe.customers.create({ email: 'other@example.com' }, { idempotencyKey: key }),
      (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeIdempotencyError);
        assert.equal(e.statusCode, 400);
        assert.equal(e.type, 'StripeIdempotencyError');
        assert.equal(e.code, 'idempotency_key_reused');
        return true;
      },
    );
    // Another path under the same key is another request too.
    const res = await rawRequest(t, 'POST', '/v1/customers/cus_nope', {
      body: 'email=diff%40example.com',
      headers: { 'idempotency-key': key },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.type, 'idempotency_error');
    assert.deepEqual(await tableCounts(t), before);
  });

  test('concurrent requests with one key: exactly one executes', async () => {
    const key = 'idem-race-1';
    const body = 'email=race%40example.com&name=Race';
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        rawRequest(t, 'POST', '/v1/customers', { body, headers: { 'idempotency-key': key } }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const conflicts = results.filter((r) => r.status === 409);
    assert.equal(
      ok.length + conflicts.length,
      results.length,
      `statuses ${results.map((r) => r.status)}`,
    );
    assert.ok(ok.length >= 1);
    const ids = new Set(ok.map((r) => r.json.id));
    assert.equal(ids.size, 1, 'every success is the same customer');
    assert.equal(
      ok.filter((r) => r.headers.get('idempotent-replayed') !== 'true').length,
      1,
      'one execution',
    );
    for (const c of conflicts) {
      assert.equal(c.json.error.type, 'idempotency_error');
      assert.equal(c.json.error.code, 'idempotency_key_in_use');
    }
    assert.equal(await customerCount('race@example.com'), 1);
    assert.equal((await eventsFor(key)).length, 1);
  });

  test('a key in use answers 409 idempotency_error through the SDK', async () => {
    // Hold a key in progress as a request in flight would, then ask with it.
    // stripe-node classifies only 400/404 idempotency errors as StripeIdempotencyError;
    // a 409 (which it retries when retries are on) arrives as StripeAPIError with
    // rawType idempotency_error, exactly as it does from Stripe.
    const key = 'idem-held-1';
    const scope = { accountId: t.accountId, livemode: false };
    const begun = await t.engine.idempotency.begin(
      { scope, key },
      { method: 'POST', path: '/v1/customers', params: { email: 'held@example.com' } },
    );
    assert.equal(begun.kind, 'execute');
    await assert.rejects(
      t.stripe.customers.create({ email: 'held@example.com' }, { idempotencyKey: key }),
      (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeError);
        assert.equal(e.rawType, 'idempotency_error');
        assert.equal(e.statusCode, 409);
        assert.equal(e.headers?.['retry-after'], '1');
        assert.equal(e.code, 'idempotency_key_in_use');
        return true;
      },
    );
    assert.equal(await customerCount('held@example.com'), 0);
  });

  test('a key longer than 255 characters is a 400', async () => {
    const before = await tableCounts(t);
    await assert.rejects(
      t.stripe.customers.create({ email: 'long@example.com' }, { idempotencyKey: 'k'.repeat(256) }),
      (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
        assert.equal(e.statusCode, 400);
        assert.equal(e.code, 'idempotency_key_too_long');
        return true;
      },
    );
    assert.deepEqual(await tableCounts(t), before);
    const ok = await t.stripe.customers.create(
      { email: 'long@example.com' },
      { idempotencyKey: 'k'.repeat(255) },
    );
    assert.match(ok.id, /^cus_/);
  });

  test('a validation error is not stored: the key then executes with corrected params', async () => {
    const key = 'idem-validation-1';
    await assert.rejects(
      t.stripe.customers.create(
        { email: 'fix@example.com', colour: 'red' } as Stripe.CustomerCreateParams,
        {
          idempotencyKey: key,
        },
      ),
      { statusCode: 400, code: 'parameter_unknown' },
    );
    const fixed = await t.stripe.customers.create(
      { email: 'fix@example.com' },
      { idempotencyKey: key },
    );
    assert.match(fixed.id, /^cus_/);
    assert.equal(fixed.lastResponse.headers?.['idempotent-replayed'], undefined);
    assert.equal(await customerCount('fix@example.com'), 1);
  });

  test('an error after execution started is stored and replayed', async () => {
    const customer = await t.stripe.customers.create({ email: 'gone@example.com' });
    await t.stripe.customers.del(customer.id);
    const key = 'idem-exec-error-1';
    const first = await rawRequest(t, 'POST', `/v1/customers/${customer.id}`, {
      body: 'name=Ghost',
      headers: { 'idempotency-key': key },
    });
    assert.equal(first.status, 400);
    assert.equal(first.json.error.code, 'customer_deleted');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const row = await t.engine.database.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, 'done');
    assert.equal(row.response_status, 400);

    await assert.rejects(
      t.stripe.customers.update(customer.id, { name: 'Ghost' }, { idempotencyKey: key }),
      (e: unknown) => {
        assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
        assert.equal(e.statusCode, 400);
        assert.equal(e.code, 'customer_deleted');
        assert.equal(e.headers?.['idempotent-replayed'], 'true');
        return true;
      },
    );
  });

  test('keys are scoped per account and per mode', async () => {
    const key = 'idem-scoped-1';
    const params = { email: 'scoped@example.com' };
    const testMode = await t.stripe.customers.create(params, { idempotencyKey: key });
    const liveKey = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: true,
    });
    const liveMode = await t.client(liveKey.key).customers.create(params, { idempotencyKey: key });
    const other = await t.engine.accounts.createAccount();
    const otherKey = await t.engine.accounts.createKey(other.id, {
      kind: 'secret',
      livemode: false,
    });
    const otherAccount = await t
      .client(otherKey.key)
      .customers.create(params, { idempotencyKey: key });
    assert.equal(new Set([testMode.id, liveMode.id, otherAccount.id]).size, 3);
    assert.equal(liveMode.livemode, true);
    for (const c of [liveMode, otherAccount])
      assert.equal(c.lastResponse.headers?.['idempotent-replayed'], undefined);
    // A different-params request in another scope is not a reuse either.
    const otherParams = await t
      .client(otherKey.key)
      .customers.create({ email: 'x@example.com' }, { idempotencyKey: 'idem-diff-1' });
    assert.match(otherParams.id, /^cus_/);
  });

  test('GET requests ignore the Idempotency-Key header', async () => {
    const customer = await t.stripe.customers.create({ email: 'get@example.com' });
    const headers = { 'idempotency-key': 'idem-get-1' };
    const a = await rawRequest(t, 'GET', `/v1/customers/${customer.id}`, { headers });
    await t.stripe.customers.update(customer.id, { name: 'Changed' });
    const b = await rawRequest(t, 'GET', `/v1/customers/${customer.id}`, { headers });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(b.headers.get('idempotent-replayed'), null);
    assert.equal(b.json.name, 'Changed', 'the second GET was not a replay');
    const tooLong = await rawRequest(t, 'GET', '/v1/customers', {
      headers: { 'idempotency-key': 'k'.repeat(300) },
    });
    assert.equal(tooLong.status, 200);
    const stored = await t.engine.database.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('key', 'in', ['idem-get-1', 'k'.repeat(300)])
      .execute();
    assert.deepEqual(stored, []);
  });
});
