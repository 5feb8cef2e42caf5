import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createAdyenConnector } from '../src/connectors/adyen/connector.ts';
import type { AuthorizeRequest, Connector, ConnectorOutcome } from '../src/connectors/types.ts';
import { FAILURE_CODES } from '../src/connectors/types.ts';
import { Secret } from '../src/lib/crypto.ts';
import { newId } from '../src/lib/ids.ts';
import { type AdyenTestServer, startAdyenServer } from './helpers/adyen-server.ts';
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
