import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Secret } from '../../lib/crypto.ts';
import { type AuthorizeRequest, FAILURE_CODES } from '../types.ts';
import { createPspSimConnector } from './connector.ts';
import {
  fromPspSimAnswer,
  fromPspSimLookup,
  fromPspSimNotice,
  fromPspSimTransportError,
  signPspSimPayload,
  toPspSimChargeRequest,
  verifyPspSimSignature,
} from './transformers.ts';
import type { PspSimCharge } from './wire.ts';

const charge = (over: Partial<PspSimCharge> = {}): PspSimCharge => ({
  id: 'simch_1',
  object: 'charge',
  reference: 'pa_1',
  payment_reference: 'pi_1',
  status: 'captured',
  amount: 1000,
  currency: 'usd',
  amount_captured: 1000,
  amount_refunded: 0,
  voided: false,
  payment_method_type: 'card',
  last4: '4242',
  redirect_url: null,
  failure_code: null,
  decline_code: null,
  failure_message: null,
  created_ms: 1,
  ...over,
});

const cardRequest: AuthorizeRequest = {
  reference: 'pa_1',
  paymentIntentId: 'pi_1',
  amountMinor: 1000,
  currency: 'USD',
  capture: false,
  instrument: {
    type: 'card',
    number: new Secret('4242424242424242'),
    brand: 'visa',
    last4: '4242',
    expMonth: 12,
    expYear: 2040,
    funding: 'credit',
    country: 'US',
  },
  authenticated: true,
  statementDescriptor: null,
};

describe('psp-sim transformers: requests', () => {
  test('a card authorization carries both references, the amount in minor units and the card', () => {
    assert.deepEqual(toPspSimChargeRequest(cardRequest), {
      reference: 'pa_1',
      payment_reference: 'pi_1',
      amount: 1000,
      currency: 'usd',
      capture: false,
      authenticated: true,
      statement_descriptor: null,
      payment_method_type: 'card',
      card: { number: '4242424242424242', exp_month: 12, exp_year: 2040 },
    });
  });

  test('a bank debit sends only its last four', () => {
    const body = toPspSimChargeRequest({
      ...cardRequest,
      instrument: {
        type: 'sepa_debit',
        iban: new Secret('DE89370400440532013000'),
        last4: '3000',
        country: 'DE',
      },
    });
    assert.equal(body.payment_method_type, 'sepa_debit');
    assert.equal(body.last4, '3000');
    assert.equal(JSON.stringify(body).includes('DE8937'), false);
  });
});

describe('psp-sim transformers: answers', () => {
  test('200 authorized or captured → succeeded with the sim charge id', () => {
    for (const status of ['authorized', 'captured'] as const) {
      assert.deepEqual(
        fromPspSimAnswer({ httpStatus: 200, body: charge({ status }) }, 'authorize'),
        {
          status: 'succeeded',
          connectorReference: 'simch_1',
        },
      );
    }
  });

  test('200 requires_action → requires_action with the redirect', () => {
    const body = charge({ status: 'requires_action', redirect_url: 'http://sim/_sim/3ds/simch_1' });
    assert.deepEqual(fromPspSimAnswer({ httpStatus: 200, body }, 'authorize'), {
      status: 'requires_action',
      connectorReference: 'simch_1',
      nextAction: { type: 'redirect_to_url', url: 'http://sim/_sim/3ds/simch_1' },
    });
  });

  test('402 → declined with code, decline code and message', () => {
    const body = {
      error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
        charge: 'simch_9',
      },
    };
    assert.deepEqual(fromPspSimAnswer({ httpStatus: 402, body }, 'authorize'), {
      status: 'declined',
      connectorReference: 'simch_9',
      code: 'card_declined',
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    });
  });

  test('402 processing_error → failed_retryable, like the sandbox', () => {
    const body = { error: { type: 'card_error', code: 'processing_error', message: 'try again' } };
    const outcome = fromPspSimAnswer({ httpStatus: 402, body }, 'authorize');
    assert.equal(outcome.status, 'failed_retryable');
  });

  test('503, 500, 429 and 401 are failed_retryable with the shared codes', () => {
    const code = (httpStatus: number) => {
      const outcome = fromPspSimAnswer({ httpStatus, body: null }, 'authorize');
      return outcome.status === 'failed_retryable' ? outcome.code : outcome.status;
    };
    assert.equal(code(503), FAILURE_CODES.unavailable);
    assert.equal(code(500), FAILURE_CODES.error);
    assert.equal(code(429), FAILURE_CODES.rateLimited);
    assert.equal(code(401), FAILURE_CODES.error);
  });

  test('502, 504, unreadable 200 and a 200 of the wrong object are unknown, never failures', () => {
    assert.equal(fromPspSimAnswer({ httpStatus: 502, body: null }, 'authorize').status, 'unknown');
    assert.equal(fromPspSimAnswer({ httpStatus: 504, body: null }, 'capture').status, 'unknown');
    assert.equal(
      fromPspSimAnswer({ httpStatus: 200, body: { id: 1 } }, 'authorize').status,
      'unknown',
    );
    const refund = {
      id: 'simre_1',
      object: 'refund',
      reference: 'pa_2',
      charge: 'simch_1',
      amount: 5,
      status: 'succeeded',
      created_ms: 1,
    };
    assert.equal(fromPspSimAnswer({ httpStatus: 200, body: refund }, 'capture').status, 'unknown');
    assert.deepEqual(fromPspSimAnswer({ httpStatus: 200, body: refund }, 'refund'), {
      status: 'succeeded',
      connectorReference: 'simre_1',
    });
  });

  test('400 with an error body is declined with the sim code (it changed nothing)', () => {
    const body = {
      error: { type: 'invalid_request_error', code: 'amount_too_large', message: 'too much' },
    };
    const outcome = fromPspSimAnswer({ httpStatus: 400, body }, 'refund');
    assert.equal(outcome.status, 'declined');
    assert.equal(outcome.status === 'declined' && outcome.code, 'amount_too_large');
  });
});

