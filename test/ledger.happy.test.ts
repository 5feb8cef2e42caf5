import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyLedger } from '../src/ledger/verify.ts';
import { feeFor } from '../src/routing/fees.ts';
import { ledgerBooks } from './helpers/books.ts';
import { rawRequest, startEngine, type TestEngine, testDialect } from './helpers/engine.ts';
import { runNode } from './helpers/process.ts';

// The ledger through the API: captures, partial captures and refunds post
// balanced entries with the connector's fees; Stripe's balance API (through
// the official SDK) shows them; pending funds become available on schedule;
// verify passes on clean books and names what is wrong on corrupted ones.

const FEE = { feeRatePpm: 29_000, feeFixed: 30 };

describe('ledger: postings, balance API, verify', () => {
  let t: TestEngine;
  let connectorId = '';
  before(async () => {
    // Funds become available immediately, so one GET /v1/balance releases them.
    t = await startEngine({ env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0' } });
    const res = await rawRequest(t, 'POST', '/v1/connectors', {
      body: JSON.stringify({ type: 'sandbox', name: 'fees', fees: { percent: '2.9', fixed: 30 } }),
      contentType: 'application/json',
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    connectorId = res.json.id;
  });
  after(async () => {
    await t.close();
  });

  const pay = (amount: number, capture_method: 'automatic' | 'manual' = 'automatic') =>
    t.stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      capture_method,
    });

  const assertClean = async () => {
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
  };

  test('a capture posts a charge balance transaction with the connector fee', async () => {
    const pi = await pay(10_000);
    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(charge.status, 'succeeded');
    const list = await t.stripe.balanceTransactions.list({ source: charge.id } as never);
    assert.equal(list.data.length, 1);
    const bt = list.data[0];
    assert.ok(bt);
    const fee = feeFor(FEE, 10_000);
    assert.equal(fee, 320);
    assert.equal(bt.object, 'balance_transaction');
    assert.match(bt.id, /^txn_/);
    assert.equal(bt.type, 'charge');
    assert.equal(bt.reporting_category, 'charge');
    assert.equal(bt.amount, 10_000);
    assert.equal(bt.fee, fee);
    assert.equal(bt.net, 10_000 - fee);
    assert.equal(bt.source, charge.id);
    assert.deepEqual(
      bt.fee_details.map((d) => [d.type, d.amount, d.currency]),
      [['processor_fee', fee, 'usd']],
    );
    const again = await t.stripe.balanceTransactions.retrieve(bt.id);
    assert.equal(again.id, bt.id);
    // The fee came from the connector that took the payment.
    const row = await t.engine.database.db
      .selectFrom('charges')
      .select('connector')
      .where('id', '=', charge.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.connector, connectorId);
    await assertClean();
  });

  test('an uncaptured authorization posts nothing; a partial capture posts the captured amount', async () => {
    const pi = await pay(5_000, 'manual');
    const source = String(pi.latest_charge);
    const before = await t.stripe.balanceTransactions.list({ source } as never);
    assert.equal(before.data.length, 0);
    await t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 3_000 });
    const afterList = await t.stripe.balanceTransactions.list({ source } as never);
    assert.deepEqual(
      afterList.data.map((b) => [b.amount, b.fee]),
      [[3_000, feeFor(FEE, 3_000)]],
    );
    const canceled = await pay(700, 'manual');
    await t.stripe.paymentIntents.cancel(canceled.id);
    const none = await t.stripe.balanceTransactions.list({
      source: String(canceled.latest_charge),
    } as never);
    assert.equal(none.data.length, 0);
    await assertClean();
  });

  test('a refund posts -amount with no fee returned; the balance is the sum of nets', async () => {
    const pi = await pay(2_000);
    const refund = await t.stripe.refunds.create({ payment_intent: pi.id, amount: 500 });
    const list = await t.stripe.balanceTransactions.list({ type: 'refund' } as never);
    const bt = list.data.find((b) => b.source === refund.id);
    assert.ok(bt);
    assert.deepEqual([bt.amount, bt.fee, bt.net, bt.reporting_category], [-500, 0, -500, 'refund']);

    const all = await t.stripe.balanceTransactions.list({ limit: 100 });
    const sumNet = all.data.reduce((s, b) => s + b.net, 0);
    const balance = await t.stripe.balance.retrieve();
    assert.equal(balance.object, 'balance');
    assert.equal(balance.livemode, false);
    const usd = balance.available.find((a) => a.currency === 'usd');
    assert.equal(usd?.amount, sumNet);
    assert.equal(usd?.source_types?.card, sumNet);
    assert.equal(balance.pending.find((a) => a.currency === 'usd')?.amount, 0);
    const statuses = await t.stripe.balanceTransactions.list({ limit: 100 });
    assert.ok(statuses.data.every((b) => b.status === 'available'));
    await assertClean();
  });

  test('list filters and pagination follow Stripe', async () => {
    const page1 = await t.stripe.balanceTransactions.list({ limit: 2 });
    assert.equal(page1.data.length, 2);
    assert.equal(page1.has_more, true);
    const page2 = await t.stripe.balanceTransactions.list({
      limit: 2,
      starting_after: page1.data[1]?.id,
    });
    assert.ok(page2.data.every((b) => !page1.data.some((a) => a.id === b.id)));
    const charges = await t.stripe.balanceTransactions.list({
      type: 'charge',
      limit: 100,
    } as never);
    assert.ok(charges.data.length >= 3 && charges.data.every((b) => b.type === 'charge'));
    const eur = await t.stripe.balanceTransactions.list({ currency: 'eur' } as never);
    assert.equal(eur.data.length, 0);
    // Internal transfers (pending → available) are not balance transactions.
    const seen = await t.stripe.balanceTransactions.list({ limit: 100 });
    assert.ok(seen.data.every((b) => b.type === 'charge' || b.type === 'refund'));
  });

  test('bad input is a 4xx naming the parameter; unknown ids are 404', async () => {
    const bad = await rawRequest(t, 'GET', '/v1/balance_transactions?type=payout_weird');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'type');
    const cur = await rawRequest(t, 'GET', '/v1/balance_transactions?currency=dollars');
    assert.equal(cur.status, 400);
    assert.equal(cur.json.error.param, 'currency');
    const missing = await rawRequest(t, 'GET', '/v1/balance_transactions/txn_nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'resource_missing');
    const noKey = await rawRequest(t, 'GET', '/v1/balance', { key: null });
    assert.equal(noKey.status, 401);
  });

  test('ledger entries cannot be updated or deleted (database trigger)', async () => {
    const db = t.engine.database.db;
    const entry = await db.selectFrom('ledger_entries').select('id').executeTakeFirstOrThrow();
    await assert.rejects(
      db.updateTable('ledger_entries').set({ amount: 1 }).where('id', '=', entry.id).execute(),
      /immutable/,
    );
    await assert.rejects(
      db.deleteFrom('ledger_entries').where('id', '=', entry.id).execute(),
      /immutable/,
    );
  });

  test('the ledger module never issues an UPDATE or DELETE on entries', async () => {
    const fs = await import('node:fs');
    const dir = path.resolve('src/ledger');
    for (const file of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      assert.doesNotMatch(text, /(updateTable|deleteFrom)\('ledger_entries'\)/, file);
    }
  });

  test('verify names a corrupted balance, an unposted capture and an orphan posting', async () => {
    const db = t.engine.database.db;
    await assertClean();
    const account = await ledgerBooks(db)
      .select(['id', 'balance'])
      .where('purpose', '=', 'processing_fees')
      .executeTakeFirstOrThrow();
    // A stray balance slot of -1: the stored balance no longer sums to the entries.
    await db
      .insertInto('ledger_balances')
      .values({ ledger_account_id: account.id, slot: 999, balance: -1 })
      .execute();
    const pi = await pay(1_234);
    const chargeId = String(pi.latest_charge);
    await db
      .updateTable('charges')
      .set({ amount_captured: 1_000 })
      .where('id', '=', chargeId)
      .execute();
    const report = await verifyLedger(db);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.includes(account.id) && p.includes('stored balance')));
    assert.ok(report.problems.some((p) => p.includes(chargeId) && p.includes('captured 1000')));

    // The CLI reports the same and exits 1 (SQLite leg: the data directory is the engine's).
    if (testDialect() === 'sqlite') {
      const cli = await runNode(['--import', 'tsx', 'src/cli/main.ts', 'ledger', 'verify'], {
        env: { ...process.env, PAYRAIL_DATA_DIR: t.dataDir },
      });
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(cli.stderr, /problem/);
      assert.match(cli.stderr, new RegExp(account.id));
    }

    // Put things back (never entries: balances and charges only) and verify is clean again.
    await db
      .deleteFrom('ledger_balances')
      .where('ledger_account_id', '=', account.id)
      .where('slot', '=', 999)
      .execute();
    await db
      .updateTable('charges')
      .set({ amount_captured: 1_234 })
      .where('id', '=', chargeId)
      .execute();
    await assertClean();

    // An orphan posting: a transaction whose source does not exist.
    await db
      .updateTable('ledger_transactions')
      .set({ source: 'ch_doesnotexist' })
      .where('source', '=', chargeId)
      .execute();
    const orphan = await verifyLedger(db);
    assert.ok(
      orphan.problems.some((p) => p.includes('ch_doesnotexist') && p.includes('no such charge')),
    );
    assert.ok(orphan.problems.some((p) => p.includes(chargeId) && p.includes('no posting')));
    await db
      .updateTable('ledger_transactions')
      .set({ source: chargeId })
      .where('source', '=', 'ch_doesnotexist')
      .execute();
    await assertClean();
  });
});

