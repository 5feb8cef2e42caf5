import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

async function stripeError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Stripe.errors.StripeError, String(error));
    return error;
  }
  assert.fail('expected an error');
}

describe('payment intents: security', () => {
  let t: TestEngine;
  let other: Stripe;
  let live: Stripe;
  before(async () => {
    t = await startEngine();
    const account = await t.engine.accounts.createAccount({ businessName: 'Other' });
    other = t.client(
      (await t.engine.accounts.createKey(account.id, { kind: 'secret', livemode: false })).key,
    );
    live = t.client(
      (await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true })).key,
    );
  });
  after(async () => {
    await t.close();
  });

  test("another account's intent, charge and refund are 404", async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const refund = await t.stripe.refunds.create({ payment_intent: pi.id });
    const calls = [
      () => other.paymentIntents.retrieve(pi.id),
      () => other.paymentIntents.confirm(pi.id),
      () => other.paymentIntents.cancel(pi.id),
      () => other.charges.retrieve(String(pi.latest_charge)),
      () => other.refunds.retrieve(refund.id),
      () => other.refunds.create({ payment_intent: pi.id }),
    ];
    for (const call of calls) assert.equal((await stripeError(call())).statusCode, 404);
    assert.equal((await other.paymentIntents.list()).data.length, 0);
    assert.equal((await other.charges.list()).data.length, 0);
  });

  test('a live-mode key cannot see test-mode intents; live confirm needs a processor', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    assert.equal((await stripeError(live.paymentIntents.retrieve(pi.id))).statusCode, 404);
    const livePi = await live.paymentIntents.create({ amount: 100, currency: 'usd' });
    assert.equal(livePi.livemode, true);
    const error = await stripeError(
      live.paymentIntents.confirm(livePi.id, { payment_method: 'pm_card_visa' }),
    );
    assert.equal(error.code, 'processor_not_configured');
    assert.equal(error.statusCode, 400);
    assert.equal((await live.paymentIntents.retrieve(livePi.id)).status, 'requires_payment_method');
    const helper = await rawRequest(
      t,
      'POST',
      `/v1/test_helpers/payment_intents/${livePi.id}/authenticate`,
      {
        body: 'result=succeed',
        key: null,
      },
    );
    assert.equal(helper.status, 401);
  });

  test('publishable keys cannot create or read intents; card numbers never appear in responses', async () => {
    const r = await rawRequest(t, 'POST', '/v1/payment_intents', {
      body: 'amount=100&currency=usd',
      key: t.publishableKey,
    });
    assert.equal(r.status, 403);
    const pi = await rawRequest(t, 'POST', '/v1/payment_intents', {
      body: 'amount=100&currency=usd&confirm=true&payment_method_data[type]=card&payment_method_data[card][number]=4000000000000002&payment_method_data[card][exp_month]=12&payment_method_data[card][exp_year]=2040&payment_method_data[card][cvc]=123',
    });
    assert.equal(pi.status, 402);
    assert.ok(!JSON.stringify(pi.json).includes('4000000000000002'));
  });
});
