import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { createStripeConnector } from '../src/connectors/stripe/connector.ts';
import type { AuthorizeRequest, Connector, ConnectorOutcome } from '../src/connectors/types.ts';
import { FAILURE_CODES } from '../src/connectors/types.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { Secret } from '../src/lib/crypto.ts';
import { newId } from '../src/lib/ids.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { freePort } from './helpers/process.ts';

// The stripe connector against a real Stripe-compatible API: a second Payrail
// engine (its sandbox processor decides by card number), plus small local
// HTTP servers for the error shapes a healthy engine never gives.

const WEBHOOK_SECRET = 'whsec_test_connector_secret';
const signal = () => AbortSignal.timeout(10_000);

function cardRequest(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    reference: newId('pa'),
    paymentIntentId: newId('pi'),
    amountMinor: 1000,
    currency: 'usd',
    capture: false,
    instrument: {
      type: 'card',
      number: new Secret(number),
      brand: 'visa',
      last4: number.slice(-4),
      expMonth: 12,
      expYear: 2040,
      funding: 'credit',
      country: 'US',
    },
    authenticated: false,
    statementDescriptor: null,
    ...overrides,
  };
}

function connectorAt(baseUrl: string, secretKey: string, nowMs?: () => number): Connector {
  return createStripeConnector(
    {
      id: 'conn_stripe_test',
      type: 'stripe',
      baseUrl,
      credentials: { secret_key: secretKey, webhook_secret: WEBHOOK_SECRET },
    },
    nowMs ? { nowMs } : {},
  );
}

function succeededRef(outcome: ConnectorOutcome): string {
  assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
  return outcome.status === 'succeeded' ? outcome.connectorReference : '';
}

/** A server that answers every request with one fixed behaviour. */
async function fixedServer(
  handler: http.RequestListener,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const stripeError = (status: number, error: Record<string, unknown>): http.RequestListener => {
  return (req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error }));
  };
};