describe('ledger: pending until the configured delay', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine({ env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '3600' } });
  });
  after(async () => {
    await t.close();
  });

  test('funds stay pending, then a release after available_on makes them available', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 4_200,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const balance = await t.stripe.balance.retrieve();
    assert.equal(balance.pending.find((b) => b.currency === 'eur')?.amount, 4_200);
    assert.equal(balance.available.find((b) => b.currency === 'eur')?.amount, 0);
    const [bt] = (await t.stripe.balanceTransactions.list({ limit: 1 })).data;
    assert.ok(bt);
    assert.equal(bt.status, 'pending');
    assert.equal(bt.source, pi.latest_charge);
    // End-of-day settlement (the default cutoff is 00:00 UTC): available at
    // the first midnight after the delay.
    assert.ok(bt.available_on >= bt.created + 3600);
    assert.ok(bt.available_on < bt.created + 3600 + 86_400);
    assert.equal(bt.available_on % 86_400, 0);

    const ledger = t.engine.database.db;
    const service = (await import('../src/ledger/service.ts')).createLedgerService({
      db: ledger,
      clock: { nowMs: () => (bt.available_on - 1) * 1000 },
      availableAfterSeconds: 3600,
    });
    assert.equal(await service.releaseAvailable({ nowSeconds: bt.available_on - 1 }), 0);
    assert.equal(await service.releaseAvailable({ nowSeconds: bt.available_on }), 1);
    assert.equal(await service.releaseAvailable({ nowSeconds: bt.available_on }), 0);
    const after = await t.stripe.balance.retrieve();
    assert.equal(after.pending.find((b) => b.currency === 'eur')?.amount, 0);
    assert.equal(after.available.find((b) => b.currency === 'eur')?.amount, 4_200);
    assert.equal((await t.stripe.balanceTransactions.retrieve(bt.id)).status, 'available');
    const report = await verifyLedger(ledger);
    assert.deepEqual(report.problems, []);
  });
});
