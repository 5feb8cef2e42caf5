import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { SQLITE_FILE } from '../src/db/database.ts';
import { rawRequest, startEngine, type TestEngine, testDialect } from './helpers/engine.ts';

const nextYear = new Date().getUTCFullYear() + 1;

function isStatus(status: number, type: new (...args: never[]) => Error, code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.equal((error as { statusCode?: number }).statusCode, status);
    assert.equal((error as { code?: string }).code, code);
    return true;
  };
}

describe('payment methods: security', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('a publishable key creates but cannot read, list, update, attach or detach', async () => {
    const pk = t.client(t.publishableKey);
    const pm = await pk.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 1, exp_year: nextYear, cvc: '123' },
    });
    const customer = await t.stripe.customers.create({});
    const denied = isStatus(
      403,
      Stripe.errors.StripePermissionError,
      'api_key_insufficient_permissions',
    );
    await assert.rejects(pk.paymentMethods.retrieve(pm.id), denied);
    await assert.rejects(pk.paymentMethods.retrieve('pm_card_visa'), denied);
    await assert.rejects(pk.paymentMethods.list({ customer: customer.id }), denied);
    await assert.rejects(pk.customers.listPaymentMethods(customer.id), denied);
    await assert.rejects(pk.paymentMethods.update(pm.id, { metadata: { a: 'b' } }), denied);
    await assert.rejects(pk.paymentMethods.attach(pm.id, { customer: customer.id }), denied);
    await assert.rejects(pk.paymentMethods.detach(pm.id), denied);
  });

  test('another account and live mode see 404 resource_missing', async () => {
    const customer = await t.stripe.customers.create({});
    const pm = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const other = await t.engine.accounts.createAccount();
    const otherKey = await t.engine.accounts.createKey(other.id, {
      kind: 'secret',
      livemode: false,
    });
    const liveKey = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: true,
    });
    const missing = isStatus(404, Stripe.errors.StripeInvalidRequestError, 'resource_missing');
    for (const key of [otherKey.key, liveKey.key]) {
      const c = t.client(key);
      await assert.rejects(c.paymentMethods.retrieve(pm.id), missing);
      await assert.rejects(c.paymentMethods.update(pm.id, { metadata: { a: 'b' } }), missing);
      await assert.rejects(c.paymentMethods.detach(pm.id), missing);
      await assert.rejects(c.paymentMethods.list({ customer: customer.id }), missing);
      await assert.rejects(c.customers.listPaymentMethods(customer.id), missing);
      await assert.rejects(c.customers.retrievePaymentMethod(customer.id, pm.id), missing);
      const theirCustomer = await c.customers.create({});
      await assert.rejects(c.paymentMethods.attach(pm.id, { customer: theirCustomer.id }), missing);
      const theirs = await c.paymentMethods.create({
        type: 'card',
        card: { number: '4242424242424242', exp_month: 1, exp_year: nextYear },
      });
      // Our customer is not theirs either.
      await assert.rejects(c.paymentMethods.attach(theirs.id, { customer: customer.id }), missing);
      assert.equal(theirs.livemode, key === liveKey.key);
    }
    const fetched = await t.stripe.paymentMethods.retrieve(pm.id);
    assert.equal(fetched.customer, customer.id, 'untouched by the others');
    assert.deepEqual(fetched.metadata, {});
  });

  test('test payment-method ids do not exist in live mode', async () => {
    const liveKey = await t.engine.accounts.createKey(t.accountId, {
      kind: 'secret',
      livemode: true,
    });
    const live = t.client(liveKey.key);
    const missing = isStatus(404, Stripe.errors.StripeInvalidRequestError, 'resource_missing');
    await assert.rejects(live.paymentMethods.retrieve('pm_card_visa'), missing);
    const customer = await live.customers.create({});
    await assert.rejects(
      live.paymentMethods.attach('pm_card_visa', { customer: customer.id }),
      missing,
    );
  });

  test('the same card has different fingerprints in different accounts', async () => {
    const other = await t.engine.accounts.createAccount();
    const otherKey = await t.engine.accounts.createKey(other.id, {
      kind: 'secret',
      livemode: false,
    });
    const ours = await t.stripe.paymentMethods.retrieve('pm_card_visa');
    const theirs = await t.client(otherKey.key).paymentMethods.retrieve('pm_card_visa');
    assert.notEqual(ours.card?.fingerprint, theirs.card?.fingerprint);
  });

  test('no card number, IBAN or account number in the database file or the logs', async () => {
    const number = '4000056655665556';
    const pm = await t.stripe.paymentMethods.create({
      type: 'card',
      card: { number, exp_month: 1, exp_year: nextYear, cvc: '987' },
    });
    const r = await rawRequest(t, 'POST', '/v1/payment_methods', {
      body: `type=card&card[number]=${number}&card[exp_month]=13&card[exp_year]=${nextYear}`,
      headers: { 'idempotency-key': 'bad-expiry-with-number' },
    });
    assert.equal(r.status, 402);
    assert.ok(!JSON.stringify(r.json).includes(number));
    await t.stripe.paymentMethods.create({
      type: 'sepa_debit',
      sepa_debit: { iban: 'DE89370400440532013000' },
      billing_details: { name: 'Jenny Rosen', email: 'jenny@example.com' },
    });
    await t.stripe.paymentMethods.create({
      type: 'us_bank_account',
      us_bank_account: { account_number: '987654321012', routing_number: '110000000' },
      billing_details: { name: 'Jenny Rosen' },
    });
    // A payment with the raw number in payment_method_data, confirmed and refunded.
    const intent = await t.stripe.paymentIntents.create({
      amount: 1234,
      currency: 'usd',
      confirm: true,
      payment_method_data: {
        type: 'card',
        card: { number, exp_month: 1, exp_year: nextYear, cvc: '987' },
      } as never,
    });
    assert.equal(intent.status, 'succeeded');
    await t.stripe.refunds.create({ payment_intent: intent.id });
    const row = await t.engine.database.db
      .selectFrom('payment_methods')
      .selectAll()
      .where('id', '=', pm.id)
      .executeTakeFirstOrThrow();
    assert.ok(row.secret_enc?.startsWith('v1.'));
    assert.ok(!JSON.stringify(row).includes(number));
    for (const column of [row.details, row.billing_details, row.metadata]) {
      assert.ok(!column.includes('987'), 'no cvc');
    }

    const secrets = [number, 'DE89370400440532013000', '0532013000', '987654321012'];
    const logs = fs.readFileSync(t.logFile, 'utf8');
    for (const secret of secrets) assert.ok(!logs.includes(secret), `${secret} is not in the log`);
    if (testDialect() !== 'sqlite') return;
    const file = path.join(t.dataDir, SQLITE_FILE);
    const bytes = Buffer.concat(
      [file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
    );
    assert.ok(bytes.length > 0);
    for (const secret of secrets) {
      assert.equal(bytes.indexOf(secret), -1, `${secret} is not in the SQLite files`);
    }
  });
});
