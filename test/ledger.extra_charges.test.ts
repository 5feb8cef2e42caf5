import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { postExtraCapture } from '../src/ledger/extra-charges.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import type { PspSim } from '../src/psp-sim/server.ts';
import { startEngine, type TestEngine } from './helpers/engine.ts';
import { api, createSimConnector, setSimMode, startSim } from './helpers/psp-sim.ts';

// The books of extra charges that recovery finds and reverses: a processor
// (psp-sim A) charges but its answer is lost, the payment fails over to B,
// and recovery later finds A's charge. A capture A kept is booked as money
// the processor holds (extra_capture) until its refund succeeds
// (extra_capture_reversal); an authorization only is voided and posts
// nothing. `ledger verify` checks the pairs and lists the open ones.

const AMOUNT = 2500;

const setMode = (sim: PspSim, mode: string) => setSimMode(sim, { mode });

async function attemptsOf(t: TestEngine, intentId: string) {
  return t.engine.database.db
    .selectFrom('payment_attempts')
    .selectAll()
    .where('payment_intent_id', '=', intentId)
    .orderBy('id')
    .execute();
}

async function extraPostings(t: TestEngine, sources: string[]) {
  return t.engine.database.db
    .selectFrom('ledger_transactions')
    .selectAll()
    .where('source', 'in', sources)
    .where('type', 'in', ['extra_capture', 'extra_capture_reversal'])
    .orderBy('id')
    .execute();
}

/** The sum of the entries of every book account of `purpose` (and connector), in eur. */
async function moved(t: TestEngine, purpose: string, connectorId?: string): Promise<number> {
  let query = t.engine.database.db
    .selectFrom('ledger_entries as e')
    .innerJoin('ledger_accounts as a', 'a.id', 'e.ledger_account_id')
    .select((eb) => eb.fn.sum<number>('e.amount').as('total'))
    .where('a.purpose', '=', purpose)
    .where('a.currency', '=', 'eur');
  if (connectorId) query = query.where('a.connector_id', '=', connectorId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.total ?? 0);
}

