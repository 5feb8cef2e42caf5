import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

// Webhook endpoints: bad input (a 400 naming the field, nothing changed),
// live-mode SSRF refusal, and automatic disabling of a failing endpoint with
// replay on re-enable.

async function endpointCount(t: TestEngine): Promise<number> {
  const row = await t.engine.database.db
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('webhooks: errors and security', () => {
  let t: TestEngine;
  let r: Receiver;
  let healthy = false;

  before(async () => {
    t = await startEngine({
      env: {
        PAYRAIL_WEBHOOK_RETRY_BASE_MS: '100',
        PAYRAIL_WEBHOOK_DISABLE_AFTER_MS: '1000',
        PAYRAIL_WEBHOOK_TIMEOUT_MS: '2000',
      },
    });
    r = await startReceiver(() => (healthy ? 'ok' : 'fail'));
  });
  after(async () => {
    await t.close();
    await r.close();
  });

  test('malformed requests are refused with the field named', async () => {
    const before = await endpointCount(t);
    const cases: Array<[string, string]> = [
      ['enabled_events[0]=*', 'url'],
      [`url=${encodeURIComponent('not a url')}&enabled_events[0]=*`, 'url'],
      [`url=${encodeURIComponent('ftp://example.com/x')}&enabled_events[0]=*`, 'url'],
      [`url=${encodeURIComponent('https://u:p@example.com/x')}&enabled_events[0]=*`, 'url'],
      [`url=${encodeURIComponent(r.url)}`, 'enabled_events'],
      [
        `url=${encodeURIComponent(r.url)}&enabled_events[0]=${encodeURIComponent('Bad Type!')}`,
        'enabled_events[0]',
      ],
      [`url=${encodeURIComponent(r.url)}&enabled_events[0]=*&colour=red`, 'colour'],
    ];
    for (const [body, param] of cases) {
      const res = await rawRequest(t, 'POST', '/v1/webhook_endpoints', { body });
      assert.equal(res.status, 400, body);
      assert.equal(res.json.error.param, param, body);
    }
    assert.equal(await endpointCount(t), before);
    // Any well-formed type is accepted, including ones Payrail does not emit yet.
    const ok = await rawRequest(t, 'POST', '/v1/webhook_endpoints', {
      body: `url=${encodeURIComponent(r.url)}&enabled_events[0]=invoice.paid&enabled_events[1]=charge.*`,
    });
    assert.equal(ok.status, 200);
    await rawRequest(t, 'DELETE', `/v1/webhook_endpoints/${ok.json.id}`);
  });

  test('unknown ids are 404; bad roll and replay parameters are 400', async () => {
    const missing = await rawRequest(t, 'GET', '/v1/webhook_endpoints/we_missing');
    assert.equal(missing.status, 404);
    const created = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    const roll = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${created.id}/roll_secret`, {
      body: 'expires_in=99999999',
    });
    assert.equal(roll.status, 400);
    assert.equal(roll.json.error.param, 'expires_in');
    const replay = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${created.id}/replay`, {
      body: 'since=yesterday',
    });
    assert.equal(replay.status, 400);
    assert.equal(replay.json.error.param, 'since');
    const resend = await rawRequest(t, 'POST', `/v1/webhook_endpoints/${created.id}/resend`, {
      body: 'event=evt_nope',
    });
    assert.equal(resend.status, 404);
    assert.equal(resend.json.error.param, 'event');
    await t.stripe.webhookEndpoints.del(created.id);
  });

  test('another account cannot see or change an endpoint', async () => {
    const created = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    const live = await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true });
    const other = await rawRequest(t, 'GET', `/v1/webhook_endpoints/${created.id}`, {
      key: live.key,
    });
    assert.equal(other.status, 404, 'live mode does not see test-mode endpoints');
    const deliveries = await rawRequest(
      t,
      'GET',
      `/v1/webhook_endpoints/${created.id}/deliveries`,
      {
        key: live.key,
      },
    );
    assert.equal(deliveries.status, 404);
    await t.stripe.webhookEndpoints.del(created.id);
  });

  test('live mode refuses loopback and private URLs; test mode allows them', async () => {
    const live = await t.engine.accounts.createKey(t.accountId, { kind: 'secret', livemode: true });
    const before = await endpointCount(t);
    for (const url of [
      r.url,
      'http://10.0.0.5/hook',
      'http://169.254.169.254/latest',
      'http://[::1]/x',
      'http://localhost:1/x',
    ]) {
      const res = await rawRequest(t, 'POST', '/v1/webhook_endpoints', {
        key: live.key,
        body: `url=${encodeURIComponent(url)}&enabled_events[0]=*`,
      });
      assert.equal(res.status, 400, url);
      assert.equal(res.json.error.param, 'url');
      assert.match(res.json.error.message, /private|resolve/);
    }
    assert.equal(await endpointCount(t), before);
    const testMode = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    assert.equal(testMode.livemode, false);
    await t.stripe.webhookEndpoints.del(testMode.id);
  });

  test('an endpoint failing continuously is disabled; re-enabling replays what it missed', async () => {
    healthy = false;
    const endpoint = await t.stripe.webhookEndpoints.create({
      url: r.url,
      enabled_events: ['customer.created'],
    });
    const first = await t.stripe.customers.create({ name: 'during failure' });
    const deadline = Date.now() + 15_000;
    let status = 'enabled';
    while (status === 'enabled' && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 200));
      status = (await t.stripe.webhookEndpoints.retrieve(endpoint.id)).status;
    }
    assert.equal(status, 'disabled');
    const disabledEvents = await t.stripe.events.list({
      type: 'webhook_endpoint.disabled' as 'customer.created',
    });
    assert.ok(
      disabledEvents.data.some((e) => (e.data.object as { id: string }).id === endpoint.id),
    );
    const whileDisabled = await t.stripe.customers.create({ name: 'while disabled' });
    await new Promise((res) => setTimeout(res, 400));
    healthy = true;
    const reenabled = await t.stripe.webhookEndpoints.update(endpoint.id, { disabled: false });
    assert.equal(reenabled.status, 'enabled');
    const ids = (x: typeof r.received) =>
      x.map((y) => (y.event.data as { object: { id: string } }).object.id);
    await r.waitFor((x) => ids(x).includes(first.id) && ids(x).includes(whileDisabled.id));
  });
});
