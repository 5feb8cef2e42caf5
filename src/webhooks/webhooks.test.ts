import assert from 'node:assert/strict';
import { test } from 'node:test';
import Stripe from 'stripe';
import { retryDelayMs } from './delivery.ts';
import { takeUntilYoungGap } from './fanout.ts';
import { eventMatches } from './matching.ts';
import { newWebhookSecret, signatureHeader } from './signature.ts';
import { isPrivateAddress } from './ssrf.ts';

const stripe = new Stripe('sk_test_unit');
const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created' });

test('the official SDK accepts our signature and rejects altered or old bodies', () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9]{32}$/);
  const now = Math.floor(Date.now() / 1000);
  const header = signatureHeader({ payload: body, secrets: [secret], timestampSeconds: now });
  assert.equal(stripe.webhooks.constructEvent(body, header, secret).id, 'evt_1');
  assert.throws(() => stripe.webhooks.constructEvent(`${body} `, header, secret));
  assert.throws(() => stripe.webhooks.constructEvent(body, header, newWebhookSecret()));
  const old = signatureHeader({ payload: body, secrets: [secret], timestampSeconds: now - 301 });
  assert.throws(() => stripe.webhooks.constructEvent(body, old, secret), /tolerance/);
});

test('two secrets during a roll: each verifies on its own', () => {
  const [a, b] = [newWebhookSecret(), newWebhookSecret()];
  const now = Math.floor(Date.now() / 1000);
  const header = signatureHeader({ payload: body, secrets: [a, b], timestampSeconds: now });
  assert.equal(header.split(',v1=').length, 3);
  assert.ok(stripe.webhooks.constructEvent(body, header, a));
  assert.ok(stripe.webhooks.constructEvent(body, header, b));
});

test('private, loopback and link-local addresses are recognised', () => {
  for (const ip of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '0.0.0.0',
    '100.64.0.1',
  ]) {
    assert.equal(isPrivateAddress(ip), true, ip);
  }
  for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
    assert.equal(isPrivateAddress(ip), false, ip);
  }
});

test('backoff doubles, is jittered within [d/2, d] and capped', () => {
  assert.equal(
    retryDelayMs(1, 1000, () => 0),
    500,
  );
  assert.equal(
    retryDelayMs(1, 1000, () => 1),
    1000,
  );
  assert.equal(
    retryDelayMs(4, 1000, () => 1),
    8000,
  );
  assert.equal(
    retryDelayMs(60, 1000, () => 1),
    6 * 60 * 60 * 1000,
  );
});

test('event matching: *, prefix.* and exact types', () => {
  assert.equal(eventMatches(['*'], 'a.b'), true);
  assert.equal(eventMatches(['payment_intent.*'], 'payment_intent.succeeded'), true);
  assert.equal(eventMatches(['payment_intent.*'], 'payment_method.attached'), false);
  assert.equal(eventMatches(['customer.created'], 'customer.updated'), false);
});

test('fan-out stops at a young seq gap on PostgreSQL, passes it once old', () => {
  const nowMs = 1_000_000_000;
  const young = Math.floor(nowMs / 1000) - 1;
  const rows = [
    { seq: 1, created: young },
    { seq: 2, created: young },
    { seq: 4, created: young },
  ];
  assert.deepEqual(
    takeUntilYoungGap(rows, 0, nowMs, true).map((r) => r.seq),
    [1, 2],
  );
  assert.deepEqual(
    takeUntilYoungGap(rows, 0, nowMs, false).map((r) => r.seq),
    [1, 2, 4],
  );
  const old = rows.map((r) => ({ ...r, created: young - 60 }));
  assert.deepEqual(
    takeUntilYoungGap(old, 0, nowMs, true).map((r) => r.seq),
    [1, 2, 4],
  );
});
