import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEngine, type TestEngine } from './helpers/engine.ts';

describe('customers: happy paths', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('create, retrieve, update, list, delete through the stripe SDK', async () => {
    const created = await t.stripe.customers.create({
      email: 'jenny@example.com',
      name: 'Jenny Rosen',
      metadata: { order: '6735' },
      address: { line1: '1 Main St', city: 'Springfield', country: 'us' },
    });
    assert.match(created.id, /^cus_[0-9a-z]{24}$/);
    assert.equal(created.object, 'customer');
    assert.equal(created.email, 'jenny@example.com');
    assert.deepEqual(created.metadata, { order: '6735' });
    assert.equal(created.address?.country, 'US');
    assert.equal(created.livemode, false);

    const fetched = await t.stripe.customers.retrieve(created.id);
    assert.equal((fetched as { email: string }).email, 'jenny@example.com');

    const updated = await t.stripe.customers.update(created.id, {
      name: 'Jenny R.',
      description: '',
      metadata: { order: '', tier: 'gold' },
    });
    assert.equal(updated.name, 'Jenny R.');
    assert.deepEqual(updated.metadata, { tier: 'gold' });

    const other = await t.stripe.customers.create({ email: 'other@example.com' });
    const page = await t.stripe.customers.list({ limit: 1 });
    assert.equal(page.data.length, 1);
    assert.equal(page.data[0]?.id, other.id, 'newest first');
    assert.equal(page.has_more, true);
    const next = await t.stripe.customers.list({ limit: 1, starting_after: other.id });
    assert.equal(next.data[0]?.id, created.id);
    const back = await t.stripe.customers.list({ limit: 1, ending_before: created.id });
    assert.equal(back.data[0]?.id, other.id);
    const byEmail = await t.stripe.customers.list({ email: 'jenny@example.com' });
    assert.deepEqual(
      byEmail.data.map((c) => c.id),
      [created.id],
    );

    const deleted = await t.stripe.customers.del(created.id);
    assert.deepEqual(deleted, { id: created.id, object: 'customer', deleted: true });
    const again = await t.stripe.customers.retrieve(created.id);
    assert.equal((again as { deleted?: boolean }).deleted, true);

    const events = await t.stripe.events.list({ limit: 100 });
    const types = events.data.map((e) => e.type).reverse();
    assert.deepEqual(types, [
      'customer.created',
      'customer.updated',
      'customer.created',
      'customer.deleted',
    ]);
    const update = events.data.find((e) => e.type === 'customer.updated');
    assert.deepEqual(update?.data.previous_attributes?.metadata, { order: '6735' });
  });
});
