import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

// Webhook endpoints end to end: real receivers on loopback, events produced
// by real API calls, signatures checked by the official SDK's constructEvent.

const verifier = new Stripe('sk_test_verifier');
const types = (r: Receiver) => r.received.map((x) => x.event.type);

describe('webhooks: delivery and signatures', () => {
  let t: TestEngine;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  before(async () => {
    t = await startEngine({
      env: { PAYRAIL_WEBHOOK_RETRY_BASE_MS: '100', PAYRAIL_WEBHOOK_TIMEOUT_MS: '8000' },
    });
  });
  after(async () => {
    await t.close();
    for (const r of receivers) await r.close();
  });

  test('a payment is delivered as Stripe events that constructEvent accepts', async () => {
    const r = await receiver();
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['payment_intent.*' as 'payment_intent.created', 'charge.succeeded'],
      description: 'orders',
      metadata: { team: 'checkout' },
    });
    assert.match(endpoint.secret ?? '', /^whsec_/);
    assert.equal(endpoint.status, 'enabled');
    assert.equal(endpoint.object, 'webhook_endpoint');
    const pi = await t.stripe.paymentIntents.create({
      amount: 1234,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await r.waitFor(() => types(r).includes('payment_intent.succeeded'));
    for (const got of r.received) {
      const event = verifier.webhooks.constructEvent(
        got.body,
        got.signature,
        endpoint.secret ?? '',
      );
      assert.equal(event.object, 'event');
      assert.ok(event.type.startsWith('payment_intent.') || event.type === 'charge.succeeded');
      assert.equal(event.livemode, false);
      assert.equal(typeof event.created, 'number');
      assert.equal(typeof event.pending_webhooks, 'number');
      assert.ok('request' in event);
    }
    const succeeded = r.received.find((x) => x.event.type === 'payment_intent.succeeded');
    const data = succeeded?.event.data as { object: { id: string; amount: number } };
    assert.equal(data.object.id, pi.id);
    assert.equal(data.object.amount, 1234);
    // Not subscribed: never delivered.
    assert.ok(!types(r).some((x) => x.startsWith('customer.')));
    // Altered body or an old timestamp: rejected.
    const got = r.received[0];
    assert.ok(got);
    assert.throws(() =>
      verifier.webhooks.constructEvent(
        got.body.replace('1234', '9999'),
        got.signature,
        endpoint.secret ?? '',
      ),
    );
    assert.throws(() =>
      verifier.webhooks.constructEvent(
        got.body,
        got.signature,
        endpoint.secret ?? '',
        300,
        undefined,
        Date.now() + 600_000,
      ),
    );
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  test('updates carry data.previous_attributes', async () => {
    const r = await receiver();
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.updated'],
    });
    const customer = await t.stripe.customers.create({ name: 'Ada' });
    await t.stripe.customers.update(customer.id, { name: 'Grace' });
    await r.waitFor((x) => x.length >= 1);
    const event = verifier.webhooks.constructEvent(
      r.received[0]!.body,
      r.received[0]!.signature,
      endpoint.secret ?? '',
    );
    assert.equal(event.type, 'customer.updated');
    assert.deepEqual((event.data as { previous_attributes?: unknown }).previous_attributes, {
      name: 'Ada',
    });
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  test('secret roll: during the overlap both secrets verify', async () => {
    const r = await receiver();
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    const rolled = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${endpoint.id}/roll_secret`, {
      body: 'expires_in=3600',
    });
    assert.equal(rolled.status, 200);
    const fresh = rolled.json.secret as string;
    assert.match(fresh, /^whsec_/);
    assert.notEqual(fresh, endpoint.secret);
    const again = await t.stripe.webhookEndpoints.retrieve(endpoint.id);
    assert.equal(again.secret, undefined, 'the secret is shown only once');
    await t.stripe.customers.create({ name: 'roll' });
    await r.waitFor((x) => x.length >= 1);
    const got = r.received[0]!;
    assert.ok(verifier.webhooks.constructEvent(got.body, got.signature, fresh));
    assert.ok(verifier.webhooks.constructEvent(got.body, got.signature, endpoint.secret ?? ''));
    // Roll with no overlap: only the newest secret signs.
    const now = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${endpoint.id}/roll_secret`, {
      body: 'expires_in=0',
    });
    await t.stripe.customers.create({ name: 'roll 2' });
    await r.waitFor((x) => x.length >= 2);
    const second = r.received[1]!;
    assert.ok(verifier.webhooks.constructEvent(second.body, second.signature, now.json.secret));
    assert.throws(() => verifier.webhooks.constructEvent(second.body, second.signature, fresh));
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  test('a receiver failing the first 2 times gets the event later; attempts are listed', async () => {
    const r = await receiver((n) => (n <= 2 ? 'fail' : 'ok'));
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    const customer = await t.stripe.customers.create({ name: 'retry' });
    await r.waitFor((x) => x.length >= 1, 20_000);
    assert.equal((r.received[0]!.event.data as { object: { id: string } }).object.id, customer.id);
    // The receiver sees the third request before the engine records its answer: poll.
    let attempts: any[] = [];
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      const list = await rawRequest(t, 'GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`);
      assert.equal(list.status, 200);
      attempts = [...list.json.data].reverse();
      if (attempts.at(-1)?.status === 'succeeded') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      attempts.map((a: any) => a.status),
      ['failed', 'failed', 'succeeded'],
    );
    assert.deepEqual(
      attempts.map((a: any) => a.response_status),
      [500, 500, 200],
    );
    assert.deepEqual(
      attempts.map((a: any) => a.attempt),
      [1, 2, 3],
    );
    assert.equal(attempts[0].response_body, 'receiver says no');
    assert.equal(attempts[2].event, r.received[0]!.event.id);
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  test('a receiver that never answers does not block another endpoint', async () => {
    const hanging = await receiver(() => 'hang');
    const healthy = await receiver();
    const a = await t.stripe.webhookEndpoints.create({
      url: hanging.url,
      enabled_events: ['customer.created'],
    });
    const b = await t.stripe.webhookEndpoints.create({
      url: healthy.url,
      enabled_events: ['customer.created'],
    });
    const startedMs = Date.now();
    for (let i = 0; i < 12; i += 1) await t.stripe.customers.create({ name: `c${i}` });
    // 12 hanging deliveries would fill every slot; the per-endpoint cap keeps slots free.
    await healthy.waitFor((x) => x.length >= 12, 7_500);
    assert.ok(Date.now() - startedMs < 8_000, 'the healthy endpoint was served before any timeout');
    await t.stripe.webhookEndpoints.del(a.id);
    await t.stripe.webhookEndpoints.del(b.id);
  });

  test('redirects are not followed and count as failures', async () => {
    const r = await receiver(() => 'redirect');
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    await t.stripe.customers.create({ name: 'redirect' });
    const deadline = Date.now() + 10_000;
    let first: any;
    while (!first && Date.now() < deadline) {
      const list = await rawRequest(t, 'GET', `/v1/webhook_endpoints/${endpoint.id}/deliveries`);
      first = list.json.data[0];
      if (!first) await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(first.status, 'failed');
    assert.equal(first.response_status, 302);
    assert.equal(first.error, 'redirect not followed');
    assert.equal(r.requests() >= 1, true);
    assert.equal(r.received.length, 0);
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  test('resend one event, replay everything since a time', async () => {
    const r = await receiver();
    const sinceSeconds = Math.floor(Date.now() / 1000);
    const first = await t.stripe.customers.create({ name: 'before endpoint 1' });
    await t.stripe.customers.create({ name: 'before endpoint 2' });
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    const events = await t.stripe.events.list({ type: 'customer.created', limit: 100 });
    const evt = events.data.find((e) => (e.data.object as { id: string }).id === first.id);
    assert.ok(evt);
    const resent = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${endpoint.id}/resend`, {
      body: `event=${evt.id}`,
    });
    assert.equal(resent.status, 200);
    await r.waitFor((x) => x.some((y) => y.event.id === evt.id));
    const replay = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${endpoint.id}/replay`, {
      body: `since=${sinceSeconds}`,
    });
    assert.equal(replay.status, 200);
    assert.ok(replay.json.enqueued >= 2);
    await r.waitFor((x) => x.filter((y) => y.event.id === evt.id).length >= 2);
    const ids = new Set(r.received.map((x) => x.event.id));
    assert.ok(ids.has(evt.id));
    // Events of the endpoint's creation second may also arrive through the normal fan-out.
    assert.ok(r.received.filter((x) => x.event.id === evt.id).length >= 2, 'resent, then replayed');
    await t.stripe.webhookEndpoints.del(endpoint.id);
  });

  test('CRUD: retrieve, update, list, delete', async () => {
    const r = await receiver();
    const created = await t.stripe.webhookEndpoints.create({ url: r.url, enabled_events: ['*'] });
    const updated = await t.stripe.webhookEndpoints.update(created.id, {
      enabled_events: ['customer.created', 'charge.*' as 'charge.succeeded'],
      description: 'changed',
      metadata: { a: '1' },
      disabled: true,
    });
    assert.equal(updated.status, 'disabled');
    assert.equal(updated.description, 'changed');
    assert.deepEqual(updated.metadata, { a: '1' });
    assert.deepEqual(updated.enabled_events, ['customer.created', 'charge.*']);
    const listed = await t.stripe.webhookEndpoints.list({ limit: 100 });
    assert.ok(listed.data.some((e) => e.id === created.id));
    // Disabled: nothing is delivered.
    await t.stripe.customers.create({ name: 'while disabled' });
    const deleted = await t.stripe.webhookEndpoints.del(created.id);
    assert.equal(deleted.deleted, true);
    await assert.rejects(
      t.stripe.webhookEndpoints.retrieve(created.id),
      /No such webhook_endpoint/,
    );
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(r.requests(), 0);
  });
});
