import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLedgerService } from '../src/ledger/service.ts';
import { verifyLedger } from '../src/ledger/verify.ts';
import { systemClock } from '../src/lib/clock.ts';
import { ledgerBooks } from './helpers/books.ts';
import { rawRequest, startEngine, type TestEngine, testDialect } from './helpers/engine.ts';
import { runNode } from './helpers/process.ts';

// Splits (destination charges) and their refunds' transfer reversals to the
// unit, settlement batches (API, postings, races, CLI, background timer) and
// FX bookings in the connector's settlement currency, through the real API.

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function assertClean(t: TestEngine) {
  const report = await verifyLedger(t.engine.database.db);
  assert.deepEqual(report.problems, []);
}

async function txnsBySource(t: TestEngine, source: string) {
  const rows = await t.engine.database.db
    .selectFrom('ledger_transactions')
    .selectAll()
    .where('source', '=', source)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.type, r]));
}

async function addConnector(t: TestEngine, extra: Record<string, unknown> = {}) {
  const res = await rawRequest(t, 'POST', '/v1/connectors', {
    body: JSON.stringify({
      type: 'sandbox',
      name: 'fees',
      fees: { percent: '2.9', fixed: 30 },
      ...extra,
    }),
    contentType: 'application/json',
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return String(res.json.id);
}

describe('ledger: splits and settlement batches', () => {
  let t: TestEngine;
  let connectorId = '';
  let destination = '';
  before(async () => {
    t = await startEngine({
      env: {
        PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0',
        PAYRAIL_SETTLEMENT_INTERVAL_MS: '600000',
      },
    });
    connectorId = await addConnector(t);
    destination = (await t.stripe.accounts.create({ type: 'custom' })).id;
  });
  after(async () => {
    await t.close();
  });

  const splitPay = (amount: number, feeApp: number) =>
    t.stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      application_fee_amount: feeApp,
      transfer_data: { destination },
    });

  test('a destination charge posts charge, transfer and payment; refunds reverse to the unit', async () => {
    const pi = await splitPay(10_000, 1_000);
    const chargeId = String(pi.latest_charge);
    const posted = await txnsBySource(t, chargeId);
    assert.deepEqual(
      [posted.charge?.amount, posted.charge?.fee, posted.charge?.account_id],
      [10_000, 320, t.accountId],
    );
    assert.deepEqual(
      [posted.transfer?.amount, posted.transfer?.account_id, posted.transfer?.reporting_category],
      [-9_000, t.accountId, 'transfer'],
    );
    assert.deepEqual(
      [posted.payment?.amount, posted.payment?.fee, posted.payment?.account_id],
      [9_000, 0, destination],
    );
    // X = round(3333 × 9000 / 10000) = round(2999.7) = 3000.
    const r1 = await t.stripe.refunds.create({ charge: chargeId, amount: 3_333 });
    const first = await txnsBySource(t, r1.id);
    assert.deepEqual(
      [first.refund?.amount, first.transfer_refund?.amount, first.payment_refund?.amount],
      [-3_333, 3_000, -3_000],
    );
    assert.equal(first.payment_refund?.account_id, destination);
    // The refund that completes the charge takes the rest: 9000 - 3000.
    const r2 = await t.stripe.refunds.create({ charge: chargeId });
    const rest = await txnsBySource(t, r2.id);
    assert.deepEqual([rest.refund?.amount, rest.transfer_refund?.amount], [-6_667, 6_000]);
    await assertClean(t);
  });

  test('small refunds round on the running sum, so the reversals add up to the transfer', async () => {
    const pi = await splitPay(3, 2);
    const chargeId = String(pi.latest_charge);
    const reversals: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const refund = await t.stripe.refunds.create({ charge: chargeId, amount: 1 });
      reversals.push(Number((await txnsBySource(t, refund.id)).transfer_refund?.amount));
    }
    // Cumulative round(1 × k / 3) for k = 1, 2, 3: 0, 1, 1.
    assert.deepEqual(reversals, [0, 1, 0]);
    await assertClean(t);
  });

  test('balance transactions list the new types and filter on them', async () => {
    const transfers = await t.stripe.balanceTransactions.list({ type: 'transfer' } as never);
    assert.ok(transfers.data.length >= 2 && transfers.data.every((b) => b.type === 'transfer'));
    const reversals = await rawRequest(t, 'GET', '/v1/balance_transactions?type=transfer_refund');
    assert.equal(reversals.status, 200);
    assert.ok(reversals.json.data.length >= 4);
    const byPayout = await rawRequest(t, 'GET', '/v1/balance_transactions?payout=po_none');
    assert.deepEqual(byPayout.json.data, []);
  });

  test('reading the balance settles due funds in one batch per connector and currency', async () => {
    await t.stripe.paymentIntents.create({
      amount: 5_000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    await t.stripe.balance.retrieve();
    const pending = await t.engine.database.db
      .selectFrom('ledger_transactions')
      .select('id')
      .where('account_id', '=', t.accountId)
      .where('status', '=', 'pending')
      .execute();
    assert.deepEqual(pending, []);
    const list = await rawRequest(t, 'GET', `/v1/settlement_batches?connector=${connectorId}`);
    assert.equal(list.status, 200, JSON.stringify(list.json));
    const currencies = list.json.data.map((b: { currency: string }) => b.currency).sort();
    assert.deepEqual(currencies, ['eur', 'usd']);
    const eur = list.json.data.find((b: { currency: string }) => b.currency === 'eur');
    assert.deepEqual(
      [eur.object, eur.connector, eur.gross, eur.fee, eur.net, eur.count, eur.status],
      ['settlement_batch', connectorId, 5_000, 175, 4_825, 1, 'settled'],
    );
    assert.equal(eur.reference, `PAYRAIL ${eur.id}`);
    const one = await rawRequest(t, 'GET', `/v1/settlement_batches/${eur.id}`);
    assert.equal(one.json.id, eur.id);
    const onlyEur = await rawRequest(t, 'GET', '/v1/settlement_batches?currency=EUR');
    assert.ok(onlyEur.json.data.every((b: { currency: string }) => b.currency === 'eur'));
    // The batch's posting: receivable cleared against cash, nets pending → available.
    const books = await ledgerBooks(t.engine.database.db)
      .select(['purpose', 'balance'])
      .where('account_id', '=', t.accountId)
      .where('currency', '=', 'eur')
      .execute();
    const eurBooks = Object.fromEntries(books.map((b) => [b.purpose, Number(b.balance)]));
    assert.equal(eurBooks.processor_receivable, 0);
    assert.equal(eurBooks.cash, 4_825);
    assert.equal(eurBooks.merchant_available, -4_825);
    await assertClean(t);
  });

  test('the connected account is settled in its own batch', async () => {
    await createLedgerService({
      db: t.engine.database.db,
      clock: systemClock,
      availableAfterSeconds: 0,
    }).settle({ nowSeconds: nowSeconds() });
    const batches = await t.engine.database.db
      .selectFrom('settlement_batches')
      .selectAll()
      .where('account_id', '=', destination)
      .execute();
    assert.ok(batches.length >= 1);
    // Payments carry no processor side: nothing to clear, only nets released.
    assert.ok(batches.every((b) => Number(b.gross) === 0 && b.connector_id === connectorId));
    await assertClean(t);
  });

  test('two settlement runs at once settle each transaction exactly once', async () => {
    for (const amount of [1_000, 2_000, 3_000]) await splitPay(amount, 100);
    const ledger = () =>
      createLedgerService({
        db: t.engine.database.db,
        clock: systemClock,
        availableAfterSeconds: 0,
      });
    const now = nowSeconds();
    const runs = await Promise.all([
      ledger().settle({ nowSeconds: now }),
      ledger().settle({ nowSeconds: now }),
    ]);
    // Three charges, three transfers (platform) and three payments (connected account).
    assert.equal(runs[0].transactions + runs[1].transactions, 9);
    await assertClean(t);
  });

  test('bad filters are 400 naming the parameter; unknown batches are 404', async () => {
    const bad = await rawRequest(t, 'GET', '/v1/settlement_batches?currency=dollars');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'currency');
    const missing = await rawRequest(t, 'GET', '/v1/settlement_batches/stb_nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'resource_missing');
    const other = await rawRequest(t, 'GET', '/v1/settlement_batches', { key: null });
    assert.equal(other.status, 401);
  });

  test('verify names a batch whose posting does not match it', async () => {
    const db = t.engine.database.db;
    const batch = await db.selectFrom('settlement_batches').selectAll().executeTakeFirstOrThrow();
    await db
      .updateTable('settlement_batches')
      .set({ gross: Number(batch.gross) + 1 })
      .where('id', '=', batch.id)
      .execute();
    const report = await verifyLedger(db);
    assert.ok(
      report.problems.some((p) => p.includes(batch.id)),
      report.problems.join('\n'),
    );
    await db
      .updateTable('settlement_batches')
      .set({ gross: batch.gross })
      .where('id', '=', batch.id)
      .execute();
    await assertClean(t);
  });

  test('`payrail ledger settle` (and its alias `release`) settles what is due', async (ctx) => {
    if (testDialect() !== 'sqlite') return ctx.skip('the CLI opens the SQLite data directory');
    await t.stripe.paymentIntents.create({
      amount: 700,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const run = (sub: string) =>
      runNode(['--import', 'tsx', 'src/cli/main.ts', 'ledger', sub], {
        env: {
          ...process.env,
          PAYRAIL_DATA_DIR: t.dataDir,
          PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0',
        },
      });
    const settled = await run('settle');
    assert.equal(settled.status, 0, settled.stderr);
    assert.match(settled.stdout, /1 batch\(es\), 1 balance transaction/);
    const again = await run('release');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /0 batch\(es\)/);
    await assertClean(t);
  });
});

describe('ledger: the background settlement timer', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine({
      env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0', PAYRAIL_SETTLEMENT_INTERVAL_MS: '100' },
    });
  });
  after(async () => {
    await t.close();
  });

  test('due funds become available without anyone reading the balance', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1_500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const deadline = Date.now() + 10_000;
    let status = 'pending';
    while (status !== 'available' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const row = await t.engine.database.db
        .selectFrom('ledger_transactions')
        .select('status')
        .where('source', '=', String(pi.latest_charge))
        .executeTakeFirstOrThrow();
      status = row.status;
    }
    assert.equal(status, 'available');
    await assertClean(t);
  });
});

