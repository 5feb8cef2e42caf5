import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Secret } from '../../lib/crypto.ts';
import { newId } from '../../lib/ids.ts';
import { FAILURE_CODES } from '../types.ts';
import {
  fromStripeCompletion,
  fromStripeFailure,
  fromStripeIntent,
  fromStripeRefund,
  parseStripeBaseUrl,
  replayAllowed,
  toStripeCreateIntent,
} from './transformers.ts';

const card = {
  type: 'card' as const,
  number: new Secret('4242424242424242'),
  brand: 'visa',
  last4: '4242',
  expMonth: 1,
  expYear: 2040,
  funding: 'credit',
  country: 'US',
};

test('create params: capture method, metadata, lowercase currency, card data', () => {
  const built = toStripeCreateIntent({
    reference: 'pa_1',
    paymentIntentId: 'pi_1',
    amountMinor: 500,
    currency: 'EUR',
    capture: false,
    instrument: card,
    authenticated: false,
    statementDescriptor: null,
  });
  assert.ok(built.ok);
  if (!built.ok) return;
  assert.equal(built.params.capture_method, 'manual');
  assert.equal(built.params.currency, 'eur');
  assert.equal(built.params.payment_method_data.card.number, '4242424242424242');
  assert.deepEqual(built.params.metadata, {
    payrail_reference: 'pa_1',
    payrail_payment_intent: 'pi_1',
  });
  assert.equal('statement_descriptor' in built.params, false);
});

test('intent statuses map to outcomes', () => {
  assert.equal(fromStripeIntent({ id: 'pi_1', status: 'requires_capture' }).status, 'succeeded');
  assert.equal(fromStripeIntent({ id: 'pi_1', status: 'processing' }).status, 'unknown');
  const sdk = fromStripeIntent({
    id: 'pi_1',
    status: 'requires_action',
    next_action: { type: 'use_stripe_sdk' },
  });
  assert.equal(sdk.status === 'declined' && sdk.code, 'authentication_required');
  const failed = fromStripeIntent({
    id: 'pi_1',
    status: 'requires_payment_method',
    last_payment_error: { code: 'card_declined', decline_code: 'stolen_card', message: 'x' },
  });
  assert.equal(failed.status === 'declined' && failed.declineCode, 'stolen_card');
});

test('failures: only proven no-ops are failed_retryable; 5xx and timeouts are unknown', () => {
  const retryable = (o: ReturnType<typeof fromStripeFailure>) =>
    o.status === 'failed_retryable' ? o.code : o.status;
  assert.equal(
    retryable(fromStripeFailure({ kind: 'refused', message: '' })),
    FAILURE_CODES.unreachable,
  );
  assert.equal(
    retryable(fromStripeFailure({ kind: 'api', httpStatus: 429, error: {} })),
    FAILURE_CODES.rateLimited,
  );
  assert.equal(
    retryable(fromStripeFailure({ kind: 'api', httpStatus: 401, error: {} })),
    FAILURE_CODES.error,
  );
  for (const httpStatus of [500, 502, 503, 504, 409]) {
    assert.equal(
      fromStripeFailure({ kind: 'api', httpStatus, error: {} }).status,
      'unknown',
      String(httpStatus),
    );
  }
  assert.equal(fromStripeFailure({ kind: 'timeout', message: '' }).status, 'unknown');
  assert.equal(fromStripeFailure({ kind: 'connection', message: '' }).status, 'unknown');
  const card402 = fromStripeFailure({
    kind: 'api',
    httpStatus: 402,
    error: {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      payment_intent: { id: 'pi_9' },
    },
  });
  assert.deepEqual(
    card402.status === 'declined' && [card402.declineCode, card402.connectorReference],
    ['insufficient_funds', 'pi_9'],
  );
});

test('refund statuses', () => {
  assert.equal(fromStripeRefund({ id: 're_1', status: 'pending' }).status, 'succeeded');
  assert.equal(fromStripeRefund({ id: 're_1', status: 'failed' }).status, 'declined');
});

test('base URL parsing and replay window', () => {
  assert.deepEqual(parseStripeBaseUrl('https://api.stripe.com'), {
    host: 'api.stripe.com',
    port: 443,
    protocol: 'https',
  });
  assert.deepEqual(parseStripeBaseUrl('http://127.0.0.1:8080/'), {
    host: '127.0.0.1',
    port: 8080,
    protocol: 'http',
  });
  assert.throws(() => parseStripeBaseUrl('http://x/v1'), /no path/);
  const nowMs = Date.now();
  const reference = newId('pa', nowMs);
  assert.equal(replayAllowed(reference, nowMs + 1000, 60_000), true);
  assert.equal(replayAllowed(reference, nowMs + 61_000, 60_000), false);
  assert.equal(replayAllowed('not-a-reference', nowMs, 60_000), false);
});

test('completion: another amount, currency or reference than the challenge is unknown', () => {
  const expected = {
    connectorReference: 'pi_remote',
    challengeReference: 'pa_root',
    amountMinor: 10000,
    currency: 'eur',
  };
  const intent = {
    id: 'pi_remote',
    status: 'succeeded',
    amount: 10000,
    currency: 'eur',
    metadata: { payrail_reference: 'pa_root' },
  };
  assert.deepEqual(fromStripeCompletion(intent, expected), {
    status: 'succeeded',
    connectorReference: 'pi_remote',
  });
  assert.equal(fromStripeCompletion({ ...intent, amount: 1000 }, expected).status, 'unknown');
  assert.equal(fromStripeCompletion({ ...intent, currency: 'usd' }, expected).status, 'unknown');
  const foreign = { ...intent, metadata: { payrail_reference: 'pa_other' } };
  assert.equal(fromStripeCompletion(foreign, expected).status, 'unknown');
  assert.equal(fromStripeCompletion({ ...intent, id: 'pi_other' }, expected).status, 'unknown');
  // Without the expectations (older callers), the intent's status decides.
  const bare = { connectorReference: 'pi_remote' };
  assert.equal(fromStripeCompletion({ ...intent, amount: 1 }, bare).status, 'succeeded');
});
