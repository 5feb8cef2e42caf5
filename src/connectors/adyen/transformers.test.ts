import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Secret } from '../../lib/crypto.ts';
import { rebaseAdyenEndpoint } from './http.ts';
import {
  adyenRefusalCodes,
  fromAdyenDetailsResponse,
  fromAdyenFailure,
  fromAdyenModificationResponse,
  fromAdyenNotificationItem,
  fromAdyenPaymentResponse,
  toAdyenPaymentRequest,
} from './transformers.ts';

test('payment request: uppercase currency, two-digit month, manual capture flag', () => {
  const built = toAdyenPaymentRequest(
    {
      reference: 'pa_1',
      paymentIntentId: 'pi_1',
      amountMinor: 1999,
      currency: 'eur',
      capture: false,
      instrument: {
        type: 'card',
        number: new Secret('4111111111111111'),
        brand: 'visa',
        last4: '1111',
        expMonth: 3,
        expYear: 2030,
        funding: 'credit',
        country: null,
      },
      authenticated: false,
      statementDescriptor: null,
    },
    'Merchant',
  );
  assert.ok(built.ok);
  if (!built.ok) return;
  assert.deepEqual(built.body.amount, { value: 1999, currency: 'EUR' });
  assert.equal(built.body.paymentMethod.expiryMonth, '03');
  assert.deepEqual(built.body.additionalData, { manualCapture: 'true' });
  assert.equal(built.body.captureDelayHours, undefined);
});

test('refusal table: by code, then by reason text, else generic', () => {
  assert.deepEqual(adyenRefusalCodes('12', undefined), {
    code: 'card_declined',
    declineCode: 'insufficient_funds',
  });
  assert.deepEqual(adyenRefusalCodes(undefined, 'cvc declined'), {
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
  });
  assert.deepEqual(adyenRefusalCodes('999', 'Something new'), {
    code: 'card_declined',
    declineCode: 'generic_decline',
  });
});

test('result codes', () => {
  assert.equal(
    fromAdyenPaymentResponse({ resultCode: 'Authorised', pspReference: 'P' }).status,
    'succeeded',
  );
  assert.equal(fromAdyenPaymentResponse({ resultCode: 'Authorised' }).status, 'unknown');
  assert.equal(
    fromAdyenPaymentResponse({ resultCode: 'Pending', pspReference: 'P' }).status,
    'unknown',
  );
  assert.equal(
    fromAdyenPaymentResponse({ resultCode: 'Refused', refusalReasonCode: '4' }).status,
    'failed_retryable',
  );
  const challenge = fromAdyenPaymentResponse({
    resultCode: 'ChallengeShopper',
    pspReference: 'P',
    action: { url: 'https://acs' },
  });
  assert.equal(challenge.status === 'requires_action' && challenge.nextAction.url, 'https://acs');
  const error = fromAdyenPaymentResponse({ resultCode: 'Error', pspReference: 'P' });
  assert.equal(error.status === 'declined' && error.code, 'processing_error');
  assert.equal(
    fromAdyenModificationResponse({ status: 'received', pspReference: 'M' }).status,
    'succeeded',
  );
  assert.equal(fromAdyenModificationResponse({ status: 'other' }).status, 'unknown');
});

test('failures: 5xx unknown, 429 rate limited, 401 retryable, 422 soft decline, 704 unknown', () => {
  const http = (httpStatus: number, errorCode = '000') =>
    fromAdyenFailure({ kind: 'http', httpStatus, error: { status: httpStatus, errorCode } });
  for (const s of [500, 502, 503]) assert.equal(http(s).status, 'unknown');
  assert.equal(http(429).status, 'failed_retryable');
  assert.equal(http(401).status, 'failed_retryable');
  assert.equal(http(422).status, 'declined');
  assert.equal(http(422, '704').status, 'unknown');
  assert.equal(fromAdyenFailure({ kind: 'refused', message: '' }).status, 'failed_retryable');
  assert.equal(fromAdyenFailure({ kind: 'timeout', message: '' }).status, 'unknown');
});

test('notification items', () => {
  const base = {
    pspReference: 'P',
    merchantReference: 'pa_1',
    amount: { value: 1, currency: 'EUR' },
  };
  assert.equal(
    fromAdyenNotificationItem({ ...base, eventCode: 'REPORT_AVAILABLE', success: 'true' }),
    null,
  );
  const cancel = fromAdyenNotificationItem({
    ...base,
    eventCode: 'CANCELLATION',
    success: 'false',
  });
  assert.equal(cancel?.operation, 'void');
  assert.equal(cancel?.outcome.status, 'declined');
});

test('the library endpoint is moved onto the configured base URL', () => {
  assert.equal(
    rebaseAdyenEndpoint(
      'https://checkout-test.adyen.com/v72/payments',
      'https://abc-checkout-live.adyenpayments.com/checkout/',
    ),
    'https://abc-checkout-live.adyenpayments.com/checkout/v72/payments',
  );
  assert.throws(() => rebaseAdyenEndpoint('https://elsewhere.example/v72/payments', 'http://x'));
});

test('details answers: another reference or amount than the challenge is unknown, never a success', () => {
  const expected = {
    connectorReference: 'PSP1',
    challengeReference: 'pa_root',
    amountMinor: 10000,
    currency: 'eur',
  };
  const ok = { resultCode: 'Authorised', merchantReference: 'pa_root' };
  assert.deepEqual(fromAdyenDetailsResponse(ok, expected), {
    status: 'succeeded',
    connectorReference: 'PSP1',
  });
  assert.deepEqual(
    fromAdyenDetailsResponse({ ...ok, amount: { value: 10000, currency: 'EUR' } }, expected),
    { status: 'succeeded', connectorReference: 'PSP1' },
  );
  // No pspReference: the merchantReference decides whose answer it is.
  const foreign = fromAdyenDetailsResponse({ ...ok, merchantReference: 'pa_other' }, expected);
  assert.equal(foreign.status, 'unknown');
  const amount = fromAdyenDetailsResponse(
    { ...ok, amount: { value: 1000, currency: 'EUR' } },
    expected,
  );
  assert.equal(amount.status, 'unknown');
  const currency = fromAdyenDetailsResponse(
    { ...ok, amount: { value: 10000, currency: 'USD' } },
    expected,
  );
  assert.equal(currency.status, 'unknown');
  const otherPsp = fromAdyenDetailsResponse({ ...ok, pspReference: 'PSP2' }, expected);
  assert.equal(otherPsp.status, 'unknown');
});
