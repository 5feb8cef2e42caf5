import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { newId } from '../src/lib/ids.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// A crash between "persist" and "reconcile": the intent is processing, its
// attempt pending and the Idempotency-Key in progress with the intent as its
// recovery resource, exactly what phase one of confirm commits. Recovery must
// ask the connector, finish the payment and answer the key.

const HOUR_MS = 60 * 60 * 1000;

async function crashAfterPhaseOne(t: TestEngine, intentId: string, key: string): Promise<string> {
  const db = t.engine.database.db;
  const intent = await db
    .selectFrom('payment_intents')
    .selectAll()
    .where('id', '=', intentId)
    .executeTakeFirstOrThrow();
  const createdMs = Date.now() - HOUR_MS;
  const attemptId = newId('pa', createdMs);
  await db.transaction().execute(async (tx) => {
    await tx
      .updateTable('payment_intents')
      .set({ status: 'processing', version: intent.version + 1 })
      .where('id', '=', intentId)
      .execute();
    await tx
      .insertInto('payment_attempts')
      .values({
        id: attemptId,
        account_id: intent.account_id,
        livemode: 0,
        payment_intent_id: intentId,
        operation: 'authorize',
        connector: 'sandbox',
        connector_reference: null,
        status: 'pending',
        amount: intent.amount,
        currency: intent.currency,
        error_code: null,
        decline_code: null,
        error_message: null,
        routing_reason: 'test_mode_sandbox',
        latency_ms: null,
        refund_id: null,
        created_ms: createdMs,
        completed_ms: null,
      })
      .execute();
    const path = `/v1/payment_intents/${intentId}/confirm`;
    await tx
      .insertInto('idempotency_keys')
      .values({
        account_id: intent.account_id,
        livemode: 0,
        key,
        request_method: 'POST',
        request_path: path,
        request_hash: t.engine.idempotency.hash('POST', path, {}),
        status: 'in_progress',
        locked_by: 'inst_dead',
        locked_at_ms: Date.now(),
        recovery_resource: intentId,
        response_status: null,
        response_body: null,
        created_ms: Date.now(),
      })
      .execute();
  });
  return attemptId;
}

describe('payment intents: crash recovery', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('a payment interrupted after phase one is finished by recover(), and the key replays the result', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      payment_method: 'pm_card_visa',
    });
    const attemptId = await crashAfterPhaseOne(t, pi.id, 'crash-key-1');
    const busy = await rawRequest(t, 'POST', `/v1/payment_intents/${pi.id}/confirm`, {
      body: '',
      headers: { 'idempotency-key': 'crash-key-1' },
    });
    assert.equal(busy.status, 409, 'the key is held until recovery finishes it');

    await t.engine.recover();

    const intent = await t.stripe.paymentIntents.retrieve(pi.id);
    assert.equal(intent.status, 'succeeded');
    assert.equal(intent.amount_received, 4200);
    const attempt = await t.engine.database.db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('id', '=', attemptId)
      .executeTakeFirstOrThrow();
    assert.equal(attempt.status, 'succeeded');
    const replay = await t.stripe.paymentIntents.confirm(
      pi.id,
      {},
      { idempotencyKey: 'crash-key-1' },
    );
    assert.equal(replay.lastResponse.headers['idempotent-replayed'], 'true');
    assert.equal(replay.status, 'succeeded');
    assert.equal(replay.latest_charge, intent.latest_charge);
    const attempts = await rawRequest(t, 'GET', `/v1/payment_intents/${pi.id}/attempts`);
    assert.equal(attempts.json.data.length, 1, 'no second attempt');
    const events = await t.stripe.events.list({ limit: 10 });
    assert.ok(events.data.some((e) => e.type === 'payment_intent.succeeded'));
  });

  test('a declined payment recovered replays as the same 402', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 100,
      currency: 'usd',
      payment_method: 'pm_card_chargeDeclined',
    });
    await crashAfterPhaseOne(t, pi.id, 'crash-key-2');
    await t.engine.recover();
    assert.equal((await t.stripe.paymentIntents.retrieve(pi.id)).status, 'requires_payment_method');
    try {
      await t.stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey: 'crash-key-2' });
      assert.fail('expected a card error');
    } catch (error) {
      assert.ok(error instanceof Stripe.errors.StripeCardError, String(error));
      assert.equal(error.decline_code, 'generic_decline');
      assert.equal((error.raw as { payment_intent?: { id: string } }).payment_intent?.id, pi.id);
    }
    const pending = await t.engine.database.db
      .selectFrom('payment_attempts')
      .select('id')
      .where('status', 'in', ['pending', 'unknown'])
      .execute();
    assert.deepEqual(pending, []);
  });
});
