import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { API_VERSION } from '../src/events/service.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

describe('events', () => {
  let t: TestEngine;
  const created: Stripe.Customer[] = [];
  before(async () => {
    t = await startEngine();
    for (let i = 0; i < 5; i++)
      created.push(await t.stripe.customers.create({ email: `e${i}@example.com` }));
    await t.stripe.customers.update(
      created[0]?.id ?? '',
      { name: 'Updated' },
      { idempotencyKey: 'evt-update-1' },
    );
    await t.stripe.customers.del(created[1]?.id ?? '');
  });
  after(async () => {
    await t.close();
  });

  test('an event has Stripe’s shape', async () => {
    const res = await rawRequest(t, 'GET', '/v1/events?type=customer.updated');
    assert.equal(res.status, 200);
    const event = res.json.data[0];
    assert.match(event.id, /^evt_[0-9a-z]{24}$/);
    assert.equal(event.object, 'event');
    assert.equal(event.api_version, API_VERSION);
    assert.equal(typeof event.created, 'number');
    assert.ok(Math.abs(event.created - Date.now() / 1000) < 600);
    assert.equal(event.livemode, false);
    assert.equal(event.pending_webhooks, 0);
    assert.equal(event.type, 'customer.updated');
    assert.equal(event.data.object.id, created[0]?.id);
    assert.equal(event.data.object.object, 'customer');
    assert.equal(event.data.object.name, 'Updated');
    assert.deepEqual(event.data.previous_attributes, { name: null });
    assert.match(event.request.id, /^req_/);
    assert.equal(event.request.idempotency_key, 'evt-update-1');
    // Without an Idempotency-Key header (stripe-node always sends one on POST).
    const raw = await rawRequest(t, 'POST', '/v1/customers', { body: 'email=nokey%40example.com' });
    assert.equal(raw.status, 200);
    const createdEvent = (await t.stripe.events.list({ type: 'customer.created', limit: 1 }))
      .data[0];
    assert.equal((createdEvent?.data.object as Stripe.Customer | undefined)?.id, raw.json.id);
    assert.deepEqual(createdEvent?.request, {
      id: raw.headers.get('request-id'),
      idempotency_key: null,
    });
    assert.equal(createdEvent?.data.previous_attributes, undefined);
  });

  test('the request id of an event is the response’s request-id header', async () => {
    const customer = await t.stripe.customers.create({ email: 'reqid@example.com' });
    const event = (await t.stripe.events.list({ limit: 1 })).data[0];
    assert.equal(event?.request?.id, customer.lastResponse.requestId);
  });

  test('retrieve returns the listed event; an unknown id is a 404', async () => {
    const listed = (await t.stripe.events.list({ limit: 1 })).data[0];
    assert.ok(listed);
    const fetched = await t.stripe.events.retrieve(listed.id);
    assert.deepEqual({ ...fetched }, { ...listed });
    await assert.rejects(t.stripe.events.retrieve('evt_000000000000000000000000'), (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, 'resource_missing');
      return true;
    });
  });

  test('lists newest first and pages with starting_after / ending_before without gaps', async () => {
    const all = (await t.stripe.events.list({ limit: 100 })).data;
    assert.ok(all.length >= 8);
    const ids = all.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
    const seen: string[] = [];
    let page = await t.stripe.events.list({ limit: 2 });
    seen.push(...page.data.map((e) => e.id));
    while (page.has_more) {
      page = await t.stripe.events.list({ limit: 2, starting_after: seen[seen.length - 1] });
      seen.push(...page.data.map((e) => e.id));
    }
    assert.deepEqual(seen, ids);
    const back = await t.stripe.events.list({ limit: 2, ending_before: ids[4] });
    assert.deepEqual(
      back.data.map((e) => e.id),
      ids.slice(2, 4),
    );
    assert.equal(back.has_more, true);
    // The SDK's auto-pagination walks the same list.
    const auto: string[] = [];
    for await (const e of t.stripe.events.list({ limit: 3 })) auto.push(e.id);
    assert.deepEqual(auto, ids);
  });

  test('filters by type, by types and by a type prefix', async () => {
    const createdOnly = await t.stripe.events.list({ type: 'customer.created', limit: 100 });
    assert.ok(createdOnly.data.length >= 5);
    assert.ok(createdOnly.data.every((e) => e.type === 'customer.created'));
    const prefix = await t.stripe.events.list({ type: 'customer.*', limit: 100 });
    assert.deepEqual(
      new Set(prefix.data.map((e) => e.type)),
      new Set(['customer.created', 'customer.updated', 'customer.deleted']),
    );
    const several = await t.stripe.events.list({
      types: ['customer.updated', 'customer.deleted'],
      limit: 100,
    });
    assert.deepEqual(several.data.map((e) => e.type).sort(), [
      'customer.deleted',
      'customer.updated',
    ]);
    const none = await t.stripe.events.list({ type: 'invoice.paid' });
    assert.deepEqual(none.data, []);
    assert.equal(none.has_more, false);
  });

  test('filters by created', async () => {
    const newest = (await t.stripe.events.list({ limit: 1 })).data[0];
    assert.ok(newest);
    const future = await t.stripe.events.list({ created: { gt: newest.created } });
    assert.deepEqual(future.data, []);
    const upTo = await t.stripe.events.list({ created: { lte: newest.created }, limit: 100 });
    assert.ok(upTo.data.length >= 8);
  });

  test('events of the other mode are not visible', async () => {
    const live = await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true });
    const liveClient = t.client(live.key);
    assert.deepEqual((await liveClient.events.list()).data, []);
    const liveCustomer = await liveClient.customers.create({ email: 'live@example.com' });
    const liveEvents = (await liveClient.events.list()).data;
    assert.equal(liveEvents.length, 1);
    assert.equal(liveEvents[0]?.livemode, true);
    assert.equal((liveEvents[0]?.data.object as Stripe.Customer | undefined)?.id, liveCustomer.id);
    const testEvents = (await t.stripe.events.list({ limit: 100 })).data;
    assert.ok(!testEvents.some((e) => e.id === liveEvents[0]?.id));
    await assert.rejects(t.stripe.events.retrieve(liveEvents[0]?.id ?? ''), { statusCode: 404 });
  });

  test('a publishable key cannot read events', async () => {
    await assert.rejects(
      t.client(t.publishableKey).events.list(),
      Stripe.errors.StripePermissionError,
    );
  });
});