describe('psp-sim transformers: lookup', () => {
  test('404 → not_found; a charge → its outcome; an operation of another kind → unknown', () => {
    assert.deepEqual(fromPspSimLookup({ httpStatus: 404, body: null }, 'authorize'), {
      status: 'not_found',
    });
    assert.equal(
      fromPspSimLookup({ httpStatus: 200, body: charge() }, 'authorize').status,
      'succeeded',
    );
    assert.equal(fromPspSimLookup({ httpStatus: 200, body: charge() }, 'refund').status, 'unknown');
    const declined = charge({
      status: 'declined',
      failure_code: 'card_declined',
      decline_code: 'generic_decline',
      failure_message: 'no',
    });
    assert.equal(
      fromPspSimLookup({ httpStatus: 200, body: declined }, 'authorize').status,
      'declined',
    );
    assert.equal(fromPspSimLookup({ httpStatus: 500, body: null }, 'authorize').status, 'unknown');
  });
});

describe('psp-sim transformers: transport errors', () => {
  const fetchError = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });

  test('connection refused → failed_retryable unreachable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const outcome = fromPspSimTransportError(fetchError(refused));
    assert.equal(outcome.status === 'failed_retryable' && outcome.code, FAILURE_CODES.unreachable);
    const both = fetchError(new AggregateError([refused, refused]));
    assert.equal(fromPspSimTransportError(both).status, 'failed_retryable');
  });

  test('a reset, an abort or a timeout is unknown', () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    assert.equal(fromPspSimTransportError(fetchError(reset)).status, 'unknown');
    assert.equal(
      fromPspSimTransportError(new DOMException('aborted', 'AbortError')).status,
      'unknown',
    );
    assert.equal(
      fromPspSimTransportError(new DOMException('timed out', 'TimeoutError')).status,
      'unknown',
    );
  });
});

describe('psp-sim notices', () => {
  const apiKey = 'sk_sim_1';
  const rawBody = JSON.stringify({
    reference: 'pa_1',
    operation: 'authorize',
    status: 'succeeded',
    id: 'simch_1',
  });
  const nowMs = 1_700_000_000_000;
  const header = signPspSimPayload({ apiKey, rawBody, timestampSeconds: nowMs / 1000 });

  test('a correctly signed notice verifies and parses', () => {
    verifyPspSimSignature({ header, rawBody, apiKey, nowMs });
    assert.deepEqual(fromPspSimNotice(rawBody), {
      reference: 'pa_1',
      operation: 'authorize',
      outcome: { status: 'succeeded', connectorReference: 'simch_1' },
    });
  });

  test('a wrong key, a changed body, an old timestamp or no header are rejected with a clear error', () => {
    assert.throws(
      () => verifyPspSimSignature({ header, rawBody, apiKey: 'other', nowMs }),
      /does not match/,
    );
    assert.throws(
      () => verifyPspSimSignature({ header, rawBody: `${rawBody} `, apiKey, nowMs }),
      /does not match/,
    );
    assert.throws(
      () => verifyPspSimSignature({ header, rawBody, apiKey, nowMs: nowMs + 3_600_000 }),
      /tolerance/,
    );
    assert.throws(
      () => verifyPspSimSignature({ header: undefined, rawBody, apiKey, nowMs }),
      /no PspSim-Signature/,
    );
    assert.throws(
      () => verifyPspSimSignature({ header: 'garbage', rawBody, apiKey, nowMs }),
      /malformed/,
    );
  });

  test('the connector verifies the header before parsing', () => {
    const connector = createPspSimConnector({
      id: 'conn_sim',
      type: 'psp_sim',
      baseUrl: 'http://127.0.0.1:1',
      credentials: { api_key: apiKey },
    });
    const t = Math.floor(Date.now() / 1000);
    const signed = signPspSimPayload({ apiKey, rawBody, timestampSeconds: t });
    const notices = connector.parseWebhook({ headers: { 'PspSim-Signature': signed }, rawBody });
    assert.equal(notices[0]?.outcome.status, 'succeeded');
    const forged = signPspSimPayload({ apiKey: 'nope', rawBody, timestampSeconds: t });
    assert.throws(
      () => connector.parseWebhook({ headers: { 'pspsim-signature': forged }, rawBody }),
      /signature/,
    );
    assert.throws(() => fromPspSimNotice('{"reference":"pa_1"}'), /invalid/);
  });
});
