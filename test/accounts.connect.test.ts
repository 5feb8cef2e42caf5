import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Connected accounts (Stripe Connect) through the official SDK: create,
// retrieve, update, list; the Stripe-Account header reads in a connected
// account's scope; another platform sees none of it.

async function expectStripeError(
  promise: Promise<unknown>,
): Promise<InstanceType<typeof Stripe.errors.StripeError>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Stripe.errors.StripeError, String(error));
    return error;
  }
  assert.fail('expected an error');
}

async function countAccounts(t: TestEngine): Promise<number> {
  const row = await t.engine.database.db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('connected accounts', () => {
  let t: TestEngine;
  /** A second platform with its own secret key. */
  let other: Stripe;
  let otherKey = '';
  before(async () => {
    t = await startEngine();
    const account = await t.engine.accounts.createAccount({ businessName: 'Other platform' });
    const key = await t.engine.accounts.createKey(account.id, { kind: 'secret', livemode: false });
    otherKey = key.key;
    other = t.client(key.key);
  });
  after(async () => {
    await t.close();
  });

  test('happy: create, retrieve, update and list connected accounts', async () => {
    const created = await t.stripe.accounts.create({
      type: 'custom',
      country: 'de',
      email: 'shop@example.com',
      business_profile: { name: 'Berlin Bikes' },
      default_currency: 'EUR',
      metadata: { seller: '42' },
    });
    assert.match(created.id, /^acct_/);
    assert.equal(created.object, 'account');
    assert.equal(created.type, 'custom');
    assert.equal(created.country, 'DE');
    assert.equal(created.email, 'shop@example.com');
    assert.equal(created.default_currency, 'eur');
    assert.equal(created.charges_enabled, true);
    assert.equal(created.payouts_enabled, true);
    assert.equal(created.business_profile?.name, 'Berlin Bikes');
    assert.deepEqual(created.metadata, { seller: '42' });
    assert.equal(typeof created.created, 'number');

    const fetched = await t.stripe.accounts.retrieve(created.id);
    assert.deepEqual(fetched, created);

    const updated = await t.stripe.accounts.update(created.id, {
      email: 'owner@example.com',
      business_profile: { name: 'Berlin Bikes GmbH' },
      metadata: { seller: '', tier: 'gold' },
    });
    assert.equal(updated.email, 'owner@example.com');
    assert.equal(updated.business_profile?.name, 'Berlin Bikes GmbH');
    assert.deepEqual(updated.metadata, { tier: 'gold' });
    assert.equal(updated.country, 'DE');

    // The caller itself is retrievable by id too.
    const self = await t.stripe.accounts.retrieve(t.accountId);
    assert.equal(self.id, t.accountId);
  });

  test('happy: defaults come from the platform; list paginates newest first', async () => {
    const a = await t.stripe.accounts.create({ type: 'custom' });
    assert.equal(a.country, 'US');
    assert.equal(a.default_currency, 'usd');
    const b = await t.stripe.accounts.create({});
    assert.equal(b.type, 'custom');
    const page1 = await t.stripe.accounts.list({ limit: 2 });
    assert.deepEqual(
      page1.data.map((x) => x.id),
      [b.id, a.id],
    );
    assert.equal(page1.has_more, true);
    const page2 = await t.stripe.accounts.list({ limit: 2, starting_after: a.id });
    assert.ok(page2.data.length >= 1);
    assert.ok(!page2.data.some((x) => x.id === t.accountId), 'the platform is not listed');
    const all = await t.stripe.accounts.list({ limit: 100 });
    assert.ok(all.data.every((x) => x.type === 'custom'));
  });

  test('happy: Stripe-Account reads the balance and account of a connected account', async () => {
    const acct = await t.stripe.accounts.create({ type: 'custom', default_currency: 'eur' });
    const balance = await t.stripe.balance.retrieve({}, { stripeAccount: acct.id });
    assert.equal(balance.object, 'balance');
    assert.deepEqual(
      balance.pending.map((b) => [b.currency, b.amount]),
      [['eur', 0]],
    );
    const txns = await t.stripe.balanceTransactions.list({}, { stripeAccount: acct.id });
    assert.deepEqual(txns.data, []);
    const res = await rawRequest(t, 'GET', '/v1/account', {
      headers: { 'stripe-account': acct.id },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.id, acct.id);
    // Naming oneself is the same as no header.
    const own = await rawRequest(t, 'GET', '/v1/account', {
      headers: { 'stripe-account': t.accountId },
    });
    assert.equal(own.json.id, t.accountId);
  });

  test('error: unsupported type, bad country, currency and parameters write nothing', async () => {
    const before = await countAccounts(t);
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ type: 'express' }, 'parameter_invalid', 'type'],
      [{ type: 'standard' }, 'parameter_invalid', 'type'],
      [{ type: 'platinum' }, 'parameter_invalid', 'type'],
      [{ country: 'Deutschland' }, 'parameter_invalid', 'country'],
      [{ default_currency: 'xyz' }, 'invalid_currency', 'default_currency'],
      [{ email: 'not-an-email' }, 'email_invalid', 'email'],
      [
        { business_profile: { url: 'https://x.test' } },
        'parameter_unknown',
        'business_profile[url]',
      ],
    ];
    for (const [params, code, param] of cases) {
      const error = await expectStripeError(t.stripe.accounts.create(params as never));
      assert.equal(error.statusCode, 400, JSON.stringify(params));
      assert.equal(error.code, code, JSON.stringify(params));
      assert.equal(error.param, param, JSON.stringify(params));
    }
    assert.equal(await countAccounts(t), before);
    const missing = await expectStripeError(t.stripe.accounts.retrieve('acct_doesnotexist'));
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.code, 'resource_missing');
  });

  test('security: another platform cannot see, change or act as my connected account', async () => {
    const mine = await t.stripe.accounts.create({ type: 'custom', metadata: { a: '1' } });
    for (const call of [
      () => other.accounts.retrieve(mine.id),
      () => other.accounts.update(mine.id, { metadata: { a: '2' } }),
      () => other.accounts.retrieve(t.accountId),
    ]) {
      const error = await expectStripeError(call());
      assert.equal(error.statusCode, 404);
      assert.equal(error.code, 'resource_missing');
    }
    const list = await other.accounts.list({ limit: 100 });
    assert.deepEqual(list.data, []);
    assert.deepEqual((await t.stripe.accounts.retrieve(mine.id)).metadata, { a: '1' });

    for (const acct of [mine.id, t.accountId, 'acct_doesnotexist', 'not-an-id']) {
      const error = await expectStripeError(other.balance.retrieve({}, { stripeAccount: acct }));
      assert.ok(error instanceof Stripe.errors.StripePermissionError, acct);
      assert.equal(error.statusCode, 403);
      assert.equal(error.code, 'account_invalid');
      const raw = await rawRequest(
        { url: t.url, secretKey: otherKey },
        'GET',
        '/v1/balance_transactions',
        {
          headers: { 'stripe-account': acct },
        },
      );
      assert.equal(raw.status, 403);
      assert.equal(raw.json.error.type, 'permission_error');
    }
  });

  test('security: Stripe-Account is refused on writes, and without a key', async () => {
    const acct = await t.stripe.accounts.create({ type: 'custom' });
    const before = await countAccounts(t);
    const error = await expectStripeError(
      t.stripe.accounts.create({ type: 'custom' }, { stripeAccount: acct.id }),
    );
    assert.equal(error.statusCode, 400);
    assert.equal(error.param, 'Stripe-Account');
    assert.equal(await countAccounts(t), before);
    const pi = await rawRequest(t, 'POST', '/v1/payment_intents', {
      body: 'amount=1000&currency=usd',
      headers: { 'stripe-account': acct.id },
    });
    assert.equal(pi.status, 400);
    const noKey = await rawRequest(t, 'GET', '/v1/balance', {
      key: null,
      headers: { 'stripe-account': acct.id },
    });
    assert.equal(noKey.status, 401);
    // A publishable key cannot create connected accounts.
    const pk = await expectStripeError(t.client(t.publishableKey).accounts.create({}));
    assert.equal(pk.statusCode, 403);
  });
});
