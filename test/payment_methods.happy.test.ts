import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TEST_CARDS } from '../src/vault/test-cards.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

const nextYear = new Date().getUTCFullYear() + 1;

describe('payment methods: happy paths', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('create a card from raw details: Stripe shape, no number anywhere in the response', async () => {
    const raw = await rawRequest(t, 'POST', '/v1/payment_methods', {
      body: new URLSearchParams({
        type: 'card',
        'card[number]': '4242 4242 4242 4242',
        'card[exp_month]': '12',
        'card[exp_year]': String(nextYear),
        'card[cvc]': '123',
        'billing_details[name]': 'Jenny Rosen',
        'billing_details[address][postal_code]': '94107',
        'metadata[order]': '42',
      }).toString(),
    });
    assert.equal(raw.status, 200);
    const text = JSON.stringify(raw.json);
    assert.ok(!text.includes('4242424242424242'), 'no card number in the response');
    assert.ok(!text.includes('"123"'), 'no cvc in the response');
    const pm = raw.json;
    assert.match(pm.id, /^pm_[0-9a-z]{24}$/);
    assert.equal(pm.object, 'payment_method');
    assert.equal(pm.type, 'card');
    assert.equal(pm.customer, null);
    assert.equal(pm.livemode, false);
    assert.deepEqual(pm.metadata, { order: '42' });
    assert.deepEqual(pm.billing_details, {
      address: {
        city: null,
        country: null,
        line1: null,
        line2: null,
        postal_code: '94107',
        state: null,
      },
      email: null,
      name: 'Jenny Rosen',
      phone: null,
    });
    assert.equal(pm.card.brand, 'visa');
    assert.equal(pm.card.display_brand, 'visa');
    assert.equal(pm.card.last4, '4242');
    assert.equal(pm.card.exp_month, 12);
    assert.equal(pm.card.exp_year, nextYear);
    assert.equal(pm.card.funding, 'credit');
    assert.equal(pm.card.country, 'US');
    assert.match(pm.card.fingerprint, /^[0-9a-f]{16}$/);
    assert.deepEqual(pm.card.checks, {
      address_line1_check: null,
      address_postal_code_check: 'unchecked',
      cvc_check: 'unchecked',
    });
    assert.deepEqual(pm.card.networks, { available: ['visa'], preferred: null });
    assert.deepEqual(pm.card.three_d_secure_usage, { supported: true });
    assert.equal(pm.card.wallet, null);
    assert.equal(pm.sepa_debit, undefined);

    const fetched = await t.stripe.paymentMethods.retrieve(pm.id);
    assert.deepEqual(fetched, pm);
  });

  test('the same card has the same fingerprint; brands and funding are detected', async () => {
    const make = (number: string, cvc = '123') =>
      t.stripe.paymentMethods.create({
        type: 'card',
        card: { number, exp_month: 1, exp_year: nextYear, cvc },
      });
    const a = await make('4000056655665556');
    const b = await make('4000-0566-5566-5556');
    assert.equal(a.card?.fingerprint, b.card?.fingerprint);
    assert.equal(a.card?.funding, 'debit');
    const amex = await make('378282246310005', '1234');
    assert.equal(amex.card?.brand, 'amex');
    assert.equal(amex.card?.display_brand, 'american_express');
    const mc2 = await make('2223003122003222');
    assert.equal(mc2.card?.brand, 'mastercard');
    assert.notEqual(mc2.card?.fingerprint, a.card?.fingerprint);
    const twoDigitYear = await t.stripe.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 3, exp_year: nextYear % 100 },
    });
    assert.equal(twoDigitYear.card?.exp_year, nextYear);
    assert.equal(twoDigitYear.card?.checks?.cvc_check, null);
  });

  test('every test payment-method id makes a new card payment method', async () => {
    for (const [id, card] of Object.entries(TEST_CARDS)) {
      const pm = await t.stripe.paymentMethods.retrieve(id);
      assert.match(pm.id, /^pm_[0-9a-z]{24}$/, id);
      assert.notEqual(pm.id, id);
      assert.equal(pm.type, 'card', id);
      assert.equal(pm.card?.brand, card.brand, id);
      assert.equal(pm.card?.last4, card.number.slice(-4), id);
      assert.equal(pm.card?.funding, card.funding, id);
      assert.equal(pm.card?.country, card.country, id);
      assert.equal(pm.card?.wallet?.type ?? null, card.wallet ?? null, id);
      const again = await t.stripe.paymentMethods.retrieve(pm.id);
      assert.equal(again.id, pm.id, 'a materialized id is a normal payment method');
    }
    const visa = await t.stripe.paymentMethods.retrieve('pm_card_visa');
    const visa2 = await t.stripe.paymentMethods.retrieve('pm_card_visa');
    assert.notEqual(visa.id, visa2.id, 'each use makes a new one');
    assert.equal(visa.card?.fingerprint, visa2.card?.fingerprint);
  });

  test('wallets are cards with card.wallet', async () => {
    const pm = await t.stripe.paymentMethods.retrieve('pm_card_visa_apple_pay');
    assert.equal(pm.type, 'card');
    assert.deepEqual(pm.card?.wallet, { apple_pay: {}, dynamic_last4: '4242', type: 'apple_pay' });
  });

  test('sepa_debit and us_bank_account', async () => {
    const sepa = await t.stripe.paymentMethods.create({
      type: 'sepa_debit',
      sepa_debit: { iban: 'DE89 3704 0044 0532 0130 00' },
      billing_details: { name: 'Jenny Rosen', email: 'jenny@example.com' },
    });
    assert.equal(sepa.type, 'sepa_debit');
    assert.equal(sepa.sepa_debit?.country, 'DE');
    assert.equal(sepa.sepa_debit?.bank_code, '37040044');
    assert.equal(sepa.sepa_debit?.last4, '3000');
    assert.match(sepa.sepa_debit?.fingerprint ?? '', /^[0-9a-f]{16}$/);
    assert.equal(sepa.card, undefined);
    assert.ok(!JSON.stringify(sepa).includes('0532013000'));

    const bank = await t.stripe.paymentMethods.create({
      type: 'us_bank_account',
      us_bank_account: {
        account_number: '000123456789',
        routing_number: '110000000',
        account_holder_type: 'company',
      },
      billing_details: { name: 'Acme Inc.' },
    });
    assert.equal(bank.us_bank_account?.last4, '6789');
    assert.equal(bank.us_bank_account?.routing_number, '110000000');
    assert.equal(bank.us_bank_account?.bank_name, 'STRIPE TEST BANK');
    assert.equal(bank.us_bank_account?.account_holder_type, 'company');
    assert.equal(bank.us_bank_account?.account_type, 'checking');
    assert.ok(!JSON.stringify(bank).includes('000123456789'));
  });

  test('publishable key creates a payment method', async () => {
    const pk = t.client(t.publishableKey);
    const pm = await pk.paymentMethods.create({
      type: 'card',
      card: { number: '5555555555554444', exp_month: 6, exp_year: nextYear, cvc: '123' },
    });
    assert.equal(pm.card?.brand, 'mastercard');
  });

  test('update, attach, list, detach, with events', async () => {
    const customer = await t.stripe.customers.create({ email: 'pm@example.com' });
    const pm = await t.stripe.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 1, exp_year: nextYear },
    });
    const updated = await t.stripe.paymentMethods.update(pm.id, {
      billing_details: { email: 'jenny@example.com', address: { country: 'de' } },
      metadata: { a: '1' },
      card: { exp_month: 11, exp_year: nextYear + 1 },
    });
    assert.equal(updated.billing_details.email, 'jenny@example.com');
    assert.equal(updated.billing_details.address?.country, 'DE');
    assert.equal(updated.card?.exp_month, 11);
    assert.equal(updated.card?.exp_year, nextYear + 1);
    assert.deepEqual(updated.metadata, { a: '1' });

    const attached = await t.stripe.paymentMethods.attach(pm.id, { customer: customer.id });
    assert.equal(attached.customer, customer.id);
    const again = await t.stripe.paymentMethods.attach(pm.id, { customer: customer.id });
    assert.equal(again.customer, customer.id, 'attaching to the same customer again is fine');
    const fromTestId = await t.stripe.paymentMethods.attach('pm_card_mastercard', {
      customer: customer.id,
    });
    assert.equal(fromTestId.customer, customer.id);
    assert.equal(fromTestId.card?.brand, 'mastercard');
    const sepa = await t.stripe.paymentMethods.create({
      type: 'sepa_debit',
      sepa_debit: { iban: 'FR1420041010050500013M02606' },
      billing_details: { name: 'Jenny', email: 'jenny@example.com' },
    });
    await t.stripe.paymentMethods.attach(sepa.id, { customer: customer.id });

    const all = await t.stripe.paymentMethods.list({ customer: customer.id });
    assert.deepEqual(
      all.data.map((p) => p.id),
      [sepa.id, fromTestId.id, pm.id],
    );
    const cards = await t.stripe.paymentMethods.list({
      customer: customer.id,
      type: 'card',
      limit: 1,
    });
    assert.deepEqual(
      cards.data.map((p) => p.id),
      [fromTestId.id],
    );
    assert.equal(cards.has_more, true);
    const next = await t.stripe.paymentMethods.list({
      customer: customer.id,
      type: 'card',
      starting_after: fromTestId.id,
    });
    assert.deepEqual(
      next.data.map((p) => p.id),
      [pm.id],
    );
    const viaCustomer = await t.stripe.customers.listPaymentMethods(customer.id, {
      type: 'sepa_debit',
    });
    assert.deepEqual(
      viaCustomer.data.map((p) => p.id),
      [sepa.id],
    );
    const one = await t.stripe.customers.retrievePaymentMethod(customer.id, pm.id);
    assert.equal(one.id, pm.id);

    const detached = await t.stripe.paymentMethods.detach(pm.id);
    assert.equal(detached.customer, null);
    const after = await t.stripe.paymentMethods.list({ customer: customer.id, type: 'card' });
    assert.deepEqual(
      after.data.map((p) => p.id),
      [fromTestId.id],
    );

    const events = await t.stripe.events.list({ limit: 100 });
    const mine = events.data.filter((e) => (e.data.object as { id: string }).id === pm.id);
    assert.deepEqual(mine.map((e) => e.type).reverse(), [
      'payment_method.updated',
      'payment_method.attached',
      'payment_method.detached',
    ]);
    const update = mine.find((e) => e.type === 'payment_method.updated');
    assert.deepEqual(update?.data.previous_attributes?.metadata, {});
    assert.ok(
      !events.data.some((e) => (e.type as string) === 'payment_method.created'),
      'Stripe has no such event',
    );
  });

  test('deleting a customer detaches its payment methods', async () => {
    const customer = await t.stripe.customers.create({});
    const pm = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await t.stripe.customers.del(customer.id);
    const fetched = await t.stripe.paymentMethods.retrieve(pm.id);
    assert.equal(fetched.customer, null);
  });

  test('idempotent create replays the same payment method', async () => {
    const params = {
      type: 'card' as const,
      card: { number: '4242424242424242', exp_month: 2, exp_year: nextYear },
    };
    const first = await t.stripe.paymentMethods.create(params, { idempotencyKey: 'pm-create-1' });
    const second = await t.stripe.paymentMethods.create(params, { idempotencyKey: 'pm-create-1' });
    assert.equal(first.id, second.id);
  });
});