describe('ledger: extra charges found and reversed by recovery', () => {
  let t: TestEngine;
  const sims: Array<{ sim: PspSim; dir: string }> = [];
  let a: PspSim;
  let connA: string;
  let connB: string;

  before(async () => {
    sims.push(await startSim('sim-a'), await startSim('sim-b'));
    a = sims[0]!.sim;
    t = await startEngine({
      env: { PAYRAIL_BREAKER_HALF_OPEN_MS: '60000', PAYRAIL_PROBE_INTERVAL_MS: '3600000' },
    });
    connA = await createSimConnector(t, 'sim-a', a);
    connB = await createSimConnector(t, 'sim-b', sims[1]!.sim);
    const routing = await api(t, 'POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [connA, connB] }],
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });

  after(async () => {
    await t?.close();
    for (const { sim, dir } of sims) {
      await sim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A payment whose first try (on A) charged without an answer and which B then took. */
  async function payWithLostAnswer(captureMethod: 'automatic' | 'manual') {
    await setMode(a, 'timeout_after_charge');
    try {
      const paid = await api(t, 'POST', '/v1/payment_intents', {
        amount: AMOUNT,
        currency: 'eur',
        payment_method: 'pm_card_visa',
        capture_method: captureMethod,
        confirm: true,
      });
      assert.equal(paid.status, 200, JSON.stringify(paid.json));
      const want = captureMethod === 'manual' ? 'requires_capture' : 'succeeded';
      assert.equal(paid.json.status, want);
      const tries = await attemptsOf(t, paid.json.id);
      assert.deepEqual(
        tries.map((x) => x.status),
        ['unknown', 'succeeded'],
      );
      return { intentId: paid.json.id as string, extraId: tries[0]!.id };
    } catch (error) {
      await setMode(a, 'up');
      throw error;
    }
  }

  test('a captured extra is booked when found, stays open while its refund is unanswered, nets to zero once refunded', async () => {
    const { intentId, extraId } = await payWithLostAnswer('automatic');
    const receivableBefore = await moved(t, 'processor_receivable', connA);

    // A answers lookups but not the refund: the extra is found, its reversal stays unknown.
    await t.engine.background.recoverPayments();
    const reverse = (await attemptsOf(t, intentId)).find((x) => x.operation === 'reverse');
    assert.equal(reverse?.status, 'unknown');
    assert.equal(reverse?.reverses_attempt_id, extraId);
    const found = await extraPostings(t, [extraId, reverse.id]);
    assert.deepEqual(
      found.map((x) => [x.type, x.source, x.amount, x.currency, x.connector_id, x.status]),
      [['extra_capture', extraId, AMOUNT, 'eur', connA, 'available']],
    );
    assert.equal(await moved(t, 'processor_receivable', connA), receivableBefore + AMOUNT);
    assert.equal(await moved(t, 'extra_charges'), -AMOUNT);
    // Not a balance transaction: the merchant never had this money.
    const listed = await api(t, 'GET', '/v1/balance_transactions?limit=100');
    assert.equal(listed.status, 200);
    assert.ok(listed.json.data.every((b: { id: string }) => b.id !== found[0]!.id));
    const pending = await verifyLedger(t.engine.database.db);
    assert.deepEqual(pending.problems, []);
    assert.equal(pending.openCount, 1);
    assert.match(pending.open[0] ?? '', new RegExp(`${extraId}.*${AMOUNT} eur.*unknown`));

    // A is back: the reversal is retried (same reference), succeeds and is booked.
    await setMode(a, 'up');
    await t.engine.background.recoverPayments();
    const done = (await attemptsOf(t, intentId)).find((x) => x.operation === 'reverse');
    assert.equal(done?.status, 'succeeded');
    const pair = await extraPostings(t, [extraId, reverse.id]);
    assert.deepEqual(
      pair.map((x) => [x.type, x.source, x.amount]),
      [
        ['extra_capture', extraId, AMOUNT],
        ['extra_capture_reversal', reverse.id, -AMOUNT],
      ],
    );
    assert.equal(await moved(t, 'processor_receivable', connA), receivableBefore);
    assert.equal(await moved(t, 'extra_charges'), 0);
    const clean = await verifyLedger(t.engine.database.db);
    assert.deepEqual(clean.problems, []);
    assert.equal(clean.openCount, 0);

    // Recovery again changes nothing: nothing is posted twice.
    await t.engine.background.recoverPayments();
    assert.equal((await extraPostings(t, [extraId, reverse.id])).length, 2);
  });

  test('an authorization-only extra is voided and posts nothing', async () => {
    const { intentId, extraId } = await payWithLostAnswer('manual');
    await setMode(a, 'up');
    await t.engine.background.recoverPayments();
    const reverse = (await attemptsOf(t, intentId)).find((x) => x.operation === 'reverse');
    assert.equal(reverse?.status, 'succeeded');
    assert.deepEqual(await extraPostings(t, [extraId, reverse.id]), []);
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, []);
    assert.equal(report.openCount, 0);
  });

  test('the extra is judged by what its own attempt did, not by a capture_method changed since', async () => {
    // A second connector account on simulator A: its breaker has not seen the
    // earlier tests' lost answers.
    const connA2 = await createSimConnector(t, 'sim-a2', a);
    const routed = await api(t, 'POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [connA2, connB] }],
    });
    assert.equal(routed.status, 200, JSON.stringify(routed.json));
    const { intentId, extraId } = await payWithLostAnswer('automatic');
    const extra = (await attemptsOf(t, intentId)).find((x) => x.id === extraId);
    assert.equal(extra?.connector, connA2);
    assert.equal(extra?.captures, 1);
    // Before recovery looks at A, the intent's capture_method becomes manual
    // (a failed payment updated and confirmed again can do that).
    await t.engine.database.db
      .updateTable('payment_intents')
      .set({ capture_method: 'manual' })
      .where('id', '=', intentId)
      .execute();
    await setMode(a, 'up');
    await t.engine.background.recoverPayments();
    const reverse = (await attemptsOf(t, intentId)).find((x) => x.operation === 'reverse');
    assert.equal(reverse?.status, 'succeeded', JSON.stringify(reverse));
    // At A (its own list, not the engine's word): the extra charge was refunded, not voided.
    const listed = (await (await fetch(`${a.controlUrl}/_sim/charges`)).json()) as {
      charges: Array<{ reference: string; amount_refunded: number; voided?: boolean }>;
    };
    const atA = listed.charges.find((c) => c.reference === extraId);
    assert.equal(atA?.amount_refunded, AMOUNT);
    assert.notEqual(atA?.voided, true);
    // Both postings are there: the pair nets to zero.
    const pair = await extraPostings(t, [extraId, reverse.id]);
    assert.deepEqual(
      pair.map((x) => [x.type, x.amount]),
      [
        ['extra_capture', AMOUNT],
        ['extra_capture_reversal', -AMOUNT],
      ],
    );
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, []);
    assert.equal(report.openCount, 0);
  });

  test('verify reports an extra capture posting that no reversal explains', async () => {
    const [extra] = await t.engine.database.db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('connector', '=', connA)
      .where('operation', '=', 'authorize')
      .where('status', '=', 'succeeded')
      .limit(1)
      .execute();
    assert.ok(extra);
    const orphan = { ...extra, id: `${extra.id.slice(0, -4)}zzzz` };
    await t.engine.database.db
      .transaction()
      .execute((tx) =>
        postExtraCapture(tx, { extra: orphan, reverseAttemptId: 'pa_none', nowMs: Date.now() }),
      );
    const report = await verifyLedger(t.engine.database.db);
    assert.equal(report.ok, false);
    assert.ok(
      report.problems.some((p) => p.includes(orphan.id) && p.includes('no reversed extra charge')),
      report.problems.join('\n'),
    );
  });
});
