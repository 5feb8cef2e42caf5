import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

async function stripeError(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Stripe.errors.StripeError, String(error));
    return error;
  }
  assert.fail('expected an error');
}

describe('refunds: errors', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('over-refund is refused and changes nothing', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const charge = String(pi.latest_charge);
    await t.stripe.refunds.create({ charge, amount: 700 });
    const counts = await tableCounts(t);
    const error = await stripeError(t.stripe.refunds.create({ charge, amount: 301 }));
    assert.equal(error.code, 'refund_amount_too_large');
    assert.equal(error.statusCode, 400);
    assert.equal((await t.stripe.charges.retrieve(charge)).amount_refunded, 700);
    assert.equal((await t.stripe.refunds.list({ charge })).data.length, 1);
    assert.deepEqual(await tableCounts(t), counts);
    await t.stripe.refunds.create({ charge });
    const again = await stripeError(t.stripe.refunds.create({ charge, amount: 1 }));
    assert.equal(again.code, 'charge_already_refunded');
  });

  test('concurrent refunds never exceed the captured amount', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const charge = String(pi.latest_charge);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => t.stripe.refunds.create({ charge, amount: 300 })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    assert.equal((await t.stripe.charges.retrieve(charge)).amount_refunded, 900);
  });

  test('refunding an uncaptured intent is refused', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const byPi = await stripeError(t.stripe.refunds.create({ payment_intent: pi.id }));
    assert.equal(byPi.code, 'payment_intent_unexpected_state');
    const byCharge = await stripeError(
      t.stripe.refunds.create({ charge: String(pi.latest_charge) }),
    );
    assert.equal(byCharge.code, 'charge_not_refundable');
  });

  test('missing target and unknown ids', async () => {
    const missing = await stripeError(t.stripe.refunds.create({}));
    assert.equal(missing.code, 'parameter_missing');
    const unknown = await stripeError(t.stripe.refunds.create({ charge: 'ch_nope' }));
    assert.equal(unknown.statusCode, 404);
    const bad = await stripeError(t.stripe.refunds.retrieve('re_nope'));
    assert.equal(bad.statusCode, 404);
  });
});