describe('stripe connector against a second Payrail', () => {
  let target: TestEngine;
  let connector: Connector;

  before(async () => {
    target = await startEngine();
    connector = connectorAt(target.url, target.secretKey);
  });
  after(async () => {
    await target.close();
  });

  test('authorize (manual capture) then capture in full', async () => {
    const request = cardRequest('4242424242424242');
    const piId = succeededRef(await connector.authorize(request, signal()));
    assert.match(piId, /^pi_/);
    const authorized = await target.stripe.paymentIntents.retrieve(piId);
    assert.equal(authorized.status, 'requires_capture');
    assert.equal(authorized.metadata.payrail_reference, request.reference);
    assert.equal(authorized.metadata.payrail_payment_intent, request.paymentIntentId);

    const captured = await connector.capture(
      { reference: newId('pa'), authorizationReference: piId, amountMinor: 1000, currency: 'usd' },
      signal(),
    );
    assert.equal(succeededRef(captured), piId);
    const after = await target.stripe.paymentIntents.retrieve(piId);
    assert.equal(after.status, 'succeeded');
    assert.equal(after.amount_received, 1000);
  });

  test('partial capture takes only the amount asked', async () => {
    const piId = succeededRef(await connector.authorize(cardRequest('4242424242424242'), signal()));
    succeededRef(
      await connector.capture(
        { reference: newId('pa'), authorizationReference: piId, amountMinor: 400, currency: 'usd' },
        signal(),
      ),
    );
    const after = await target.stripe.paymentIntents.retrieve(piId);
    assert.equal(after.amount_received, 400);
  });

  test('void cancels the authorization', async () => {
    const piId = succeededRef(await connector.authorize(cardRequest('4242424242424242'), signal()));
    const voided = await connector.void(
      { reference: newId('pa'), authorizationReference: piId, amountMinor: 1000, currency: 'usd' },
      signal(),
    );
    assert.equal(succeededRef(voided), piId);
    assert.equal((await target.stripe.paymentIntents.retrieve(piId)).status, 'canceled');
  });

  test('automatic capture then a partial refund', async () => {
    const request = cardRequest('4242424242424242', { capture: true });
    const piId = succeededRef(await connector.authorize(request, signal()));
    assert.equal((await target.stripe.paymentIntents.retrieve(piId)).status, 'succeeded');
    const refundReference = newId('pa');
    const refunded = await connector.refund(
      { reference: refundReference, paymentReference: piId, amountMinor: 300, currency: 'usd' },
      signal(),
    );
    const refundId = succeededRef(refunded);
    const refund = await target.stripe.refunds.retrieve(refundId);
    assert.equal(refund.amount, 300);
    assert.equal(refund.metadata?.payrail_reference, refundReference);
  });

  test('declines carry Stripe code and decline_code', async () => {
    const generic = await connector.authorize(cardRequest('4000000000000002'), signal());
    assert.equal(generic.status, 'declined');
    if (generic.status === 'declined') {
      assert.equal(generic.code, 'card_declined');
      assert.equal(generic.declineCode, 'generic_decline');
      assert.match(generic.connectorReference ?? '', /^pi_/);
    }
    const funds = await connector.authorize(cardRequest('4000000000009995'), signal());
    assert.equal(funds.status, 'declined');
    if (funds.status === 'declined') assert.equal(funds.declineCode, 'insufficient_funds');
  });

  test('a processing_error card is retryable elsewhere', async () => {
    const outcome = await connector.authorize(cardRequest('4000000000000119'), signal());
    assert.equal(outcome.status, 'failed_retryable', JSON.stringify(outcome));
  });

  test('a 3-D Secure card requires action with the redirect URL', async () => {
    const outcome = await connector.authorize(cardRequest('4000002760003184'), signal());
    assert.equal(outcome.status, 'requires_action', JSON.stringify(outcome));
    if (outcome.status === 'requires_action') {
      assert.equal(outcome.nextAction.type, 'redirect_to_url');
      assert.match(outcome.nextAction.url, /^http/);
    }
  });

  test('retrieve replays the authorize: same answer, exactly one intent at the target', async () => {
    const request = cardRequest('4242424242424242');
    const first = await connector.authorize(request, signal());
    const again = await connector.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(again, first);
    const intents = await target.stripe.paymentIntents.list({ limit: 100 });
    const mine = intents.data.filter((pi) => pi.metadata.payrail_reference === request.reference);
    assert.equal(mine.length, 1);
  });

  test('retrieve of a declined authorize gives the decline again', async () => {
    const request = cardRequest('4000000000009995');
    const first = await connector.authorize(request, signal());
    const again = await connector.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(again, first);
  });

  test('retrieve of a refund replays it without refunding twice', async () => {
    const piId = succeededRef(
      await connector.authorize(cardRequest('4242424242424242', { capture: true }), signal()),
    );
    const refund = {
      reference: newId('pa'),
      paymentReference: piId,
      amountMinor: 200,
      currency: 'usd',
    };
    const first = await connector.refund(refund, signal());
    const again = await connector.retrieve(
      { reference: refund.reference, operation: 'refund', original: refund },
      signal(),
    );
    assert.deepEqual(again, first);
    const refunds = await target.stripe.refunds.list({ payment_intent: piId });
    assert.equal(refunds.data.length, 1);
  });

  test('retrieve past the replay window does not replay', async () => {
    const request = cardRequest('4242424242424242');
    const late = connectorAt(target.url, target.secretKey, () => Date.now() + 25 * 3600_000);
    const outcome = await late.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.equal(outcome.status, 'unknown');
    const intents = await target.stripe.paymentIntents.list({ limit: 100 });
    assert.equal(
      intents.data.filter((pi) => pi.metadata.payrail_reference === request.reference).length,
      0,
    );
  });

  test('a wrong secret key is retryable elsewhere (401)', async () => {
    const wrong = connectorAt(target.url, 'sk_test_not_a_key_at_all_000000');
    const outcome = await wrong.authorize(cardRequest('4242424242424242'), signal());
    assert.equal(outcome.status, 'failed_retryable');
    if (outcome.status === 'failed_retryable') assert.equal(outcome.code, FAILURE_CODES.error);
  });

  test('bank instruments are declined without a call', async () => {
    const request = cardRequest('4242424242424242', {
      instrument: {
        type: 'sepa_debit',
        iban: new Secret('DE89370400440532013000'),
        last4: '3000',
        country: 'DE',
      },
    });
    const outcome = await connector.authorize(request, signal());
    assert.equal(outcome.status, 'declined');
    if (outcome.status === 'declined') assert.equal(outcome.code, 'payment_method_not_supported');
  });

  test('probe is ok against a live target', async () => {
    const result = await connector.probe(AbortSignal.timeout(2000));
    assert.equal(result.ok, true, result.detail);
    assert.ok(result.latencyMs >= 0);
  });
});

