import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { rawRequest, startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

const DECLINES: Array<[string, string, string | undefined]> = [
  ['4000000000000002', 'card_declined', 'generic_decline'],
  ['4000000000009995', 'card_declined', 'insufficient_funds'],
  ['4000000000009987', 'card_declined', 'lost_card'],
  ['4000000000009979', 'card_declined', 'stolen_card'],
  ['4100000000000019', 'card_declined', 'fraudulent'],
  ['4000000000000069', 'expired_card', 'expired_card'],
  ['4000000000000127', 'incorrect_cvc', 'incorrect_cvc'],
  ['4000000000000119', 'processing_error', undefined],
];

async function expectStripeError(
  promise: Promise<unknown>,
): Promise<InstanceType<typeof Stripe.errors.StripeError>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Stripe.errors.StripeError, String(error));
    return error;
  }
  assert.fail('expected an error');
}

describe('payment intents: errors', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  for (const [number, code, declineCode] of DECLINES) {
    test(`decline ${number} → ${code}/${declineCode ?? '-'}, then a good card succeeds`, async () => {
      const pi = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
      const error = await expectStripeError(
        t.stripe.paymentIntents.confirm(pi.id, {
          payment_method_data: {
            type: 'card',
            card: { number, exp_month: 12, exp_year: 2040, cvc: '123' },
          },
        } as Stripe.PaymentIntentConfirmParams),
      );
      assert.ok(error instanceof Stripe.errors.StripeCardError);
      assert.equal(error.statusCode, 402);
      assert.equal(error.code, code);
      if (declineCode && code === 'card_declined') assert.equal(error.decline_code, declineCode);
      const raw = error.raw as { payment_intent?: { id: string; status: string } };
      assert.equal(raw.payment_intent?.id, pi.id);
      assert.equal(raw.payment_intent?.status, 'requires_payment_method');
      const after1 = await t.stripe.paymentIntents.retrieve(pi.id);
      assert.equal(after1.status, 'requires_payment_method');
      assert.equal(after1.last_payment_error?.code, code);
      assert.equal(after1.last_payment_error?.type, 'card_error');
      const charge = await t.stripe.charges.retrieve(String(after1.latest_charge));
      assert.equal(charge.status, 'failed');
      assert.equal(charge.failure_code, code);
      const ok = await t.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
      assert.equal(ok.status, 'succeeded');
      assert.equal(ok.last_payment_error, null);
      const r = await rawRequest(t, 'GET', `/v1/payment_intents/${pi.id}/attempts`);
      assert.equal(r.json.data.length, 2);
    });
  }

  test('create with confirm=true and a declined card answers 402 with the intent', async () => {
    const error = await expectStripeError(
      t.stripe.paymentIntents.create({
        amount: 1000,
        currency: 'usd',
        payment_method: 'pm_card_chargeDeclined',
        confirm: true,
      }),
    );
    assert.ok(error instanceof Stripe.errors.StripeCardError);
    assert.equal(error.decline_code, 'generic_decline');
    assert.equal(
      (error.raw as { payment_intent?: { status: string } }).payment_intent?.status,
      'requires_payment_method',
    );
  });

  test('illegal transitions: capture / cancel a succeeded intent, confirm a canceled one', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const capture = await expectStripeError(t.stripe.paymentIntents.capture(pi.id));
    assert.equal(capture.code, 'payment_intent_unexpected_state');
    assert.equal(capture.statusCode, 400);
    assert.equal((capture.raw as { payment_intent?: { id: string } }).payment_intent?.id, pi.id);
    const cancel = await expectStripeError(t.stripe.paymentIntents.cancel(pi.id));
    assert.equal(cancel.code, 'payment_intent_unexpected_state');
    const other = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    await t.stripe.paymentIntents.cancel(other.id);
    const confirm = await expectStripeError(
      t.stripe.paymentIntents.confirm(other.id, { payment_method: 'pm_card_visa' }),
    );
    assert.equal(confirm.code, 'payment_intent_unexpected_state');
    const update = await expectStripeError(t.stripe.paymentIntents.update(pi.id, { amount: 5 }));
    assert.equal(update.code, 'payment_intent_unexpected_state');
  });

  test('confirm without a payment method', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const error = await expectStripeError(t.stripe.paymentIntents.confirm(pi.id));
    assert.equal(error.code, 'payment_intent_unexpected_state');
  });

  test('over-capture is refused', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method: 'manual',
    });
    const error = await expectStripeError(
      t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1001 }),
    );
    assert.equal(error.code, 'amount_to_capture_too_large');
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_capture');
  });

  test('bad amounts and currencies change nothing', async () => {
    const before1 = await tableCounts(t);
    const unknown = await expectStripeError(
      t.stripe.paymentIntents.create({ amount: 100, currency: 'zzz' }),
    );
    assert.equal(unknown.code, 'invalid_currency');
    assert.equal(unknown.param, 'currency');
    const zero = await expectStripeError(
      t.stripe.paymentIntents.create({ amount: 0, currency: 'usd' }),
    );
    assert.equal(zero.code, 'amount_too_small');
    const big = await expectStripeError(
      t.stripe.paymentIntents.create({ amount: 1e12, currency: 'usd' }),
    );
    assert.equal(big.code, 'amount_too_large');
    const r = await rawRequest(t, 'POST', '/v1/payment_intents', {
      body: 'amount=12.5&currency=usd',
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'parameter_invalid_integer');
    assert.equal(r.json.error.param, 'amount');
    const missing = await rawRequest(t, 'POST', '/v1/payment_intents', { body: 'currency=usd' });
    assert.equal(missing.json.error.code, 'parameter_missing');
    assert.deepEqual(await tableCounts(t), before1);
  });

  test('unknown payment method and unknown intent are 404', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const pm = await expectStripeError(
      t.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_nope' }),
    );
    assert.equal(pm.statusCode, 404);
    const missing = await expectStripeError(t.stripe.paymentIntents.retrieve('pi_doesnotexist'));
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.code, 'resource_missing');
  });

  test('Idempotency-Key replay of a confirm returns the same answer without a second attempt', async () => {
    const pi = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const first = await t.stripe.paymentIntents.confirm(
      pi.id,
      { payment_method: 'pm_card_visa' },
      { idempotencyKey: 'k-confirm-1' },
    );
    const second = await t.stripe.paymentIntents.confirm(
      pi.id,
      { payment_method: 'pm_card_visa' },
      { idempotencyKey: 'k-confirm-1' },
    );
    assert.deepEqual(second, first);
    assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true');
    const r = await rawRequest(t, 'GET', `/v1/payment_intents/${pi.id}/attempts`);
    assert.equal(r.json.data.length, 1);
    const declined = await t.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const opts = { idempotencyKey: 'k-decline-1' };
    const e1 = await expectStripeError(
      t.stripe.paymentIntents.confirm(
        declined.id,
        { payment_method: 'pm_card_chargeDeclined' },
        opts,
      ),
    );
    const e2 = await expectStripeError(
      t.stripe.paymentIntents.confirm(
        declined.id,
        { payment_method: 'pm_card_chargeDeclined' },
        opts,
      ),
    );
    assert.equal(e2.statusCode, 402);
    const body = (e: { raw: unknown }) => {
      const { headers: _h, requestId: _r, ...rest } = e.raw as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(body(e2), body(e1));
    const r2 = await rawRequest(t, 'GET', `/v1/payment_intents/${declined.id}/attempts`);
    assert.equal(r2.json.data.length, 1);
  });
});
