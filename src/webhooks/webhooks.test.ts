import assert from 'node:assert/strict';
import type dns from 'node:dns';
import http from 'node:http';
import type net from 'node:net';
import { test } from 'node:test';
import Stripe from 'stripe';
import { postWebhook, retryDelayMs } from './delivery.ts';
import { takeUntilYoungGap } from './fanout.ts';
import { eventMatches } from './matching.ts';
import { newWebhookSecret, signatureHeader } from './signature.ts';
import {
  isPrivateAddress,
  PrivateAddressError,
  privateAddressReason,
  publicOnlyLookup,
  type Resolver,
  systemResolver,
} from './ssrf.ts';

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

test('NAT64 addresses count as the IPv4 address they embed: all refused', () => {
  // 64:ff9b::/96 (RFC 6052) reaches the embedded IPv4 address through a translator.
  for (const ip of [
    '64:ff9b::7f00:1', // 127.0.0.1
    '64:ff9b::a9fe:a9fe', // 169.254.169.254 (cloud metadata)
    '64:ff9b::a00:1', // 10.0.0.1
    '64:ff9b::808:808', // 8.8.8.8: refused too, the prefix is never an endpoint's own address
    '64:ff9b:1::7f00:1', // the local-use prefix (RFC 8215)
  ]) {
    assert.equal(isPrivateAddress(ip), true, ip);
  }
  // Neighbours of the prefix stay public.
  for (const ip of ['64:ff9a::7f00:1', '64:ff9b:0:0:1::7f00:1']) {
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

/** Calls a net `lookup` the way a socket does; its error or its answer. */
function callLookup(lookup: net.LookupFunction, host: string, options: dns.LookupOptions) {
  return new Promise<{ error: Error | null; address: unknown; family?: number }>((resolve) => {
    lookup(host, options, (error, address, family) => resolve({ error, address, family }));
  });
}

/** A resolver that answers each call with the next list (the last one repeats). */
function scriptedResolver(answers: string[][]): Resolver & { calls: number } {
  const resolver = Object.assign(
    async (_host: string) => {
      const answer = answers[Math.min(resolver.calls, answers.length - 1)] ?? [];
      resolver.calls += 1;
      return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    { calls: 0 },
  );
  return resolver;
}

test('DNS rebinding: the lookup checks every answer it hands to the socket', async () => {
  // A hostile DNS server: public for the first question, loopback / metadata after.
  const resolver = scriptedResolver([['93.184.216.34'], ['127.0.0.1'], ['169.254.169.254']]);
  const lookup = publicOnlyLookup(resolver);
  const first = await callLookup(lookup, 'hook.example', {});
  assert.equal(first.error, null);
  assert.equal(first.address, '93.184.216.34');
  assert.equal(first.family, 4);
  for (const bad of ['127.0.0.1', '169.254.169.254']) {
    const next = await callLookup(lookup, 'hook.example', {});
    assert.ok(next.error instanceof PrivateAddressError, `refused ${bad}`);
    assert.match(next.error.message, new RegExp(`hook\\.example.*private.*\\(${bad}\\)`));
  }
  assert.equal(resolver.calls, 3, 'each connection resolves once, and that answer is checked');

  // One private address among public ones refuses the whole answer.
  const mixed = publicOnlyLookup(scriptedResolver([['93.184.216.34', '::1']]));
  assert.ok((await callLookup(mixed, 'hook.example', { all: true })).error);
  // `all` (Happy Eyeballs) gets exactly the checked list; `family` filters it.
  const dual = publicOnlyLookup(scriptedResolver([['93.184.216.34', '2606:4700::1111']]));
  const all = await callLookup(dual, 'hook.example', { all: true });
  assert.deepEqual(all.address, [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:4700::1111', family: 6 },
  ]);
  const v6 = await callLookup(dual, 'hook.example', { family: 6 });
  assert.equal(v6.address, '2606:4700::1111');
  // A name that does not resolve is refused too.
  const none = await callLookup(publicOnlyLookup(scriptedResolver([[]])), 'gone.example', {});
  assert.match(String(none.error?.message), /does not resolve/);
  assert.match(
    String(await privateAddressReason(new URL('http://x.example/'), resolver)),
    /private/,
  );
});

test('postWebhook: guarded requests never reach a loopback server; unguarded ones do', async () => {
  let hits = 0;
  let redirectTargetHits = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/elsewhere') redirectTargetHits += 1;
    else hits += 1;
    req.resume();
    if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const base = { body: '{}', signature: 't=1,v1=00', timeoutMs: 5000 };
  try {
    // A name that resolves to loopback (injected, then the real `localhost`), an IP literal.
    const rebinding = scriptedResolver([['127.0.0.1']]);
    for (const [url, publicOnly] of [
      [`http://hook.example:${port}/x`, rebinding],
      [`http://localhost:${port}/x`, systemResolver],
      [`http://127.0.0.1:${port}/x`, rebinding],
      [`https://hook.example:${port}/x`, rebinding],
    ] as const) {
      const result = await postWebhook({
        ...base,
        url,
        publicOnly,
      });
      assert.equal(result.ok, false, url);
      assert.equal(result.status, null, url);
      assert.match(String(result.error), /^refused: .*(private|loopback)/, url);
    }
    assert.equal(hits, 0, 'no guarded request reached the server');

    // Unguarded (test mode): delivered, the answer read up to the limit.
    const ok = await postWebhook({ ...base, url: `http://localhost:${port}/x`, publicOnly: null });
    assert.equal(ok.ok, true, String(ok.error));
    assert.equal(ok.status, 200);
    assert.equal(ok.body?.length, 1024);
    assert.equal(hits, 1);
    // Redirects are never followed.
    const moved = await postWebhook({
      ...base,
      url: `http://127.0.0.1:${port}/redirect`,
      publicOnly: null,
    });
    assert.equal(moved.ok, false);
    assert.equal(moved.status, 302);
    assert.equal(moved.error, 'redirect not followed');
    assert.equal(redirectTargetHits, 0);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
