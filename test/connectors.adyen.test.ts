import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createAdyenConnector } from '../src/connectors/adyen/connector.ts';
import type { AuthorizeRequest, Connector, ConnectorOutcome } from '../src/connectors/types.ts';
import { FAILURE_CODES } from '../src/connectors/types.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { Secret } from '../src/lib/crypto.ts';
import { newId } from '../src/lib/ids.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { type AdyenTestServer, startAdyenServer } from './helpers/adyen-server.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { freePort } from './helpers/process.ts';

// The adyen connector (official @adyen/api-library) against a local server
// that follows Adyen's documented Checkout API shapes (helpers/adyen-server.ts).

const signal = () => AbortSignal.timeout(10_000);

function cardRequest(number: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    reference: newId('pa'),
    paymentIntentId: newId('pi'),
    amountMinor: 1000,
    currency: 'eur',
    capture: false,
    instrument: {
      type: 'card',
      number: new Secret(number),
      brand: 'visa',
      last4: number.slice(-4),
      expMonth: 3,
      expYear: 2040,
      funding: 'credit',
      country: 'NL',
    },
    authenticated: false,
    statementDescriptor: null,
    ...overrides,
  };
}

function connectorFor(
  server: Pick<AdyenTestServer, 'url' | 'apiKey' | 'merchantAccount' | 'hmacKeyHex'>,
  overrides: {
    apiKey?: string;
    merchantAccount?: string;
    hmacKey?: string | null;
    nowMs?: () => number;
  } = {},
): Connector {
  const hmacKey = overrides.hmacKey === undefined ? server.hmacKeyHex : overrides.hmacKey;
  return createAdyenConnector(
    {
      id: 'conn_adyen_test',
      type: 'adyen',
      baseUrl: server.url,
      credentials: {
        api_key: overrides.apiKey ?? server.apiKey,
        merchant_account: overrides.merchantAccount ?? server.merchantAccount,
        ...(hmacKey ? { hmac_key: hmacKey } : {}),
      },
    },
    overrides.nowMs ? { nowMs: overrides.nowMs } : {},
  );
}

function pspOf(outcome: ConnectorOutcome): string {
  assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
  return outcome.status === 'succeeded' ? outcome.connectorReference : '';
}

