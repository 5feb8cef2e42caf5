import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

describe('customers: errors', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  const invalidRequest =
    (expected: { statusCode: number; code: string; param?: string }) => (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError, String(e));
      assert.equal(e.statusCode, expected.statusCode);
      assert.equal(e.code, expected.code);
      if (expected.param) assert.equal(e.param, expected.param);
      return true;
    };

  test('a missing customer is a 404 naming id, on retrieve, update and delete', async () => {
    const id = 'cus_doesnotexist000000000000';
    const expected = { statusCode: 404, code: 'resource_missing', param: 'id' };
    await assert.rejects(t.stripe.customers.retrieve(id), invalidRequest(expected));
    await assert.rejects(t.stripe.customers.update(id, { name: 'x' }), invalidRequest(expected));
    await assert.rejects(t.stripe.customers.del(id), invalidRequest(expected));
    await assert.rejects(t.stripe.customers.retrieve(id), (e: unknown) => {
      assert.match((e as Error).message, /No such customer: 'cus_doesnotexist000000000000'/);
      return true;
    });
  });

  test('an invalid email is a 400 email_invalid naming email, and creates nothing', async () => {
    const before = await tableCounts(t);
    for (const email of ['not-an-email', 'a@b', 'two words@example.com', '@example.com']) {
      await assert.rejects(
        t.stripe.customers.create({ email }),
        invalidRequest({ statusCode: 400, code: 'email_invalid', param: 'email' }),
      );
    }
    const customer = await t.stripe.customers.create({ email: 'ok@example.com' });
    await assert.rejects(
      t.stripe.customers.update(customer.id, { email: 'nope' }),
      invalidRequest({ statusCode: 400, code: 'email_invalid', param: 'email' }),
    );
    const after = await tableCounts(t);
    assert.equal(after.customers, (before.customers ?? 0) + 1);
    assert.equal(
      ((await t.stripe.customers.retrieve(customer.id)) as Stripe.Customer).email,
      'ok@example.com',
    );
  });

  test('deleting twice is an error the second time', async () => {
    const customer = await t.stripe.customers.create({ name: 'Twice' });
    const first = await t.stripe.customers.del(customer.id);
    assert.equal(first.deleted, true);
    const before = await tableCounts(t);
    await assert.rejects(t.stripe.customers.del(customer.id), (e: unknown) => {
      assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
      assert.ok(e.statusCode === 400 || e.statusCode === 404, String(e.statusCode));
      return true;
    });
    assert.deepEqual(await tableCounts(t), before, 'no second customer.deleted event');
  });

  test('updating a deleted customer is an error and changes nothing', async () => {
    const customer = await t.stripe.customers.create({ name: 'Gone' });
    await t.stripe.customers.del(customer.id);
    const before = await tableCounts(t);
    await assert.rejects(
      t.stripe.customers.update(customer.id, { name: 'Back' }),
      invalidRequest({ statusCode: 400, code: 'customer_deleted', param: 'id' }),
    );
    assert.deepEqual(await tableCounts(t), before);
    const row = await t.engine.database.db
      .selectFrom('customers')
      .select(['name', 'deleted'])
      .where('id', '=', customer.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { name: 'Gone', deleted: 1 });
  });

  test('a deleted customer is not listed', async () => {
    const customer = await t.stripe.customers.create({ email: 'listed@example.com' });
    await t.stripe.customers.del(customer.id);
    const page = await t.stripe.customers.list({ email: 'listed@example.com' });
    assert.deepEqual(page.data, []);
  });
});
