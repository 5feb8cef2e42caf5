import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEngine, type TestEngine } from './helpers/engine.ts';

async function attempts(t: TestEngine, id: string): Promise<Array<Record<string, unknown>>> {
  const r = await fetch(`${t.url}/v1/payment_intents/${id}/attempts`, {
    headers: { authorization: `Bearer ${t.secretKey}` },
  });
  assert.equal(r.status, 200);
  return ((await r.json()) as { data: Array<Record<string, unknown>> }).data;
}

describe('payment intents: happy paths', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('create + confirm with pm_card_visa, automatic capture', async () => {
    const created = await t.stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      metadata: { order: '1' },
    });
    assert.match(created.id, /^pi_[0-9a-z]{24}$/);
    assert.equal(created.status, 'requires_payment_method');
    assert.match(created.client_secret ?? '', /^pi_.+_secret_/);
    const confirmed = await t.stripe.paymentIntents.confirm(created.id, {
      payment_method: 'pm_card_visa',
    });
    assert.equal(confirmed.status, 'succeeded');
    assert.equal(confirmed.amount_received, 2000);
    assert.equal(confirmed.amount_capturable, 0);
    assert.match(String(confirmed.latest_charge), /^ch_/);
    const charge = await t.stripe.charges.retrieve(String(confirmed.latest_charge));
    assert.equal(charge.amount_captured, 2000);
    assert.equal(charge.captured, true);
    assert.equal(charge.paid, true);
    assert.equal(charge.status, 'succeeded');
    assert.equal(charge.payment_intent, created.id);
    assert.equal(charge.outcome?.network_status, 'approved_by_network');
    const list = await attempts(t, created.id);
    assert.equal(list.length, 1);
    assert.equal(list[0]?.status, 'succeeded');
    assert.equal(list[0]?.operation, 'authorize');
    assert.equal(list[0]?.connector, 'sandbox');
    assert.match(String(list[0]?.id), /^pa_/);
    const expanded = await t.stripe.paymentIntents.retrieve(created.id, {
      expand: ['latest_charge'],
    });
    assert.equal((expanded.latest_charge as { id: string }).id, charge.id);
  });

  test('create with confirm=true and manual capture, full capture', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    assert.equal(pi.status, 'requires_capture');
    assert.equal(pi.amount_capturable, 5000);
    const captured = await t.stripe.paymentIntents.capture(pi.id);
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 5000);
    const ops = (await attempts(t, pi.id)).map((a) => `${a.operation}:${a.status}`);
    assert.deepEqual(ops, ['authorize:succeeded', 'capture:succeeded']);
  });

  test('partial capture releases the rest', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 5000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const captured = await t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 3000 });
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.amount_received, 3000);
    assert.equal(captured.amount_capturable, 0);
    const charge = await t.stripe.charges.retrieve(String(captured.latest_charge));
    assert.equal(charge.amount_captured, 3000);
    assert.equal(charge.amount, 5000);
  });

  test('cancel before confirmation and after authorization', async () => {
    const a = await t.stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const canceled = await t.stripe.paymentIntents.cancel(a.id, {
      cancellation_reason: 'abandoned',
    });
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.cancellation_reason, 'abandoned');
    assert.ok(canceled.canceled_at);
    const b = await t.stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const voided = await t.stripe.paymentIntents.cancel(b.id);
    assert.equal(voided.status, 'canceled');
    assert.equal(voided.amount_capturable, 0);
    const ops = (await attempts(t, b.id)).map((x) => x.operation);
    assert.deepEqual(ops, ['authorize', 'void']);
  });

  test('update in an updatable state, then confirm', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    const updated = await t.stripe.paymentIntents.update(pi.id, {
      amount: 1500,
      payment_method: 'pm_card_mastercard',
      description: 'order 7',
      metadata: { a: 'b' },
    });
    assert.equal(updated.status, 'requires_confirmation');
    assert.equal(updated.amount, 1500);
    assert.equal(updated.description, 'order 7');
    const done = await t.stripe.paymentIntents.confirm(pi.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 1500);
  });

  test('JPY (exponent 0) and KWD (exponent 3) amounts', async () => {
    const jpy = await t.stripe.paymentIntents.create({
      amount: 500,
      currency: 'JPY',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    assert.equal(jpy.currency, 'jpy');
    assert.equal(jpy.amount_received, 500);
    const kwd = await t.stripe.paymentIntents.create({
      amount: 12345,
      currency: 'kwd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    assert.equal(kwd.amount_received, 12345);
    assert.equal(kwd.status, 'succeeded');
  });

  test('3-D Secure: requires_action, then authenticate succeed', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_threeDSecure2Required',
      confirm: true,
      return_url: 'https://shop.example/return',
    });
    assert.equal(pi.status, 'requires_action');
    assert.equal(pi.next_action?.type, 'redirect_to_url');
    assert.equal(pi.next_action?.redirect_to_url?.return_url, 'https://shop.example/return');
    assert.match(String(pi.next_action?.redirect_to_url?.url), /\/test_helpers\/3ds\/pa_/);
    const done = await authenticate(t, pi.id, 'succeed');
    assert.equal(done.status, 'succeeded');
    assert.equal(done.next_action, null);
    const ops = (await attempts(t, pi.id)).map((a) => `${a.operation}:${a.status}`);
    assert.deepEqual(ops, ['authorize:requires_action', 'authenticate:succeeded']);
  });

  test('3-D Secure: authenticate fail → requires_payment_method', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_threeDSecure2Required',
      confirm: true,
    });
    const failed = await authenticate(t, pi.id, 'fail');
    assert.equal(failed.status, 'requires_payment_method');
    assert.equal(failed.last_payment_error.code, 'payment_intent_authentication_failure');
  });

  test('list with customer filter, and events in order', async () => {
    const customer = await t.stripe.customers.create({ email: 'a@example.com' });
    const pi = await t.stripe.paymentIntents.create({
      amount: 777,
      currency: 'usd',
      customer: customer.id,
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const page = await t.stripe.paymentIntents.list({ customer: customer.id });
    assert.deepEqual(
      page.data.map((p) => p.id),
      [pi.id],
    );
    const charges = await t.stripe.charges.list({ payment_intent: pi.id });
    assert.equal(charges.data.length, 1);
    await t.stripe.refunds.create({ payment_intent: pi.id });
    const events = await t.stripe.events.list({ limit: 100 });
    const mine = events.data
      .filter((e) => {
        const o = e.data.object as { id: string; payment_intent?: string };
        return o.id === pi.id || o.payment_intent === pi.id;
      })
      .map((e) => e.type)
      .reverse();
    assert.deepEqual(mine, [
      'payment_intent.created',
      'charge.succeeded',
      'payment_intent.succeeded',
      'refund.created',
      'charge.refunded',
    ]);
  });
});

async function authenticate(t: TestEngine, id: string, result: 'succeed' | 'fail') {
  const r = await fetch(`${t.url}/v1/test_helpers/payment_intents/${id}/authenticate`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${t.secretKey}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `result=${result}`,
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON body loosely.
  const json = (await r.json()) as Record<string, any>;
  assert.equal(r.status, 200, JSON.stringify(json));
  return json;
}