describe('adyen connector against a local Adyen-protocol server', () => {
  let server: AdyenTestServer;
  let connector: Connector;

  before(async () => {
    server = await startAdyenServer();
    connector = connectorFor(server);
  });
  beforeEach(() => {
    server.fault = null;
  });
  after(async () => {
    await server.close();
  });

  test('authorize sends the documented request and maps Authorised', async () => {
    const request = cardRequest('4242424242424242');
    const psp = pspOf(await connector.authorize(request, signal()));
    const payment = server.payments.get(psp);
    assert.deepEqual(payment, {
      reference: request.reference,
      amount: { value: 1000, currency: 'EUR' },
    });
    const headers = server.seenHeaders.at(-1);
    assert.equal(headers?.['idempotency-key'], request.reference);
    assert.equal(headers?.['x-api-key'], server.apiKey);
  });

  test('capture, void and refund answer received and map to succeeded', async () => {
    const psp = pspOf(await connector.authorize(cardRequest('4242424242424242'), signal()));
    const captureRef = newId('pa');
    const captured = pspOf(
      await connector.capture(
        { reference: captureRef, authorizationReference: psp, amountMinor: 600, currency: 'eur' },
        signal(),
      ),
    );
    assert.deepEqual(server.modifications.get(captured), {
      kind: 'captures',
      paymentPspReference: psp,
      reference: captureRef,
    });
    assert.equal(server.seenHeaders.at(-1)?.['idempotency-key'], captureRef);
    const refunded = pspOf(
      await connector.refund(
        { reference: newId('pa'), paymentReference: psp, amountMinor: 200, currency: 'eur' },
        signal(),
      ),
    );
    assert.equal(server.modifications.get(refunded)?.kind, 'refunds');

    const other = pspOf(await connector.authorize(cardRequest('4242424242424242'), signal()));
    const voided = pspOf(
      await connector.void(
        {
          reference: newId('pa'),
          authorizationReference: other,
          amountMinor: 1000,
          currency: 'eur',
        },
        signal(),
      ),
    );
    assert.equal(server.modifications.get(voided)?.kind, 'cancels');
  });

  test('refusals map through the refusal table to Stripe codes', async () => {
    const cases: [string, string, string][] = [
      ['4000000000000002', 'card_declined', 'generic_decline'],
      ['4000000000009995', 'card_declined', 'insufficient_funds'],
      ['4000000000000069', 'expired_card', 'expired_card'],
      ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc'],
      ['4100000000000019', 'card_declined', 'fraudulent'],
    ];
    for (const [number, code, declineCode] of cases) {
      const outcome = await connector.authorize(cardRequest(number), signal());
      assert.equal(outcome.status, 'declined', `${number}: ${JSON.stringify(outcome)}`);
      if (outcome.status === 'declined') {
        assert.deepEqual([outcome.code, outcome.declineCode], [code, declineCode], number);
        assert.ok(outcome.connectorReference, 'the refused payment keeps its pspReference');
      }
    }
  });

  test('Acquirer Error is retryable elsewhere', async () => {
    const outcome = await connector.authorize(cardRequest('4000000000000119'), signal());
    assert.equal(outcome.status, 'failed_retryable', JSON.stringify(outcome));
  });

  test('RedirectShopper requires action with the action URL', async () => {
    const outcome = await connector.authorize(cardRequest('4000002760003184'), signal());
    assert.equal(outcome.status, 'requires_action', JSON.stringify(outcome));
    if (outcome.status === 'requires_action') {
      assert.equal(outcome.nextAction.url, `${server.url}/3ds/${outcome.connectorReference}`);
    }
  });

  test('retrieve replays under the same Idempotency-Key: same answer, one payment', async () => {
    const request = cardRequest('4242424242424242');
    const first = await connector.authorize(request, signal());
    const paymentsBefore = server.payments.size;
    const again = await connector.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(again, first);
    assert.equal(server.payments.size, paymentsBefore);
    const mine = [...server.payments.values()].filter((p) => p.reference === request.reference);
    assert.equal(mine.length, 1);
  });

  test('retrieve of a capture replays it without capturing twice', async () => {
    const psp = pspOf(await connector.authorize(cardRequest('4242424242424242'), signal()));
    const capture = {
      reference: newId('pa'),
      authorizationReference: psp,
      amountMinor: 1000,
      currency: 'eur',
    };
    const first = await connector.capture(capture, signal());
    const again = await connector.retrieve(
      { reference: capture.reference, operation: 'capture', original: capture },
      signal(),
    );
    assert.deepEqual(again, first);
    const captures = [...server.modifications.values()].filter(
      (m) => m.reference === capture.reference,
    );
    assert.equal(captures.length, 1);
  });

  test('retrieve past the replay window does not replay', async () => {
    const request = cardRequest('4242424242424242');
    const late = connectorFor(server, { nowMs: () => Date.now() + 8 * 24 * 3600_000 });
    const seen = server.seenHeaders.length;
    const outcome = await late.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.equal(outcome.status, 'unknown');
    assert.equal(server.seenHeaders.length, seen, 'no request was sent');
  });

  test('a wrong API key (401) is retryable elsewhere, naming the error', async () => {
    const outcome = await connectorFor(server, { apiKey: 'AQE_wrong' }).authorize(
      cardRequest('4242424242424242'),
      signal(),
    );
    assert.equal(outcome.status, 'failed_retryable');
    if (outcome.status === 'failed_retryable') {
      assert.equal(outcome.code, FAILURE_CODES.error);
      assert.match(outcome.message, /401.*security 000/);
    }
  });

  test('a wrong merchant account (403) is retryable elsewhere; a 422 is a soft decline', async () => {
    const forbidden = await connectorFor(server, { merchantAccount: 'Nope' }).authorize(
      cardRequest('4242424242424242'),
      signal(),
    );
    assert.equal(forbidden.status, 'failed_retryable');
    const invalid = await connector.capture(
      {
        reference: newId('pa'),
        authorizationReference: 'UNKNOWNPSP',
        amountMinor: 1,
        currency: 'eur',
      },
      signal(),
    );
    assert.equal(invalid.status, 'declined', JSON.stringify(invalid));
    if (invalid.status === 'declined') {
      assert.equal(invalid.code, 'processing_error');
      assert.match(invalid.message, /422.*167/);
    }
  });

  test('429 is rate limited; 500 and 503 are unknown', async () => {
    server.fault = { status: 429 };
    const limited = await connector.authorize(cardRequest('4242424242424242'), signal());
    assert.equal(limited.status === 'failed_retryable' && limited.code, FAILURE_CODES.rateLimited);
    for (const status of [500, 502, 503] as const) {
      server.fault = { status };
      const outcome = await connector.authorize(cardRequest('4242424242424242'), signal());
      assert.equal(outcome.status, 'unknown', `${status}: ${JSON.stringify(outcome)}`);
    }
  });

  test('a hanging server is unknown at the deadline; probe is not ok', async () => {
    server.fault = 'hang';
    const startedMs = Date.now();
    const outcome = await connector.authorize(
      cardRequest('4242424242424242'),
      AbortSignal.timeout(300),
    );
    assert.equal(outcome.status, 'unknown');
    assert.ok(Date.now() - startedMs < 5000);
    const probe = await connector.probe(AbortSignal.timeout(300));
    assert.equal(probe.ok, false);
  });

  test('probe is ok against a live server', async () => {
    const probe = await connector.probe(AbortSignal.timeout(2000));
    assert.equal(probe.ok, true, probe.detail);
  });

  test('bank instruments are declined without a call', async () => {
    const seen = server.seenHeaders.length;
    const outcome = await connector.authorize(
      cardRequest('4242424242424242', {
        instrument: {
          type: 'us_bank_account',
          accountNumber: new Secret('000123456789'),
          routingNumber: '110000000',
          last4: '6789',
        },
      }),
      signal(),
    );
    assert.equal(outcome.status === 'declined' && outcome.code, 'payment_method_not_supported');
    assert.equal(server.seenHeaders.length, seen);
  });

  test('webhooks: signed items map to notices; bad signatures throw', () => {
    const capture = server.notification({
      eventCode: 'CAPTURE',
      success: true,
      pspReference: 'CAPPSP',
      originalReference: 'AUTHPSP',
      merchantReference: 'pa_capture_ref',
      amount: { value: 600, currency: 'EUR' },
    });
    assert.deepEqual(connector.parseWebhook({ headers: {}, rawBody: capture }), [
      {
        reference: 'pa_capture_ref',
        operation: 'capture',
        outcome: { status: 'succeeded', connectorReference: 'CAPPSP' },
      },
    ]);
    const refused = server.notification({
      eventCode: 'AUTHORISATION',
      success: false,
      pspReference: 'AUTHPSP2',
      merchantReference: 'pa_auth_ref',
      amount: { value: 1000, currency: 'EUR' },
      reason: 'Not enough balance',
    });
    const [notice] = connector.parseWebhook({ headers: {}, rawBody: refused });
    assert.equal(notice?.operation, 'authorize');
    assert.equal(
      notice?.outcome.status === 'declined' && notice.outcome.declineCode,
      'insufficient_funds',
    );

    const forged = server.notification(
      {
        eventCode: 'REFUND',
        success: true,
        pspReference: 'X',
        merchantReference: 'pa_r',
        amount: { value: 1, currency: 'EUR' },
      },
      'AA'.repeat(32),
    );
    assert.throws(() => connector.parseWebhook({ headers: {}, rawBody: forged }), /HMAC/);
    const tampered = capture.replace('"value":600', '"value":6000');
    assert.throws(() => connector.parseWebhook({ headers: {}, rawBody: tampered }), /HMAC/);
    assert.throws(
      () => connectorFor(server, { hmacKey: null }).parseWebhook({ headers: {}, rawBody: capture }),
      /hmac_key/,
    );
  });
});