describe('stripe connector error shapes', () => {
  test('connection refused is processor_unreachable; probe says not ok', async () => {
    const port = await freePort();
    const dead = connectorAt(`http://127.0.0.1:${port}`, 'sk_test_x');
    const outcome = await dead.authorize(cardRequest('4242424242424242'), signal());
    assert.deepEqual(
      { status: outcome.status, code: outcome.status === 'failed_retryable' ? outcome.code : null },
      { status: 'failed_retryable', code: FAILURE_CODES.unreachable },
    );
    const probe = await dead.probe(AbortSignal.timeout(2000));
    assert.equal(probe.ok, false);
  });

  test('500 is unknown (Stripe may have acted)', async () => {
    const server = await fixedServer(stripeError(500, { type: 'api_error', message: 'boom' }));
    try {
      const outcome = await connectorAt(server.url, 'sk_test_x').authorize(
        cardRequest('4242424242424242'),
        signal(),
      );
      assert.equal(outcome.status, 'unknown');
    } finally {
      await server.close();
    }
  });

  test('503 is unknown too: Stripe does not document it as not processed', async () => {
    const server = await fixedServer(stripeError(503, { type: 'api_error', message: 'down' }));
    try {
      const outcome = await connectorAt(server.url, 'sk_test_x').capture(
        { reference: newId('pa'), authorizationReference: 'pi_x', amountMinor: 1, currency: 'usd' },
        signal(),
      );
      assert.equal(outcome.status, 'unknown');
    } finally {
      await server.close();
    }
  });

  test('429 is processor_rate_limited', async () => {
    const server = await fixedServer(
      stripeError(429, { type: 'invalid_request_error', code: 'rate_limit', message: 'slow down' }),
    );
    try {
      const outcome = await connectorAt(server.url, 'sk_test_x').authorize(
        cardRequest('4242424242424242'),
        signal(),
      );
      assert.equal(outcome.status, 'failed_retryable');
      if (outcome.status === 'failed_retryable') {
        assert.equal(outcome.code, FAILURE_CODES.rateLimited);
      }
    } finally {
      await server.close();
    }
  });

  test('400 invalid request is a soft processing_error decline; idempotency_error is unknown', async () => {
    const invalid = await fixedServer(
      stripeError(400, {
        type: 'invalid_request_error',
        code: 'parameter_invalid',
        message: 'bad',
      }),
    );
    const reused = await fixedServer(
      stripeError(400, { type: 'idempotency_error', message: 'Keys for idempotent requests...' }),
    );
    try {
      const a = await connectorAt(invalid.url, 'sk_test_x').authorize(
        cardRequest('4242424242424242'),
        signal(),
      );
      assert.equal(a.status, 'declined');
      if (a.status === 'declined') assert.equal(a.code, 'processing_error');
      const b = await connectorAt(reused.url, 'sk_test_x').authorize(
        cardRequest('4242424242424242'),
        signal(),
      );
      assert.equal(b.status, 'unknown');
    } finally {
      await invalid.close();
      await reused.close();
    }
  });

  test('a hanging server is unknown when the deadline fires; probe times out not ok', async () => {
    const server = await fixedServer((req) => {
      req.resume(); // never answers
    });
    try {
      const connector = connectorAt(server.url, 'sk_test_x');
      const startedMs = Date.now();
      const outcome = await connector.authorize(
        cardRequest('4242424242424242'),
        AbortSignal.timeout(300),
      );
      assert.equal(outcome.status, 'unknown');
      assert.ok(Date.now() - startedMs < 5000, 'the deadline was honoured');
      const probe = await connector.probe(AbortSignal.timeout(300));
      assert.equal(probe.ok, false);
    } finally {
      await server.close();
    }
  });
});

