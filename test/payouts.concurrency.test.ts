import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from './helpers/engine.ts';
import {
  addBankAccount,
  assertLedgerClean,
  availableMinor,
  type PayoutsEngine,
  pay,
  startPayoutsEngine,
} from './payouts.helpers.ts';

// Twenty payouts at once whose total exceeds the balance: the balance is read
// under a lock in the transaction that posts (PostgreSQL: SELECT ... FOR
// UPDATE; SQLite: one writer), so the accepted ones never add up to more than
// was available and the balance never goes below zero. Runs on both legs.

const PAYOUTS = 20;
const EACH_MINOR = 700;
const BALANCE_MINOR = 10_000;

describe('payouts: concurrent payouts cannot overdraw', () => {
  let e: PayoutsEngine;
  before(async () => {
    e = await startPayoutsEngine();
    await pay(e.t, BALANCE_MINOR);
    const ba = await addBankAccount(e.t);
    assert.equal(ba.status, 200, JSON.stringify(ba.json));
  });
  after(async () => {
    await e.close();
  });

  test(`${PAYOUTS} concurrent payouts of ${EACH_MINOR} against ${BALANCE_MINOR}`, async () => {
    const { t } = e;
    assert.equal(await availableMinor(t), BALANCE_MINOR);
    const results = await Promise.all(
      Array.from({ length: PAYOUTS }, () =>
        rawRequest(t, 'POST', '/v1/payouts', { body: `amount=${EACH_MINOR}&currency=eur` }),
      ),
    );
    const accepted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    for (const r of refused) {
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'balance_insufficient');
    }
    const acceptedMinor = accepted.reduce((s, r) => s + Number(r.json.amount), 0);
    assert.ok(acceptedMinor <= BALANCE_MINOR, `accepted ${acceptedMinor}`);
    // Every payout that fits is accepted: refusals happen only once the balance is short.
    assert.equal(accepted.length, Math.floor(BALANCE_MINOR / EACH_MINOR));
    const left = await availableMinor(t);
    assert.equal(left, BALANCE_MINOR - acceptedMinor);
    assert.ok(left >= 0);
    const rows = await t.engine.database.db
      .selectFrom('payouts')
      .select((eb) => eb.fn.sum<number>('amount').as('total'))
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    assert.equal(Number(rows.total), acceptedMinor);
    await assertLedgerClean(t);
  });
});