describe('adyen connector without a server', () => {
  test('connection refused is processor_unreachable; probe is not ok', async () => {
    const port = await freePort();
    const dead = connectorFor({
      url: `http://127.0.0.1:${port}`,
      apiKey: 'AQE_x',
      merchantAccount: 'M',
      hmacKeyHex: '00',
    });
    const outcome = await dead.authorize(cardRequest('4242424242424242'), signal());
    assert.equal(outcome.status === 'failed_retryable' && outcome.code, FAILURE_CODES.unreachable);
    assert.equal((await dead.probe(AbortSignal.timeout(2000))).ok, false);
  });
});

/** The shopper finishes (or fails) the challenge: the page sends them back with a redirectResult. */
async function shopperReturn(
  server: AdyenTestServer,
  psp: string,
  result: 'authorised' | 'refused',
): Promise<URL> {
  const page = await fetch(`${server.url}/3ds/${psp}?result=${result}`, { redirect: 'manual' });
  assert.equal(page.status, 302);
  return new URL(page.headers.get('location') ?? '');
}

describe('adyen connector: completing 3-D Secure with /payments/details', () => {
  let server: AdyenTestServer;
  let connector: Connector;

  before(async () => {
    server = await startAdyenServer();
    connector = connectorFor(server);
  });
  after(async () => {
    await server.close();
  });

  async function challenged(): Promise<string> {
    const request = cardRequest('4000002760003184', {
      returnUrl: 'https://payrail.example/3ds/return/pi_x?token=t',
    });
    const outcome = await connector.authorize(request, signal());
    assert.equal(outcome.status, 'requires_action', JSON.stringify(outcome));
    const psp = outcome.status === 'requires_action' ? outcome.connectorReference : '';
    assert.equal(server.challenges.get(psp)?.returnUrl, request.returnUrl);
    return psp;
  }

  test('Authorised: the redirectResult is sent under our reference as Idempotency-Key', async () => {
    const psp = await challenged();
    const back = await shopperReturn(server, psp, 'authorised');
    assert.equal(back.origin + back.pathname, 'https://payrail.example/3ds/return/pi_x');
    const redirectResult = back.searchParams.get('redirectResult') ?? '';
    const reference = newId('pa');
    const request = { reference, connectorReference: psp, details: { redirectResult } };
    const outcome = await connector.completeAuthentication?.(request, signal());
    assert.deepEqual(outcome, { status: 'succeeded', connectorReference: psp });
    assert.deepEqual(server.detailsCalls.at(-1), { idempotencyKey: reference, redirectResult });
    assert.ok(server.payments.has(psp));
    // Asked again without the redirectResult (recovery): Adyen answers from its stored response.
    const calls = server.detailsCalls.length;
    const again = await connector.completeAuthentication?.({ ...request, details: {} }, signal());
    assert.deepEqual(again, outcome);
    assert.equal(server.detailsCalls.length, calls, 'the replay did not run again');
  });

  test('Refused after the challenge is a decline; a foreign or missing answer is unknown', async () => {
    const psp = await challenged();
    const redirectResult =
      (await shopperReturn(server, psp, 'refused')).searchParams.get('redirectResult') ?? '';
    const refused = await connector.completeAuthentication?.(
      { reference: newId('pa'), connectorReference: psp, details: { redirectResult } },
      signal(),
    );
    assert.equal(refused?.status, 'declined', JSON.stringify(refused));
    if (refused?.status === 'declined') {
      assert.equal(refused.declineCode, 'authentication_required');
      assert.equal(refused.connectorReference, psp);
    }
    // Another payment's redirectResult never completes this one.
    const other = await challenged();
    const mine = await challenged();
    const foreign =
      (await shopperReturn(server, other, 'authorised')).searchParams.get('redirectResult') ?? '';
    const crossed = await connector.completeAuthentication?.(
      { reference: newId('pa'), connectorReference: mine, details: { redirectResult: foreign } },
      signal(),
    );
    assert.equal(crossed?.status, 'unknown', JSON.stringify(crossed));
    // No stored answer and no redirectResult: Adyen cannot tell us; not a decline.
    const nothing = await connector.completeAuthentication?.(
      { reference: newId('pa'), connectorReference: mine, details: {} },
      signal(),
    );
    assert.equal(nothing?.status, 'unknown', JSON.stringify(nothing));
  });
});

