import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEngine, type TestEngine } from './helpers/engine.ts';

describe('charges: happy paths', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('a charge per authorization, with details; list by intent and customer', async () => {
    const customer = await t.stripe.customers.create({ email: 'c@example.com' });
    const pi = await t.stripe.paymentIntents.create({
      amount: 900,
      currency: 'usd',
      customer: customer.id,
      receipt_email: 'r@example.com',
    });
    await t.stripe.paymentIntents
      .confirm(pi.id, { payment_method: 'pm_card_chargeDeclined' })
      .catch(() => {});
    await t.stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    const charges = await t.stripe.charges.list({ payment_intent: pi.id });
    assert.deepEqual(
      charges.data.map((c) => c.status),
      ['succeeded', 'failed'],
    );
    const [ok, failed] = charges.data;
    assert.equal(ok?.paid, true);
    assert.equal(ok?.receipt_email, 'r@example.com');
    assert.match(String(ok?.balance_transaction), /^txn_/);
    assert.equal(failed?.balance_transaction, null);
    assert.equal(ok?.payment_method_details?.type, 'card');
    assert.equal(ok?.payment_method_details?.card?.last4, '4242');
    assert.equal(failed?.paid, false);
    assert.equal(failed?.failure_code, 'card_declined');
    assert.equal(failed?.outcome?.type, 'issuer_declined');
    const byCustomer = await t.stripe.charges.list({ customer: customer.id });
    assert.equal(byCustomer.data.length, 2);
  });
});