describe('stripe connector webhooks', () => {
  const connector = connectorAt('http://127.0.0.1:1', 'sk_test_x');
  const stripe = new Stripe('sk_test_x');

  function signed(event: unknown, secret = WEBHOOK_SECRET) {
    const rawBody = JSON.stringify(event);
    const header = stripe.webhooks.generateTestHeaderString({ payload: rawBody, secret });
    return { headers: { 'stripe-signature': header }, rawBody };
  }

  const intent = (status: string, extra: Record<string, unknown> = {}) => ({
    id: 'pi_123',
    object: 'payment_intent',
    status,
    metadata: { payrail_reference: 'pa_ref1' },
    ...extra,
  });

  test('payment_intent.succeeded maps to a succeeded authorize notice', () => {
    const notices = connector.parseWebhook(
      signed({
        id: 'evt_1',
        type: 'payment_intent.succeeded',
        data: { object: intent('succeeded') },
      }),
    );
    assert.deepEqual(notices, [
      {
        reference: 'pa_ref1',
        operation: 'authorize',
        outcome: { status: 'succeeded', connectorReference: 'pi_123' },
      },
    ]);
  });

  test('payment_intent.payment_failed maps to a decline with its codes', () => {
    const failed = intent('requires_payment_method', {
      last_payment_error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      },
    });
    const [notice] = connector.parseWebhook(
      signed({ id: 'evt_2', type: 'payment_intent.payment_failed', data: { object: failed } }),
    );
    assert.equal(notice?.outcome.status, 'declined');
    if (notice?.outcome.status === 'declined') {
      assert.equal(notice.outcome.declineCode, 'insufficient_funds');
    }
  });

  test('charge.refunded maps each refund with our reference', () => {
    const charge = {
      id: 'ch_1',
      object: 'charge',
      refunds: {
        data: [{ id: 're_1', status: 'succeeded', metadata: { payrail_reference: 'pa_r' } }],
      },
    };
    const notices = connector.parseWebhook(
      signed({ id: 'evt_3', type: 'charge.refunded', data: { object: charge } }),
    );
    assert.deepEqual(notices, [
      {
        reference: 'pa_r',
        operation: 'refund',
        outcome: { status: 'succeeded', connectorReference: 're_1' },
      },
    ]);
  });

  test('a bad signature throws, and so does a connector without a webhook secret', () => {
    const event = {
      id: 'evt_4',
      type: 'payment_intent.succeeded',
      data: { object: intent('succeeded') },
    };
    assert.throws(() => connector.parseWebhook(signed(event, 'whsec_wrong')), /signature/i);
    const tampered = signed(event);
    tampered.rawBody = tampered.rawBody.replace('pi_123', 'pi_999');
    assert.throws(() => connector.parseWebhook(tampered), /signature/i);
    assert.throws(
      () => connector.parseWebhook({ headers: {}, rawBody: JSON.stringify(event) }),
      /Stripe-Signature/,
    );
    const noSecret = createStripeConnector({
      id: 'conn_x',
      type: 'stripe',
      baseUrl: null,
      credentials: { secret_key: 'sk_test_x' },
    });
    assert.throws(() => noSecret.parseWebhook(signed(event)), /webhook_secret/);
  });
});

/** The customer passes (or fails) the challenge on the target's own intent ("Stripe's page"). */
async function challengeAtTarget(target: TestEngine, piId: string, result: 'succeed' | 'fail') {
  const r = await rawRequest(
    target,
    'POST',
    `/v1/test_helpers/payment_intents/${piId}/authenticate`,
    {
      body: `result=${result}`,
    },
  );
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json as { status: string };
}

describe('stripe connector: completing 3-D Secure by reading the PaymentIntent', () => {
  let target: TestEngine;
  let connector: Connector;

  before(async () => {
    target = await startEngine();
    connector = connectorAt(target.url, target.secretKey);
  });
  after(async () => {
    await target.close();
  });

  async function challenged(capture: boolean) {
    const request = cardRequest('4000002760003184', {
      capture,
      returnUrl: 'https://payrail.example/3ds/return/pi_x?token=t',
    });
    const outcome = await connector.authorize(request, signal());
    assert.equal(outcome.status, 'requires_action', JSON.stringify(outcome));
    const piId = outcome.status === 'requires_action' ? outcome.connectorReference : '';
    const pi = await target.stripe.paymentIntents.retrieve(piId);
    assert.equal(pi.next_action?.redirect_to_url?.return_url, request.returnUrl);
    return piId;
  }

  const complete = (piId: string) =>
    connector.completeAuthentication?.(
      { reference: newId('pa'), connectorReference: piId, details: { payment_intent: piId } },
      signal(),
    );

  test('succeeded / requires_capture after the challenge are succeeded', async () => {
    const captured = await challenged(true);
    await challengeAtTarget(target, captured, 'succeed');
    assert.deepEqual(await complete(captured), {
      status: 'succeeded',
      connectorReference: captured,
    });
    const held = await challenged(false);
    await challengeAtTarget(target, held, 'succeed');
    assert.equal((await target.stripe.paymentIntents.retrieve(held)).status, 'requires_capture');
    assert.deepEqual(await complete(held), { status: 'succeeded', connectorReference: held });
  });

  test('a failed challenge is declined with last_payment_error; an unfinished one asks again', async () => {
    const failed = await challenged(true);
    await challengeAtTarget(target, failed, 'fail');
    const declined = await complete(failed);
    assert.equal(declined?.status, 'declined', JSON.stringify(declined));
    if (declined?.status === 'declined') {
      assert.equal(declined.code, 'payment_intent_authentication_failure');
    }
    const open = await challenged(true);
    const again = await complete(open);
    assert.equal(again?.status, 'requires_action', JSON.stringify(again));
    // Reading never made another intent at the target.
    const intents = await target.stripe.paymentIntents.list({ limit: 100 });
    assert.equal(intents.data.filter((pi) => pi.id === open).length, 1);
  });
});

