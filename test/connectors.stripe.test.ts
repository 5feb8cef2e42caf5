import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { createStripeConnector } from '../src/connectors/stripe/connector.ts';
import type { AuthorizeRequest, Connector, ConnectorOutcome } from '../src/connectors/types.ts';
import { FAILURE_CODES } from '../src/connectors/types.ts';
import { Secret } from '../src/lib/crypto.ts';
import { newId } from '../src/lib/ids.ts';
import { startEngine, type TestEngine } from './helpers/engine.ts';
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
