import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { rawRequest, startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

const nextYear = new Date().getUTCFullYear() + 1;

async function rejects(
  call: Promise<unknown>,
  expected: { type: new (...args: never[]) => Error; code: string; param?: string; status: number },
): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(
      error instanceof expected.type,
      `expected ${expected.type.name}, got ${String(error)}`,
    );
    const e = error as { code?: string; param?: string; statusCode?: number };
    assert.equal(e.code, expected.code);
    assert.equal(e.statusCode, expected.status);
    if (expected.param !== undefined) assert.equal(e.param, expected.param);
    return true;
  });
}

describe('payment methods: errors', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  const card = (fields: Record<string, string | number>) =>
    t.stripe.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 12, exp_year: nextYear, ...fields } as never,
    });

  test('card number: Luhn failure is incorrect_number, bad shape is invalid_number (402 card errors)', async () => {
    const before = await tableCounts(t);
    const cardError = { type: Stripe.errors.StripeCardError, status: 402, param: 'card[number]' };
    await rejects(card({ number: '4242424242424241' }), { ...cardError, code: 'incorrect_number' });
    await rejects(card({ number: '4242abcd42424242' }), { ...cardError, code: 'invalid_number' });
    await rejects(card({ number: '42424242' }), { ...cardError, code: 'invalid_number' });
    await rejects(card({ number: '37828224631000' }), { ...cardError, code: 'invalid_number' });
    await rejects(card({ number: '424242424242424242424' }), {
      ...cardError,
      code: 'invalid_number',
    });
    assert.deepEqual(await tableCounts(t), before, 'nothing written');
  });

  test('expiry: bad month, bad year, expired card', async () => {
    const cardError = { type: Stripe.errors.StripeCardError, status: 402 };
    await rejects(card({ exp_month: 13 }), {
      ...cardError,
      code: 'invalid_expiry_month',
      param: 'card[exp_month]',
    });
    await rejects(card({ exp_month: 0 }), {
      ...cardError,
      code: 'invalid_expiry_month',
      param: 'card[exp_month]',
    });
    await rejects(card({ exp_year: 'soon' }), {
      ...cardError,
      code: 'invalid_expiry_year',
      param: 'card[exp_year]',
    });
    await rejects(card({ exp_year: 2020 }), {
      ...cardError,
      code: 'invalid_expiry_year',
      param: 'card[exp_year]',
    });
    await rejects(card({ exp_year: nextYear + 80 }), {
      ...cardError,
      code: 'invalid_expiry_year',
      param: 'card[exp_year]',
    });
    const lastMonth = new Date();
    lastMonth.setUTCDate(1);
    lastMonth.setUTCMonth(lastMonth.getUTCMonth() - 1);
    await rejects(
      card({ exp_month: lastMonth.getUTCMonth() + 1, exp_year: lastMonth.getUTCFullYear() }),
      {
        ...cardError,
        code: 'invalid_expiry_year',
        param: 'card[exp_year]',
      },
    );
  });

  test('cvc: 3 digits, 4 for amex', async () => {
    const cvcError = {
      type: Stripe.errors.StripeCardError,
      status: 402,
      code: 'invalid_cvc',
      param: 'card[cvc]',
    };
    await rejects(card({ cvc: '12' }), cvcError);
    await rejects(card({ cvc: '1234' }), cvcError);
    await rejects(card({ cvc: 'abc' }), cvcError);
    await rejects(card({ number: '378282246310005', cvc: '123' }), cvcError);
    const amex = await card({ number: '378282246310005', cvc: '1234' });
    assert.equal(amex.card?.brand, 'amex');
  });

  test('missing and unknown parameters', async () => {
    const invalid = { type: Stripe.errors.StripeInvalidRequestError, status: 400 };
    await rejects(t.stripe.paymentMethods.create({} as never), {
      ...invalid,
      code: 'parameter_missing',
      param: 'type',
    });
    await rejects(t.stripe.paymentMethods.create({ type: 'card' }), {
      ...invalid,
      code: 'parameter_missing',
      param: 'card',
    });
    await rejects(
      t.stripe.paymentMethods.create({
        type: 'card',
        card: { exp_month: 1, exp_year: nextYear } as never,
      }),
      { ...invalid, code: 'parameter_missing', param: 'card[number]' },
    );
    await rejects(card({ color: 'blue' }), {
      ...invalid,
      code: 'parameter_unknown',
      param: 'card[color]',
    });
    await rejects(t.stripe.paymentMethods.create({ type: 'ideal' as never }), {
      ...invalid,
      code: 'parameter_invalid',
      param: 'type',
    });
    await rejects(
      t.stripe.paymentMethods.create({
        type: 'card',
        card: { number: '4242424242424242', exp_month: 1, exp_year: nextYear },
        sepa_debit: { iban: 'DE89370400440532013000' },
      }),
      { ...invalid, code: 'parameter_invalid', param: 'sepa_debit' },
    );
  });

  test('IBAN validation and required billing details for SEPA', async () => {
    const before = await tableCounts(t);
    const invalid = { type: Stripe.errors.StripeInvalidRequestError, status: 400 };
    const billing = { name: 'Jenny Rosen', email: 'jenny@example.com' };
    await rejects(
      t.stripe.paymentMethods.create({
        type: 'sepa_debit',
        sepa_debit: { iban: 'DE89370400440532013001' },
        billing_details: billing,
      }),
      { ...invalid, code: 'invalid_iban', param: 'sepa_debit[iban]' },
    );
    await rejects(
      t.stripe.paymentMethods.create({
        type: 'sepa_debit',
        sepa_debit: { iban: 'BR1800360305000010009795493C1' },
        billing_details: billing,
      }),
      { ...invalid, code: 'invalid_iban', param: 'sepa_debit[iban]' },
    );
    await rejects(
      t.stripe.paymentMethods.create({
        type: 'sepa_debit',
        sepa_debit: { iban: 'DE89370400440532013000' },
        billing_details: { email: 'jenny@example.com' },
      }),
      { ...invalid, code: 'parameter_missing', param: 'billing_details[name]' },
    );
    await rejects(
      t.stripe.paymentMethods.create({
        type: 'sepa_debit',
        sepa_debit: { iban: 'DE89370400440532013000' },
        billing_details: { name: 'Jenny Rosen' },
      }),
      { ...invalid, code: 'parameter_missing', param: 'billing_details[email]' },
    );
    assert.deepEqual(await tableCounts(t), before, 'nothing written');
  });

  test('US bank accounts: routing checksum and account number', async () => {
    const invalid = {
      type: Stripe.errors.StripeInvalidRequestError,
      status: 400,
      code: 'invalid_bank_account',
    };
    const create = (account_number: string, routing_number: string) =>
      t.stripe.paymentMethods.create({
        type: 'us_bank_account',
        us_bank_account: { account_number, routing_number },
        billing_details: { name: 'Acme' },
      });
    await rejects(create('000123456789', '110000001'), {
      ...invalid,
      param: 'us_bank_account[routing_number]',
    });
    await rejects(create('000123456789', '11000000'), {
      ...invalid,
      param: 'us_bank_account[routing_number]',
    });
    await rejects(create('123', '110000000'), {
      ...invalid,
      param: 'us_bank_account[account_number]',
    });
    await rejects(create('123456789012345678', '110000000'), {
      ...invalid,
      param: 'us_bank_account[account_number]',
    });
  });

  test('attach and detach errors', async () => {
    const invalid = { type: Stripe.errors.StripeInvalidRequestError, status: 400 };
    const pm = await card({});
    await rejects(t.stripe.paymentMethods.attach(pm.id, { customer: 'cus_nope' }), {
      ...invalid,
      status: 404,
      code: 'resource_missing',
      param: 'customer',
    });
    const gone = await t.stripe.customers.create({});
    await t.stripe.customers.del(gone.id);
    await rejects(t.stripe.paymentMethods.attach(pm.id, { customer: gone.id }), {
      ...invalid,
      code: 'customer_deleted',
      param: 'customer',
    });
    await rejects(t.stripe.paymentMethods.detach(pm.id), {
      ...invalid,
      code: 'payment_method_unexpected_state',
    });
    const one = await t.stripe.customers.create({});
    const two = await t.stripe.customers.create({});
    await t.stripe.paymentMethods.attach(pm.id, { customer: one.id });
    await rejects(t.stripe.paymentMethods.attach(pm.id, { customer: two.id }), {
      ...invalid,
      code: 'payment_method_unexpected_state',
    });
    await rejects(t.stripe.paymentMethods.attach('pm_nope', { customer: one.id }), {
      ...invalid,
      status: 404,
      code: 'resource_missing',
    });
    const before = await tableCounts(t);
    await rejects(t.stripe.paymentMethods.detach('pm_card_visa'), {
      ...invalid,
      code: 'payment_method_unexpected_state',
    });
    assert.deepEqual(
      await tableCounts(t),
      before,
      'the test card made for the failed detach rolled back',
    );
  });

  test('update errors', async () => {
    const invalid = { type: Stripe.errors.StripeInvalidRequestError, status: 400 };
    const pm = await card({});
    await rejects(t.stripe.paymentMethods.update(pm.id, { card: { exp_month: 14 } }), {
      type: Stripe.errors.StripeCardError,
      status: 402,
      code: 'invalid_expiry_month',
      param: 'card[exp_month]',
    });
    await rejects(t.stripe.paymentMethods.update(pm.id, { card: { exp_year: 2001 } }), {
      type: Stripe.errors.StripeCardError,
      status: 402,
      code: 'invalid_expiry_year',
      param: 'card[exp_year]',
    });
    await rejects(
      t.stripe.paymentMethods.update(pm.id, { card: { number: '4242424242424242' } } as never),
      {
        ...invalid,
        code: 'parameter_unknown',
        param: 'card[number]',
      },
    );
    await rejects(
      t.stripe.paymentMethods.update(pm.id, { us_bank_account: { account_type: 'savings' } }),
      {
        ...invalid,
        code: 'parameter_invalid',
        param: 'us_bank_account',
      },
    );
    await rejects(t.stripe.paymentMethods.update('pm_missing', { metadata: { a: 'b' } }), {
      ...invalid,
      status: 404,
      code: 'resource_missing',
    });
  });

  test('listing requires a customer that exists', async () => {
    const invalid = { type: Stripe.errors.StripeInvalidRequestError };
    const r = await rawRequest(t, 'GET', '/v1/payment_methods?type=card');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, 'parameter_missing');
    assert.equal(r.json.error.param, 'customer');
    await rejects(t.stripe.paymentMethods.list({ customer: 'cus_nope' }), {
      ...invalid,
      status: 404,
      code: 'resource_missing',
      param: 'customer',
    });
    await rejects(t.stripe.customers.listPaymentMethods('cus_nope'), {
      ...invalid,
      status: 404,
      code: 'resource_missing',
    });
    const customer = await t.stripe.customers.create({});
    await rejects(t.stripe.paymentMethods.list({ customer: customer.id, type: 'ideal' as never }), {
      ...invalid,
      status: 400,
      code: 'parameter_invalid',
      param: 'type',
    });
  });
});
