import assert from 'node:assert/strict';
import type dns from 'node:dns';
import { after, before, describe, test } from 'node:test';
import { setResolverForTests } from '../src/webhooks/ssrf.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

// DNS rebinding, end to end: a hostile DNS server (a scripted resolver put in
// through ssrf.ts's test seam) answers a public address when the live-mode
// endpoint is saved and 127.0.0.1 when the delivery connects. The delivery
// must be refused at connection time with the address it was given, recorded
// as failed, and the loopback receiver must get nothing. Test mode still
// delivers to loopback.

const REBINDING_HOST = 'rebind.payrail.test';
/** TEST-NET-3 (RFC 5737): public for the check, never connected to here. */
const PUBLIC_ADDRESS = '203.0.113.7';

async function deliveries(t: TestEngine, endpointId: string) {
  return t.engine.database.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .execute();
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in time: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('webhooks: live-mode delivery connects only to checked public addresses', () => {
  let t: TestEngine;
  let r: Receiver;
  /** Every question the hostile DNS server was asked about REBINDING_HOST, in order. */
  const asked: string[] = [];

  before(async () => {
    setResolverForTests(async (host): Promise<dns.LookupAddress[]> => {
      if (host !== REBINDING_HOST) throw new Error(`ENOTFOUND ${host}`);
      asked.push(host);
      const address = asked.length === 1 ? PUBLIC_ADDRESS : '127.0.0.1';
      return [{ address, family: 4 }];
    });
    t = await startEngine({
      env: { PAYRAIL_WEBHOOK_RETRY_BASE_MS: '60000', PAYRAIL_WEBHOOK_TIMEOUT_MS: '3000' },
    });
    r = await startReceiver();
  });
  after(async () => {
    setResolverForTests(null);
    await t?.close();
    await r?.close();
  });

  test('public when saved, 127.0.0.1 when delivered: refused, the receiver gets nothing', async () => {
    const live = await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true });
    const port = new URL(r.url).port;
    const hostileUrl = `http://${REBINDING_HOST}:${port}/hook`;
    // Saved in live mode: the check resolves the name (first answer: public) and accepts it.
    const created = await rawRequest(t, 'POST', '/v1/webhook_endpoints', {
      key: live.key,
      body: `url=${encodeURIComponent(hostileUrl)}&enabled_events[0]=customer.created`,
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.livemode, true);
    assert.equal(asked.length, 1, 'the save checked the name once');
    const endpointId = created.json.id as string;

    const customer = await rawRequest(t, 'POST', '/v1/customers', {
      key: live.key,
      body: 'name=rebinding',
    });
    assert.equal(customer.status, 200, JSON.stringify(customer.json));

    const rows = await waitFor(
      () => deliveries(t, endpointId),
      (list) => list.length >= 1,
    );
    assert.equal(rows[0]?.status, 'failed');
    assert.equal(rows[0]?.response_status, null);
    assert.equal(
      rows[0]?.error,
      `refused: the host ${REBINDING_HOST} resolves to a private, loopback or link-local address (127.0.0.1)`,
    );
    // The delivery resolved once, and refused exactly the answer it would have connected to.
    assert.equal(asked.length, 2);
    const listed = await rawRequest(t, 'GET', `/v1/webhook_endpoints/${endpointId}/deliveries`, {
      key: live.key,
    });
    assert.equal(listed.status, 200);
    assert.equal(listed.json.data[0].status, 'failed');
    assert.equal(r.requests(), 0, 'nothing reached the loopback receiver');

    // A loopback URL in test mode is delivered as before (the receiver works).
    const localUrl = r.url.replace('127.0.0.1', 'localhost');
    const testEndpoint = await rawRequest(t, 'POST', '/v1/webhook_endpoints', {
      body: `url=${encodeURIComponent(localUrl)}&enabled_events[0]=customer.created`,
    });
    assert.equal(testEndpoint.status, 200);
    const testCustomer = await t.stripe.customers.create({ name: 'test mode' });
    await r.waitFor((received) => received.some((x) => x.event.type === 'customer.created'));
    assert.equal(r.received.length, 1);
    const event = r.received[0]?.event as unknown as {
      data: { object: { id: string } };
      livemode: boolean;
    };
    assert.equal(event.data.object.id, testCustomer.id);
    assert.equal(event.livemode, false);
    const testRows = await waitFor(
      () => deliveries(t, testEndpoint.json.id),
      (list) => list.length >= 1,
    );
    assert.equal(testRows[0]?.status, 'succeeded');
  });

  test('a live endpoint on a NAT64 address of loopback is refused when saved', async () => {
    const live = await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true });
    const created = await rawRequest(t, 'POST', '/v1/webhook_endpoints', {
      key: live.key,
      body: `url=${encodeURIComponent('http://[64:ff9b::7f00:1]:8080/hook')}&enabled_events[0]=customer.created`,
    });
    assert.equal(created.status, 400, JSON.stringify(created.json));
    assert.equal(created.json.error.param, 'url');
    assert.match(created.json.error.message, /private, loopback or link-local/);
  });
});
