import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

// Splits refused: each error names its parameter and writes nothing. And the
// security side: a destination must be one of the caller's own connected
// accounts, never another platform's, never the caller itself.

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

describe('splits: errors and security', () => {
  let t: TestEngine;
  let acct = '';
  let foreignAcct = '';
  before(async () => {
    t = await startEngine();
    acct = (await t.stripe.accounts.create({ type: 'custom' })).id;
    const platform = await t.engine.accounts.createAccount({ businessName: 'Other platform' });
    const key = await t.engine.accounts.createKey(platform.id, { kind: 'secret', livemode: false });
    foreignAcct = (await t.client(key.key).accounts.create({ type: 'custom' })).id;
  });
  after(async () => {
    await t.close();
  });

  const base = { amount: 1_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true };

  async function refused(
    params: Record<string, unknown>,
    expected: { status: number; code: string; param: string },
  ) {
    const counts = await tableCounts(t);
    const error = await expectStripeError(
      t.stripe.paymentIntents.create({ ...base, ...params } as Stripe.PaymentIntentCreateParams),
    );
    const label = JSON.stringify(params);
    assert.equal(error.statusCode, expected.status, label);
    assert.equal(error.code, expected.code, label);
    assert.equal(error.param, expected.param, label);
    assert.deepEqual(await tableCounts(t), counts, `${label} wrote nothing`);
  }

  test('error: application_fee_amount greater than the amount', async () => {
    await refused(
      { application_fee_amount: 1_001, transfer_data: { destination: acct } },
      { status: 400, code: 'parameter_invalid', param: 'application_fee_amount' },
    );
    await refused(
      { application_fee_amount: -1, transfer_data: { destination: acct } },
      { status: 400, code: 'parameter_invalid', param: 'application_fee_amount' },
    );
    await refused(
      { application_fee_amount: 'ten', transfer_data: { destination: acct } },
      { status: 400, code: 'parameter_invalid_integer', param: 'application_fee_amount' },
    );
  });

  test('error: application_fee_amount without transfer_data[destination]', async () => {
    await refused(
      { application_fee_amount: 100 },
      { status: 400, code: 'parameter_invalid', param: 'application_fee_amount' },
    );
  });

  test('error: unknown destination, and transfer_data[amount] (not supported)', async () => {
    await refused(
      { application_fee_amount: 100, transfer_data: { destination: 'acct_doesnotexist' } },
      { status: 404, code: 'resource_missing', param: 'transfer_data[destination]' },
    );
    await refused(
      { transfer_data: { destination: acct, amount: 500 } },
      { status: 400, code: 'parameter_unknown', param: 'transfer_data[amount]' },
    );
  });

  test('security: another platform’s connected account, or the caller itself, is no destination', async () => {
    for (const destination of [foreignAcct, t.accountId]) {
      await refused(
        { application_fee_amount: 100, transfer_data: { destination } },
        { status: 404, code: 'resource_missing', param: 'transfer_data[destination]' },
      );
    }
  });

  test('error: update and capture keep the fee within the amount', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 2_000,
      currency: 'usd',
      application_fee_amount: 1_500,
      transfer_data: { destination: acct },
    });
    const shrink = await expectStripeError(
      t.stripe.paymentIntents.update(pi.id, { amount: 1_000 }),
    );
    assert.equal(shrink.param, 'application_fee_amount');
    const foreign = await expectStripeError(
      t.stripe.paymentIntents.update(pi.id, {
        transfer_data: { destination: foreignAcct },
      } as Stripe.PaymentIntentUpdateParams),
    );
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.param, 'transfer_data[destination]');
    const unchanged = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(unchanged.amount, 2_000);
    assert.deepEqual(unchanged.transfer_data, { amount: null, destination: acct });

    const held = await t.stripe.paymentIntents.confirm(pi.id, {
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
    });
    assert.equal(held.status, 'requires_capture');
    const counts = await tableCounts(t);
    // The intent's fee (1 500) does not fit a capture of 1 000.
    const partial = await expectStripeError(
      t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1_000 }),
    );
    assert.equal(partial.param, 'application_fee_amount');
    const over = await expectStripeError(
      t.stripe.paymentIntents.capture(pi.id, { application_fee_amount: 2_001 }),
    );
    assert.equal(over.param, 'application_fee_amount');
    assert.deepEqual(await tableCounts(t), counts);
    const still = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(still.status, 'requires_capture');
    assert.equal(still.application_fee_amount, 1_500);
  });

  test('error: a fee on capture needs a destination on the intent', async () => {
    const pi = await t.stripe.paymentIntents.create({ ...base, capture_method: 'manual' });
    const error = await expectStripeError(
      t.stripe.paymentIntents.capture(pi.id, { application_fee_amount: 10 }),
    );
    assert.equal(error.param, 'application_fee_amount');
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_capture');
  });
});