/** A pass-through proxy in front of the target that logs requests and can hang GETs of intents. */
async function recordingProxy(targetUrl: string) {
  const log: string[] = [];
  /** rateLimitReads: GETs of intents answer 429; rateLimitCreates: POST /v1/payment_intents answers 429. */
  const state = { hangReads: false, rateLimitReads: false, rateLimitCreates: false };
  const target = new URL(targetUrl);
  const server = http.createServer((req, res) => {
    log.push(`${req.method} ${req.url?.split('?')[0]}`);
    if (state.hangReads && req.method === 'GET' && req.url?.startsWith('/v1/payment_intents/')) {
      req.resume(); // the answer is lost
      return;
    }
    const read = req.method === 'GET' && req.url?.startsWith('/v1/payment_intents/');
    const create = req.method === 'POST' && req.url?.split('?')[0] === '/v1/payment_intents';
    if ((state.rateLimitReads && read) || (state.rateLimitCreates && create)) {
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'invalid_request_error', code: 'rate_limit' } }));
      return;
    }
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('stripe 3-D Secure through the engine (return page → GET the PaymentIntent)', () => {
  let target: TestEngine;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let t: TestEngine;
  let connectorId: string;

  const api = (method: string, path: string, body?: unknown) =>
    rawRequest(t, method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType: 'application/json',
    });

  before(async () => {
    target = await startEngine();
    proxy = await recordingProxy(target.url);
    t = await startEngine({ env: { PAYRAIL_PROBE_INTERVAL_MS: '3600000' } });
    const created = await api('POST', '/v1/connectors', {
      type: 'stripe',
      name: 'stripe',
      base_url: proxy.url,
      credentials: { secret_key: target.secretKey, webhook_secret: WEBHOOK_SECRET },
      timeout_ms: 1500,
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    connectorId = created.json.id;
    const routing = await api('POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [created.json.id] }],
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });
  after(async () => {
    await t.close();
    await proxy.close();
    await target.close();
  });

  async function attemptsOf(id: string) {
    const r = await api('GET', `/v1/payment_intents/${id}/attempts`);
    return r.json.data as Array<{
      id: string;
      operation: string;
      status: string;
      connector_reference: string | null;
    }>;
  }

  /** A payment the target challenged; `back` is where "Stripe" sends the customer afterwards. */
  async function challengedIntent() {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_threeDSecure2Required',
      confirm: true,
      return_url: 'https://shop.example/return',
    });
    assert.equal(pi.status, 'requires_action');
    const [authorize] = await attemptsOf(pi.id);
    const targetPi = authorize?.connector_reference ?? '';
    const remote = await target.stripe.paymentIntents.retrieve(targetPi);
    const returnUrl = new URL(String(remote.next_action?.redirect_to_url?.return_url));
    assert.equal(returnUrl.pathname, `/3ds/return/${pi.id}`);
    assert.equal(pi.next_action?.redirect_to_url?.url, remote.next_action?.redirect_to_url?.url);
    // What Stripe appends on the way back.
    returnUrl.searchParams.set('payment_intent', targetPi);
    returnUrl.searchParams.set('payment_intent_client_secret', String(remote.client_secret));
    returnUrl.searchParams.set('redirect_status', 'succeeded');
    return { pi, targetPi, back: returnUrl };
  }

  async function land(back: URL): Promise<URL | null> {
    const r = await fetch(`${t.url}${back.pathname}${back.search}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
    });
    await r.text();
    assert.equal(r.status, 303);
    const location = r.headers.get('location');
    return location ? new URL(location) : null;
  }

  const reads = (targetPi: string) =>
    proxy.log.filter((l) => l === `GET /v1/payment_intents/${targetPi}`).length;

  test('succeeded: the engine reads the intent; a charge and a posting; a reload does not double-charge', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    await challengeAtTarget(target, targetPi, 'succeed');
    const landed = await land(back);
    assert.equal(landed?.searchParams.get('redirect_status'), 'succeeded');
    assert.equal(landed?.searchParams.get('payment_intent'), pi.id);
    assert.equal(reads(targetPi), 1);
    const done = await t.stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    assert.equal(done.status, 'succeeded');
    const charge = done.latest_charge as { balance_transaction: string | null };
    assert.match(String(charge.balance_transaction), /^txn_/);
    const ops = await attemptsOf(pi.id);
    assert.deepEqual(
      ops.map((a) => `${a.operation}:${a.status}:${a.connector_reference}`),
      [`authorize:requires_action:${targetPi}`, `authenticate:succeeded:${targetPi}`],
    );
    // The completion made no new intent at the processor.
    const remote = await target.stripe.paymentIntents.list({ limit: 100 });
    assert.equal(remote.data.filter((r) => r.metadata.payrail_payment_intent === pi.id).length, 1);

    const reload = await land(back);
    assert.equal(reload?.searchParams.get('redirect_status'), 'succeeded');
    assert.equal(reads(targetPi), 1, 'a reload does not ask the processor again');
    assert.equal((await t.stripe.charges.list({ payment_intent: pi.id })).data.length, 1);
    assert.deepEqual((await verifyLedger(t.engine.database.db)).problems, []);
  });

  test('a failed challenge ends requires_payment_method', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    await challengeAtTarget(target, targetPi, 'fail');
    back.searchParams.set('redirect_status', 'failed');
    const landed = await land(back);
    assert.equal(landed?.searchParams.get('redirect_status'), 'failed');
    const failed = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(failed.status, 'requires_payment_method');
    assert.equal(failed.last_payment_error?.code, 'payment_intent_authentication_failure');
  });

  test('back before finishing: requires_action again, and the same challenge still completes', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    const early = await land(back);
    assert.equal(early?.searchParams.get('redirect_status'), 'failed');
    const waiting = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(waiting.status, 'requires_action');
    assert.equal(waiting.next_action?.redirect_to_url?.url, pi.next_action?.redirect_to_url?.url);
    await challengeAtTarget(target, targetPi, 'succeed');
    assert.equal((await land(back))?.searchParams.get('redirect_status'), 'succeeded');
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
  });

  test('a lost read stays processing, and recovery reads the intent again', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    await challengeAtTarget(target, targetPi, 'succeed');
    proxy.state.hangReads = true;
    try {
      const lost = await land(back);
      assert.equal(lost?.searchParams.get('redirect_status'), 'processing');
    } finally {
      proxy.state.hangReads = false;
    }
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'processing');
    await t.engine.recover();
    const done = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(done.status, 'succeeded');
    assert.equal((await t.stripe.charges.list({ payment_intent: pi.id })).data.length, 1);
    const remote = await target.stripe.paymentIntents.list({ limit: 100 });
    assert.equal(
      remote.data.filter((r) => r.metadata.payrail_payment_intent === pi.id).length,
      1,
      'recovery made no new intent at the processor',
    );
    assert.deepEqual((await verifyLedger(t.engine.database.db)).problems, []);
  });

  /** The return page, whatever it answers. */
  async function visit(back: URL) {
    const r = await fetch(`${t.url}${back.pathname}${back.search}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
    });
    const text = await r.text();
    const location = r.headers.get('location');
    return { status: r.status, location: location ? new URL(location) : null, text };
  }

  /** Stripe's signed payment_intent.succeeded for the target's intent, posted to the engine. */
  async function stripeSucceededWebhook(targetPi: string) {
    const object = await target.stripe.paymentIntents.retrieve(targetPi);
    const payload = JSON.stringify({
      id: `evt_${targetPi}`,
      object: 'event',
      type: 'payment_intent.succeeded',
      data: { object },
    });
    const signature = new Stripe('sk_test_x').webhooks.generateTestHeaderString({
      payload,
      secret: WEBHOOK_SECRET,
    });
    const r = await rawRequest(t, 'POST', `/v1/connector_webhooks/${connectorId}`, {
      body: payload,
      contentType: 'application/json',
      headers: { 'stripe-signature': signature },
      key: null,
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json as { settled: number };
  }

  /** The target's record of its intent: how much it captured and refunded. */
  async function atTarget(targetPi: string) {
    const pi = await target.stripe.paymentIntents.retrieve(targetPi, {
      expand: ['latest_charge'],
    });
    const charge = pi.latest_charge as { amount_captured: number; amount_refunded: number } | null;
    return {
      status: pi.status,
      captured: charge?.amount_captured ?? 0,
      refunded: charge?.amount_refunded ?? 0,
    };
  }

  test('amount, currency and capture_method cannot change while the processor challenge is open', async () => {
    const { pi } = await challengedIntent();
    for (const [param, value] of [
      ['amount', 100],
      ['currency', 'eur'],
      ['capture_method', 'manual'],
    ] as const) {
      const r = await api('POST', `/v1/payment_intents/${pi.id}`, { [param]: value });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'payment_intent_unexpected_state');
      assert.equal(r.json.error.param, param);
    }
    // The same values, and other fields, are fine.
    const same = await api('POST', `/v1/payment_intents/${pi.id}`, {
      amount: 1000,
      metadata: { order: '9' },
    });
    assert.equal(same.status, 200, JSON.stringify(same.json));
    const after = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(after.status, 'requires_action');
    assert.equal(after.amount, 1000);
    assert.equal(after.currency, 'usd');
    assert.equal(after.capture_method, 'automatic');
  });

  test('an intent changed after the challenge is not completed; the processor payment is reversed on its notice', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    // As an update before they were refused would have left it: €100 challenged, €10 now.
    await t.engine.database.db
      .updateTable('payment_intents')
      .set({ amount: 100 })
      .where('id', '=', pi.id)
      .execute();
    await challengeAtTarget(target, targetPi, 'succeed');
    const landed = await land(back);
    assert.equal(landed?.searchParams.get('redirect_status'), 'failed');
    const failed = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(failed.status, 'requires_payment_method');
    assert.match(String(failed.last_payment_error?.message), /no longer matches/);
    assert.equal(reads(targetPi), 0, 'the processor was not asked to complete it');
    assert.equal((await t.stripe.charges.list({ payment_intent: pi.id })).data.length, 0);
    // Stripe finished the challenged payment itself: its notice makes it an extra charge.
    assert.equal((await atTarget(targetPi)).captured, 1000);
    assert.equal((await stripeSucceededWebhook(targetPi)).settled, 1);
    assert.deepEqual(await atTarget(targetPi), {
      status: 'succeeded',
      captured: 1000,
      refunded: 1000,
    });
    const ops = await attemptsOf(pi.id);
    assert.deepEqual(
      ops.map((a) => `${a.operation}:${a.status}`),
      ['authorize:succeeded', 'reverse:succeeded'],
    );
    assert.deepEqual((await verifyLedger(t.engine.database.db)).problems, []);
    // A second delivery of the notice changes nothing.
    assert.equal((await stripeSucceededWebhook(targetPi)).settled, 0);
  });

  test('canceled while challenged: the return completes nothing; a later success is refunded', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    const canceled = await api('POST', `/v1/payment_intents/${pi.id}/cancel`, {});
    assert.equal(canceled.status, 200, JSON.stringify(canceled.json));
    await challengeAtTarget(target, targetPi, 'succeed');
    const landed = await visit(back);
    assert.equal(landed.location?.searchParams.get('redirect_status'), 'failed');
    assert.equal(reads(targetPi), 0);
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'canceled');
    assert.equal((await stripeSucceededWebhook(targetPi)).settled, 1);
    assert.deepEqual(await atTarget(targetPi), {
      status: 'succeeded',
      captured: 1000,
      refunded: 1000,
    });
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'canceled');
    assert.deepEqual((await verifyLedger(t.engine.database.db)).problems, []);
  });

  test('the notice of a challenge still open, or completed, is no extra charge', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    await challengeAtTarget(target, targetPi, 'succeed');
    // Open: the customer's return completes it.
    assert.equal((await stripeSucceededWebhook(targetPi)).settled, 0);
    assert.equal((await land(back))?.searchParams.get('redirect_status'), 'succeeded');
    // Completed: booked once, never reversed.
    assert.equal((await stripeSucceededWebhook(targetPi)).settled, 0);
    assert.equal((await atTarget(targetPi)).refunded, 0);
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
    const ops = await attemptsOf(pi.id);
    assert.ok(ops.every((a) => a.operation !== 'reverse'));
  });

  test('re-confirmed onto a bank transfer: the old challenge return completes nothing', async () => {
    const routing = await api('POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [connectorId] }],
      secondary_method: {
        type: 'bank_transfer',
        bank_transfer: { account_holder_name: 'Payrail Test GmbH', iban: 'DE89370400440532013000' },
      },
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
    try {
      const { pi, targetPi, back } = await challengedIntent();
      proxy.state.rateLimitCreates = true;
      let confirmed: Awaited<ReturnType<typeof api>>;
      try {
        confirmed = await api('POST', `/v1/payment_intents/${pi.id}/confirm`, {
          payment_method: 'pm_card_visa',
        });
      } finally {
        proxy.state.rateLimitCreates = false;
      }
      assert.equal(confirmed.status, 200, JSON.stringify(confirmed.json));
      assert.equal(confirmed.json.status, 'requires_action');
      assert.equal(confirmed.json.next_action.type, 'display_bank_transfer_instructions');
      await challengeAtTarget(target, targetPi, 'succeed');
      const landed = await visit(back);
      assert.equal(landed.status, 200, 'a waiting page, no completion');
      assert.match(landed.text, /waiting/);
      assert.equal(reads(targetPi), 0);
      const after = await t.stripe.paymentIntents.retrieve(pi.id);
      assert.equal(after.status, 'requires_action');
      assert.equal(after.next_action?.type, 'display_bank_transfer_instructions');
      assert.equal((await t.stripe.charges.list({ payment_intent: pi.id })).data.length, 0);
      // The card payment Stripe finished is reversed when its notice arrives.
      assert.equal((await stripeSucceededWebhook(targetPi)).settled, 1);
      assert.equal((await atTarget(targetPi)).refunded, 1000);
      assert.deepEqual((await verifyLedger(t.engine.database.db)).problems, []);
    } finally {
      const reset = await api('POST', '/v1/routing', {
        strategies: [{ type: 'priority', connectors: [connectorId] }],
      });
      assert.equal(reset.status, 200, JSON.stringify(reset.json));
    }
  });

  test('recovery: a 429 on the completion read leaves it processing, never failed', async () => {
    const { pi, targetPi, back } = await challengedIntent();
    await challengeAtTarget(target, targetPi, 'succeed');
    proxy.state.hangReads = true;
    try {
      assert.equal((await land(back))?.searchParams.get('redirect_status'), 'processing');
    } finally {
      proxy.state.hangReads = false;
    }
    proxy.state.rateLimitReads = true;
    try {
      await t.engine.recover();
    } finally {
      proxy.state.rateLimitReads = false;
    }
    const waiting = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(waiting.status, 'processing', JSON.stringify(waiting.last_payment_error));
    await t.engine.recover();
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
    assert.equal((await t.stripe.charges.list({ payment_intent: pi.id })).data.length, 1);
  });

  test("a return without Stripe's parameters changes nothing and shows a waiting page", async () => {
    const { pi, targetPi, back } = await challengedIntent();
    const bare = new URL(back);
    for (const key of ['payment_intent', 'payment_intent_client_secret', 'redirect_status'])
      bare.searchParams.delete(key);
    const landed = await visit(bare);
    assert.equal(landed.status, 200);
    assert.equal(landed.location, null);
    assert.match(landed.text, /waiting/);
    assert.equal(reads(targetPi), 0);
    assert.equal((await attemptsOf(pi.id)).length, 1);
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_action');
  });

  test('returns without finishing are bounded per challenge; then an error page, not "failed"', async () => {
    const { pi, back } = await challengedIntent();
    for (let i = 0; i < LIMITS.completionsPerChallengeMax; i += 1) {
      assert.equal((await visit(back)).status, 303);
    }
    const refused = await visit(back);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.location, null);
    assert.match(refused.text, /do not pay again/);
    const ops = await attemptsOf(pi.id);
    assert.equal(ops.length, 1 + LIMITS.completionsPerChallengeMax);
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_action');
  });

  test('return_url must parse; an old unparsable one gives the page, not a 500', async () => {
    for (const bad of ['https://', 'http://a b']) {
      const r = await api('POST', '/v1/payment_intents', {
        amount: 1000,
        currency: 'usd',
        return_url: bad,
      });
      assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.param, 'return_url');
    }
    const { pi, targetPi, back } = await challengedIntent();
    await t.engine.database.db
      .updateTable('payment_intents')
      .set({ return_url: 'https://' })
      .where('id', '=', pi.id)
      .execute();
    await challengeAtTarget(target, targetPi, 'succeed');
    const landed = await visit(back);
    assert.equal(landed.status, 200, landed.text);
    assert.match(landed.text, /Payment succeeded/);
    assert.equal((await visit(back)).status, 200, 'a reload too');
  });
});