describe('ledger: FX bookings in the settlement currency', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine({ env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '3600' } });
    await addConnector(t, { settlement_currency: 'eur' });
    const rate = await rawRequest(t, 'POST', '/v1/fx_rates', {
      body: JSON.stringify({
        base_currency: 'usd',
        quote_currency: 'eur',
        rate: '0.9137',
        effective_from: 0,
      }),
      contentType: 'application/json',
    });
    assert.equal(rate.status, 200, JSON.stringify(rate.json));
  });
  after(async () => {
    await t.close();
  });

  test('a usd charge books in eur with its rate; refunds clear the receivable exactly', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 10_001,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const chargeId = String(pi.latest_charge);
    const charge = (await txnsBySource(t, chargeId)).charge;
    assert.ok(charge);
    // 10001 × 0.9137 = 9137.9137 → 9138; the fee is on the settled amount.
    assert.deepEqual(
      [charge.currency, charge.amount, charge.fee, charge.source_amount, charge.source_currency],
      ['eur', 9_138, 295, 10_001, 'usd'],
    );
    const api = await t.stripe.balanceTransactions.retrieve(charge.id);
    assert.equal(api.exchange_rate, 0.9137);
    const r1 = await t.stripe.refunds.create({ charge: chargeId, amount: 3_333 });
    const r2 = await t.stripe.refunds.create({ charge: chargeId });
    const refunds = [(await txnsBySource(t, r1.id)).refund, (await txnsBySource(t, r2.id)).refund];
    // 3333 × 0.9137 = 3045.36 → 3045; the last takes the rest: 9138 - 3045.
    assert.deepEqual(
      refunds.map((r) => [r?.currency, r?.amount, r?.exchange_rate]),
      [
        ['eur', -3_045, '0.9137'],
        ['eur', -6_093, '0.9137'],
      ],
    );
    const receivable = await ledgerBooks(t.engine.database.db)
      .select('balance')
      .where('purpose', '=', 'processor_receivable')
      .where('currency', '=', 'eur')
      .executeTakeFirstOrThrow();
    assert.equal(Number(receivable.balance), 0);
    await assertClean(t);
  });
});
