import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyLedger } from '../src/ledger/verify.ts';
import { feeFor } from '../src/routing/fees.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Randomized sequences of payments, partial captures, cancels, declines,
// refunds (and over-refunds that must fail) through the real API. After every
// step every ledger invariant is re-checked (verify) and the books are compared
// with a model kept here: receivables, fees and the merchant's balances per
// currency. Seeded: PAYRAIL_LEDGER_SEED=<n> replays a failing run.

const FEE = { feeRatePpm: 29_000, feeFixed: 30 };
const TIME_BUDGET_MS = 12_000;
const STEPS_MAX = 400;
const CURRENCIES = ['usd', 'eur'] as const;

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}

interface Model {
  capturedMinor: Record<string, number>;
  feesMinor: Record<string, number>;
  refundedMinor: Record<string, number>;
  /** Captured charges with what is left to refund. */
  charges: { id: string; currency: string; refundableMinor: number }[];
}

const add = (record: Record<string, number>, currency: string, amount: number) => {
  record[currency] = (record[currency] ?? 0) + amount;
};

describe('ledger: randomized payment sequences keep every invariant', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine({ env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0' } });
    const res = await rawRequest(t, 'POST', '/v1/connectors', {
      body: JSON.stringify({ type: 'sandbox', name: 'fees', fees: { percent: '2.9', fixed: 30 } }),
      contentType: 'application/json',
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });
  after(async () => {
    await t.close();
  });

  /** Ledger balances by purpose and currency, read straight from the books. */
  async function books() {
    const rows = await t.engine.database.db
      .selectFrom('ledger_accounts')
      .select(['purpose', 'currency', 'balance'])
      .execute();
    const out: Record<string, number> = {};
    for (const r of rows)
      out[`${r.purpose}:${r.currency}`] =
        (out[`${r.purpose}:${r.currency}`] ?? 0) + Number(r.balance);
    return out;
  }

  async function checkInvariants(model: Model, where: string) {
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, [], where);
    const b = await books();
    for (const c of CURRENCIES) {
      const captured = model.capturedMinor[c] ?? 0;
      const fees = model.feesMinor[c] ?? 0;
      const refunded = model.refundedMinor[c] ?? 0;
      assert.equal(
        b[`processor_receivable:${c}`] ?? 0,
        captured - refunded,
        `${where} receivable ${c}`,
      );
      assert.equal(b[`processing_fees:${c}`] ?? 0, 0 - fees, `${where} fees ${c}`);
      const merchant = (b[`merchant_pending:${c}`] ?? 0) + (b[`merchant_available:${c}`] ?? 0);
      assert.equal(0 - merchant, captured - fees - refunded, `${where} merchant ${c}`);
    }
  }

  async function pay(model: Model, r: ReturnType<typeof prng>, log: string[]) {
    const currency = r.pick(CURRENCIES);
    const amount = r.int(50, 50_000);
    const manual = r.chance(0.4);
    const declined = r.chance(0.1);
    const pm = declined ? 'pm_card_chargeDeclined' : 'pm_card_visa';
    log.push(`pay ${amount} ${currency} ${manual ? 'manual' : 'auto'} ${pm}`);
    let pi: Awaited<ReturnType<typeof t.stripe.paymentIntents.create>>;
    try {
      pi = await t.stripe.paymentIntents.create({
        amount,
        currency,
        payment_method: pm,
        confirm: true,
        capture_method: manual ? 'manual' : 'automatic',
      });
    } catch (error) {
      assert.ok(declined, `only the declined card fails: ${String(error)}`);
      return;
    }
    assert.ok(!declined, 'a declined card does not succeed');
    let captured = amount;
    if (manual) {
      if (r.chance(0.2)) {
        log.push('  cancel');
        await t.stripe.paymentIntents.cancel(pi.id);
        return;
      }
      captured = r.chance(0.5) ? amount : r.int(1, amount);
      log.push(`  capture ${captured}`);
      await t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: captured });
    }
    add(model.capturedMinor, currency, captured);
    add(model.feesMinor, currency, feeFor(FEE, captured));
    model.charges.push({ id: String(pi.latest_charge), currency, refundableMinor: captured });
  }

  async function refund(model: Model, r: ReturnType<typeof prng>, log: string[]) {
    const open = model.charges.filter((c) => c.refundableMinor > 0);
    if (open.length === 0) return;
    const charge = r.pick(open);
    if (r.chance(0.15)) {
      const amount = charge.refundableMinor + r.int(1, 100);
      log.push(`over-refund ${amount} of ${charge.id}`);
      await assert.rejects(
        t.stripe.refunds.create({ charge: charge.id, amount }),
        (error: { code?: string }) => error.code === 'refund_amount_too_large',
      );
      return;
    }
    const full = r.chance(0.3);
    const amount = full ? charge.refundableMinor : r.int(1, charge.refundableMinor);
    log.push(`refund ${full ? 'rest' : amount} of ${charge.id}`);
    const refunded = await t.stripe.refunds.create(
      full ? { charge: charge.id } : { charge: charge.id, amount },
    );
    assert.equal(refunded.status, 'succeeded');
    assert.equal(refunded.amount, amount);
    charge.refundableMinor -= amount;
    add(model.refundedMinor, charge.currency, amount);
  }

  async function balance(model: Model, log: string[]) {
    log.push('balance');
    const b = await t.stripe.balance.retrieve();
    for (const c of CURRENCIES) {
      const expected =
        (model.capturedMinor[c] ?? 0) - (model.feesMinor[c] ?? 0) - (model.refundedMinor[c] ?? 0);
      const available = b.available.find((x) => x.currency === c)?.amount ?? 0;
      const pending = b.pending.find((x) => x.currency === c)?.amount ?? 0;
      // Funds are available after 0 s, and reading the balance releases what is due.
      assert.equal(pending, 0, `pending ${c}`);
      assert.equal(available, expected, `available ${c}`);
    }
  }

  test('payments, partial captures and refunds, verified after every step', async () => {
    const seed = Number(process.env.PAYRAIL_LEDGER_SEED ?? Date.now() % 1_000_000_007);
    const r = prng(seed);
    const model: Model = { capturedMinor: {}, feesMinor: {}, refundedMinor: {}, charges: [] };
    const log: string[] = [];
    const started = Date.now();
    let steps = 0;
    try {
      while (steps < STEPS_MAX && Date.now() - started < TIME_BUDGET_MS) {
        const roll = r.int(1, 10);
        if (roll <= 5) await pay(model, r, log);
        else if (roll <= 9) await refund(model, r, log);
        else await balance(model, log);
        steps += 1;
        await checkInvariants(model, `seed ${seed}, step ${steps}`);
      }
      await balance(model, log);
      await checkInvariants(model, `seed ${seed}, final`);
    } catch (error) {
      const tail = log.slice(-15).join('\n  ');
      throw new Error(`seed ${seed} failed at step ${steps}:\n  ${tail}\n${String(error)}`);
    }
    assert.ok(steps >= 20, `ran ${steps} steps in the time budget`);
    assert.ok(model.charges.length > 0, 'some payments were captured');
  });
});
