import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type Stripe from 'stripe';
import { startEngine, type TestEngine } from './helpers/engine.ts';

// Splits (destination charges) and balance_transaction links through the
// official SDK: application_fee_amount and transfer_data[destination] are
// stored on the intent and its charge and serialized like Stripe's; the
// charge and its refunds link the balance transactions of their postings,
// which expand[] returns in full.

describe('splits and balance_transaction links', () => {
  let t: TestEngine;
  let acct = '';
  before(async () => {
    // Default PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: funds stay pending.
    t = await startEngine();
    acct = (await t.stripe.accounts.create({ type: 'custom', business_profile: { name: 'Shop' } }))
      .id;
  });
  after(async () => {
    await t.close();
  });

  const split = (amount: number, fee: number, extra: Partial<Stripe.PaymentIntentCreateParams>) =>
    t.stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      application_fee_amount: fee,
      transfer_data: { destination: acct },
      ...extra,
    });

  test('a destination charge stores and serializes the split and links its posting', async () => {
    const pi = await split(10_000, 1_230, { confirm: true });
    assert.equal(pi.status, 'succeeded');
    assert.equal(pi.application_fee_amount, 1_230);
    assert.deepEqual(pi.transfer_data, { amount: null, destination: acct });

    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(charge.application_fee_amount, 1_230);
    assert.deepEqual(charge.transfer_data, { amount: null, destination: acct });
    // `destination` (deprecated on Stripe, gone from the SDK's types) names the account too.
    assert.equal((charge as unknown as { destination: string }).destination, acct);
    assert.equal(typeof charge.balance_transaction, 'string');
    assert.match(String(charge.balance_transaction), /^txn_/);

    const bt = await t.stripe.balanceTransactions.retrieve(String(charge.balance_transaction));
    assert.equal(bt.source, charge.id);
    assert.equal(bt.type, 'charge');
    assert.equal(bt.amount, 10_000);

    const expanded = await t.stripe.charges.retrieve(charge.id, {
      expand: ['balance_transaction'],
    });
    const ebt = expanded.balance_transaction as Stripe.BalanceTransaction;
    assert.equal(ebt.object, 'balance_transaction');
    assert.equal(ebt.id, bt.id);
    assert.equal(ebt.amount, 10_000);

    const viaIntent = await t.stripe.paymentIntents.retrieve(pi.id, {
      expand: ['latest_charge.balance_transaction'],
    });
    const latest = viaIntent.latest_charge as Stripe.Charge;
    assert.equal(latest.id, charge.id);
    assert.equal((latest.balance_transaction as Stripe.BalanceTransaction).id, bt.id);

    // The rows themselves, so the ledger (which reads the charge row) sees the split.
    const row = await t.engine.database.db
      .selectFrom('charges')
      .selectAll()
      .where('id', '=', charge.id)
      .executeTakeFirstOrThrow();
    assert.equal(Number(row.application_fee_amount), 1_230);
    assert.equal(row.transfer_destination, acct);
    assert.equal(row.balance_transaction, bt.id);
  });

  test('a refund links the balance transaction of its posting', async () => {
    const pi = await split(5_000, 500, { confirm: true });
    const refund = await t.stripe.refunds.create({ payment_intent: pi.id, amount: 2_000 });
    assert.equal(refund.status, 'succeeded');
    assert.match(String(refund.balance_transaction), /^txn_/);
    const bt = await t.stripe.balanceTransactions.retrieve(String(refund.balance_transaction));
    assert.equal(bt.source, refund.id);
    assert.equal(bt.type, 'refund');
    assert.equal(bt.amount, -2_000);
    const fetched = await t.stripe.refunds.retrieve(refund.id, {
      expand: ['balance_transaction'],
    });
    assert.equal((fetched.balance_transaction as Stripe.BalanceTransaction).id, bt.id);
    const plain = await t.stripe.refunds.retrieve(refund.id);
    assert.equal(plain.balance_transaction, bt.id);
  });

  test('manual capture: no balance transaction before; capture sets the fee', async () => {
    const pi = await split(8_000, 800, { confirm: true, capture_method: 'manual' });
    assert.equal(pi.status, 'requires_capture');
    const held = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(held.balance_transaction, null);
    assert.equal(held.application_fee_amount, 800);

    const captured = await t.stripe.paymentIntents.capture(pi.id, {
      amount_to_capture: 6_000,
      application_fee_amount: 600,
    });
    assert.equal(captured.status, 'succeeded');
    assert.equal(captured.application_fee_amount, 600);
    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge), {
      expand: ['balance_transaction'],
    });
    assert.equal(charge.application_fee_amount, 600);
    assert.equal(charge.amount_captured, 6_000);
    const bt = charge.balance_transaction as Stripe.BalanceTransaction;
    assert.equal(bt.amount, 6_000);
    assert.equal(bt.source, charge.id);
  });

  test('update: the fee can be set, changed and unset before confirmation', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 3_000,
      currency: 'usd',
      transfer_data: { destination: acct },
    });
    assert.equal(pi.application_fee_amount, null);
    assert.deepEqual(pi.transfer_data, { amount: null, destination: acct });
    const set = await t.stripe.paymentIntents.update(pi.id, { application_fee_amount: 300 });
    assert.equal(set.application_fee_amount, 300);
    const unset = await t.stripe.paymentIntents.update(pi.id, {
      application_fee_amount: '' as unknown as number,
    });
    assert.equal(unset.application_fee_amount, null);
    const plain = await t.stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    assert.equal(plain.transfer_data, null);
    assert.equal(plain.application_fee_amount, null);
  });

  test('the destination sees A − AF pending in its balance (Stripe-Account)', async () => {
    const other = (await t.stripe.accounts.create({ type: 'custom' })).id;
    const pi = await t.stripe.paymentIntents.create({
      amount: 20_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      application_fee_amount: 2_500,
      transfer_data: { destination: other },
    });
    assert.equal(pi.status, 'succeeded');
    const balance = await t.stripe.balance.retrieve({}, { stripeAccount: other });
    const pending = balance.pending.find((b) => b.currency === 'usd');
    assert.equal(pending?.amount, 20_000 - 2_500);
  });
});