describe('adyen 3-D Secure through the engine (return page → /payments/details)', () => {
  let server: AdyenTestServer;
  let t: TestEngine;

  const api = (method: string, path: string, body?: unknown) =>
    rawRequest(t, method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType: 'application/json',
    });

  before(async () => {
    server = await startAdyenServer();
    t = await startEngine({ env: { PAYRAIL_PROBE_INTERVAL_MS: '3600000' } });
    const created = await api('POST', '/v1/connectors', {
      type: 'adyen',
      name: 'adyen',
      base_url: server.url,
      credentials: { api_key: server.apiKey, merchant_account: server.merchantAccount },
      timeout_ms: 1500,
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const routing = await api('POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [created.json.id] }],
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });
  beforeEach(() => {
    server.fault = null;
  });
  after(async () => {
    await t.close();
    await server.close();
  });

  async function challengedIntent() {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'eur',
      payment_method: 'pm_card_threeDSecure2Required',
      confirm: true,
      return_url: 'https://shop.example/return?order=7',
    });
    assert.equal(pi.status, 'requires_action');
    const url = String(pi.next_action?.redirect_to_url?.url);
    const psp = /\/3ds\/([A-Z0-9]+)$/.exec(url)?.[1] ?? '';
    const challenge = server.challenges.get(psp);
    // Adyen was given the engine's return page for this intent, not the shop's.
    assert.match(challenge?.returnUrl ?? '', new RegExp(`/3ds/return/${pi.id}\\?token=[\\w-]+$`));
    return { pi, psp };
  }

  /** The shopper's browser lands on the engine's return page (its host as the test sees it). */
  async function land(back: URL): Promise<{ status: number; location: URL | null }> {
    const r = await fetch(`${t.url}${back.pathname}${back.search}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
    });
    await r.text();
    const location = r.headers.get('location');
    return { status: r.status, location: location ? new URL(location) : null };
  }

  async function attemptsOf(id: string) {
    const r = await api('GET', `/v1/payment_intents/${id}/attempts`);
    return r.json.data as Array<{ id: string; operation: string; status: string }>;
  }

  test('authorised: succeeded with a charge and a posting; a reload does not complete twice', async () => {
    const { pi, psp } = await challengedIntent();
    const back = await shopperReturn(server, psp, 'authorised');
    const first = await land(back);
    assert.equal(first.status, 303);
    assert.equal(first.location?.origin, 'https://shop.example');
    assert.equal(first.location?.searchParams.get('order'), '7');
    assert.equal(first.location?.searchParams.get('payment_intent'), pi.id);
    assert.equal(first.location?.searchParams.get('redirect_status'), 'succeeded');

    const done = await t.stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.amount_received, 1000);
    const charge = done.latest_charge as { status: string; balance_transaction: string | null };
    assert.equal(charge.status, 'succeeded');
    assert.match(String(charge.balance_transaction), /^txn_/);
    const ops = await attemptsOf(pi.id);
    assert.deepEqual(
      ops.map((a) => `${a.operation}:${a.status}`),
      ['authorize:requires_action', 'authenticate:succeeded'],
    );
    const calls = server.detailsCalls.filter((c) => c.idempotencyKey === ops[1]?.id);
    assert.deepEqual(calls, [
      { idempotencyKey: ops[1]?.id, redirectResult: back.searchParams.get('redirectResult') },
    ]);

    const detailsBefore = server.detailsCalls.length;
    const reload = await land(back);
    assert.equal(reload.status, 303);
    assert.equal(reload.location?.searchParams.get('redirect_status'), 'succeeded');
    assert.equal(server.detailsCalls.length, detailsBefore, 'a reload calls Adyen no more');
    const charges = await t.stripe.charges.list({ payment_intent: pi.id });
    assert.equal(charges.data.length, 1);
    assert.equal((await attemptsOf(pi.id)).length, 2);
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, []);
  });

  test('refused after the challenge ends requires_payment_method', async () => {
    const { pi, psp } = await challengedIntent();
    const landed = await land(await shopperReturn(server, psp, 'refused'));
    assert.equal(landed.location?.searchParams.get('redirect_status'), 'failed');
    const failed = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(failed.status, 'requires_payment_method');
    assert.equal(failed.last_payment_error?.decline_code, 'authentication_required');
    assert.equal(failed.amount_received, 0);
  });

  test('a lost answer stays processing; the shopper reloading completes it once', async () => {
    const { pi, psp } = await challengedIntent();
    const back = await shopperReturn(server, psp, 'authorised');
    server.fault = 'hang';
    const lost = await land(back);
    assert.equal(lost.location?.searchParams.get('redirect_status'), 'processing');
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'processing');
    server.fault = null;
    // Recovery alone cannot finish it: Adyen stored nothing under the key, and
    // the redirectResult is not kept. It stays processing, never failed.
    await t.engine.recover();
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'processing');
    const reload = await land(back);
    assert.equal(reload.location?.searchParams.get('redirect_status'), 'succeeded');
    const done = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(done.status, 'succeeded');
    const ops = await attemptsOf(pi.id);
    assert.deepEqual(
      ops.map((a) => `${a.operation}:${a.status}`),
      ['authorize:requires_action', 'authenticate:succeeded'],
    );
    const ran = server.detailsCalls.filter(
      (c) => c.idempotencyKey === ops[1]?.id && c.redirectResult,
    );
    assert.equal(ran.length, 1, 'one /payments/details with the redirectResult ran');
    assert.equal((await t.stripe.charges.list({ payment_intent: pi.id })).data.length, 1);
  });

  test('bad returns: wrong token 404, oversized redirectResult 400; nothing changes', async () => {
    const { pi, psp } = await challengedIntent();
    const back = await shopperReturn(server, psp, 'authorised');
    const calls = server.detailsCalls.length;
    const wrong = new URL(back);
    wrong.searchParams.set('token', 'A'.repeat(32));
    const r404 = await fetch(`${t.url}${wrong.pathname}${wrong.search}`, { redirect: 'manual' });
    assert.equal(r404.status, 404);
    assert.equal(((await r404.json()) as { error: { param: string } }).error.param, 'id');
    const long = new URL(back);
    long.searchParams.set('redirectResult', 'x'.repeat(LIMITS.authenticationDetailLengthMax + 1));
    const r400 = await fetch(`${t.url}${long.pathname}${long.search}`, { redirect: 'manual' });
    assert.equal(r400.status, 400);
    assert.equal(
      ((await r400.json()) as { error: { param: string } }).error.param,
      'redirectResult',
    );
    const noToken = await fetch(`${t.url}${back.pathname}`, { redirect: 'manual' });
    assert.equal(noToken.status, 400);
    assert.equal(server.detailsCalls.length, calls);
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_action');
    assert.equal((await attemptsOf(pi.id)).length, 1);
  });

  test('a return without redirectResult (a scanner, a typed URL) begins nothing; the real one completes', async () => {
    const { pi, psp } = await challengedIntent();
    const back = await shopperReturn(server, psp, 'authorised');
    const bare = new URL(back);
    bare.searchParams.delete('redirectResult');
    const calls = server.detailsCalls.length;
    for (const method of ['GET', 'POST']) {
      const r = await fetch(`${t.url}${bare.pathname}${bare.search}`, {
        method,
        redirect: 'manual',
        signal: AbortSignal.timeout(20_000),
      });
      const text = await r.text();
      assert.equal(r.status, 200, `${method}: ${text}`);
      assert.equal(r.headers.get('location'), null);
      assert.match(text, /waiting/);
    }
    assert.equal(server.detailsCalls.length, calls, 'Adyen was not called');
    assert.equal((await attemptsOf(pi.id)).length, 1);
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_action');
    const landed = await land(back);
    assert.equal(landed.location?.searchParams.get('redirect_status'), 'succeeded');
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'succeeded');
  });
});
