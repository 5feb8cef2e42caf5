import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEngine, type TestEngine } from './helpers/engine.ts';

describe('refunds: happy paths', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  const paid = (amount: number) =>
    t.stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });

  test('full refund by payment_intent', async () => {
    const pi = await paid(2000);
    const refund = await t.stripe.refunds.create({
      payment_intent: pi.id,
      reason: 'requested_by_customer',
    });
    assert.match(refund.id, /^re_/);
    assert.equal(refund.amount, 2000);
    assert.equal(refund.status, 'succeeded');
    assert.equal(refund.charge, pi.latest_charge);
    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(charge.amount_refunded, 2000);
    assert.equal(charge.refunded, true);
  });

  test('several partial refunds by charge, up to the captured amount', async () => {
    const pi = await paid(1000);
    const charge = String(pi.latest_charge);
    await t.stripe.refunds.create({ charge, amount: 300 });
    await t.stripe.refunds.create({ charge, amount: 200, metadata: { n: '2' } });
    const rest = await t.stripe.refunds.create({ charge });
    assert.equal(rest.amount, 500);
    const c = await t.stripe.charges.retrieve(charge);
    assert.equal(c.amount_refunded, 1000);
    assert.equal(c.refunded, true);
    const list = await t.stripe.refunds.list({ charge });
    assert.deepEqual(
      list.data.map((r) => r.amount),
      [500, 200, 300],
    );
    const byPi = await t.stripe.refunds.list({ payment_intent: pi.id });
    assert.equal(byPi.data.length, 3);
    const ops = await fetch(`${t.url}/v1/payment_intents/${pi.id}/attempts`, {
      headers: { authorization: `Bearer ${t.secretKey}` },
    }).then((r) => r.json() as Promise<{ data: Array<{ operation: string }> }>);
    assert.deepEqual(
      ops.data.map((a) => a.operation),
      ['authorize', 'refund', 'refund', 'refund'],
    );
  });

  test('partially captured payment refunds up to the captured amount', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    await t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 600 });
    const refund = await t.stripe.refunds.create({ payment_intent: pi.id });
    assert.equal(refund.amount, 600);
  });

  test('retrieve, update metadata, events', async () => {
    const pi = await paid(500);
    const refund = await t.stripe.refunds.create({ payment_intent: pi.id, amount: 100 });
    const fetched = await t.stripe.refunds.retrieve(refund.id);
    assert.equal(fetched.amount, 100);
    const updated = await t.stripe.refunds.update(refund.id, { metadata: { ticket: '42' } });
    assert.deepEqual(updated.metadata, { ticket: '42' });
    const events = await t.stripe.events.list({ limit: 5 });
    const types = events.data.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), [
      'charge.refund.updated',
      'refund.updated',
      'charge.refunded',
      'refund.created',
    ]);
  });
});
