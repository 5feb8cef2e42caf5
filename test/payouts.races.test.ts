import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { composeIBAN } from 'ibantools';
import { rawRequest } from './helpers/engine.ts';
import {
  addBankAccount,
  assertLedgerClean,
  type PayoutsEngine,
  pay,
  startPayoutsEngine,
} from './payouts.helpers.ts';
import { camtStatement, upload } from './reconciliation.helpers.ts';

// Races and dates around payouts, on both legs: concurrent requests that each
// make a bank account the default of its currency leave exactly one default
// (the account row is locked, and a unique partial index backs it up);
// concurrent metadata updates of one payout all survive (version check, merge
// again on a lost race); a payout paid by a bank statement takes the
// statement's booking date as its arrival date (its ledger posting is dated now).

const CONCURRENT = 6;

interface ListedBankAccount {
  id: string;
  default_for_currency: boolean;
}

/** A valid German IBAN, distinct per `n`. */
const ibanOf = (n: number) =>
  composeIBAN({ countryCode: 'DE', bban: `37040044${String(1_000_000 + n).padStart(10, '0')}` }) ??
  '';

describe('payouts: races and dates', () => {
  let e: PayoutsEngine;
  const db = () => e.t.engine.database.db;
  const accountsPath = () => `/v1/accounts/${e.t.accountId}/external_accounts`;

  async function defaults(currency = 'eur') {
    return db()
      .selectFrom('external_accounts')
      .select('id')
      .where('account_id', '=', e.t.accountId)
      .where('currency', '=', currency)
      .where('default_for_currency', '=', 1)
      .execute();
  }

  before(async () => {
    e = await startPayoutsEngine();
    await pay(e.t, 50_000);
  });
  after(async () => {
    await e.close();
  });

  test(`${CONCURRENT} concurrent creates with default_for_currency leave exactly one default`, async () => {
    const first = await addBankAccount(e.t, { 'external_account[account_number]': ibanOf(0) });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.default_for_currency, true);
    const created = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        addBankAccount(e.t, {
          'external_account[account_number]': ibanOf(i + 1),
          default_for_currency: 'true',
        }),
      ),
    );
    for (const r of created) assert.equal(r.status, 200, JSON.stringify(r.json));
    const rows = await defaults();
    assert.equal(rows.length, 1, `defaults: ${rows.map((r) => r.id).join(', ')}`);
    // The default is one of the new ones: the last request to commit won, like Stripe.
    assert.ok(created.some((r) => r.json.id === rows[0]!.id));
    const listed = await rawRequest(e.t, 'GET', `${accountsPath()}?limit=100`);
    const flagged = listed.json.data.filter(
      (b: ListedBankAccount) => b.default_for_currency === true,
    );
    assert.deepEqual(
      flagged.map((b: ListedBankAccount) => b.id),
      [rows[0]!.id],
    );
  });

  test(`${CONCURRENT} concurrent updates to default_for_currency leave exactly one default`, async () => {
    const listed = await rawRequest(e.t, 'GET', `${accountsPath()}?limit=100`);
    const ids: string[] = listed.json.data.map((b: ListedBankAccount) => b.id);
    assert.ok(ids.length > CONCURRENT);
    const updated = await Promise.all(
      ids.map((id) =>
        rawRequest(e.t, 'POST', `${accountsPath()}/${id}`, { body: 'default_for_currency=true' }),
      ),
    );
    for (const r of updated) assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((await defaults()).length, 1);
  });

  test('the database refuses a second default of a currency', async () => {
    const [current] = await defaults();
    assert.ok(current);
    const other = await db()
      .selectFrom('external_accounts')
      .select('id')
      .where('account_id', '=', e.t.accountId)
      .where('default_for_currency', '=', 0)
      .executeTakeFirstOrThrow();
    await assert.rejects(
      db()
        .updateTable('external_accounts')
        .set({ default_for_currency: 1 })
        .where('id', '=', other.id)
        .execute(),
      /unique|duplicate/i,
    );
    assert.deepEqual(await defaults(), [current]);
  });

  test(`${CONCURRENT * 2} concurrent metadata updates of one payout all survive`, async () => {
    const payout = await e.t.stripe.payouts.create({
      amount: 1_000,
      currency: 'eur',
      metadata: { order: '1' },
    });
    const keys = Array.from({ length: CONCURRENT * 2 }, (_, i) => `k${i}`);
    const results = await Promise.all(
      keys.map((k) =>
        rawRequest(e.t, 'POST', `/v1/payouts/${payout.id}`, { body: `metadata[${k}]=v-${k}` }),
      ),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.json));
    const after = await e.t.stripe.payouts.retrieve(payout.id);
    assert.deepEqual(after.metadata, {
      order: '1',
      ...Object.fromEntries(keys.map((k) => [k, `v-${k}`])),
    });
    const row = await db()
      .selectFrom('payouts')
      .select('version')
      .where('id', '=', payout.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.version, keys.length);
    // Each update saw the ones before it: one payout.updated event per change.
    const events = await db()
      .selectFrom('events')
      .select('id')
      .where('type', '=', 'payout.updated')
      .execute();
    assert.equal(events.length, keys.length);
    await assertLedgerClean(e.t);
  });

  test('a payout paid by a bank statement takes its booking date', async () => {
    const payout = await e.t.stripe.payouts.create({ amount: 2_000, currency: 'eur' });
    // The payout was made three days ago; the bank booked it yesterday.
    const now = Math.floor(Date.now() / 1000);
    const today = now - (now % 86_400);
    const yesterday = today - 86_400;
    await db()
      .updateTable('payouts')
      .set({ created: now - 3 * 86_400 })
      .where('id', '=', payout.id)
      .execute();
    const xml = camtStatement({
      id: 'STMT-PAID-DATE',
      currency: 'eur',
      openingMinor: 100_000,
      entries: [
        { amountMinor: 2_000, creditDebit: 'DBIT', bookedAt: yesterday, endToEndId: payout.id },
      ],
    });
    const res = await upload(e.t, { type: 'camt053', content: xml });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const paid = await e.t.stripe.payouts.retrieve(payout.id);
    assert.equal(paid.status, 'paid');
    assert.equal(paid.arrival_date, yesterday);
    // The books are dated when the statement was imported, never backdated:
    // a journal export of a period already exported would miss the posting.
    const txn = await db()
      .selectFrom('ledger_transactions')
      .select(['created', 'available_on'])
      .where('payout_id', '=', payout.id)
      .where('type', '=', 'payout_paid')
      .executeTakeFirstOrThrow();
    assert.ok(txn.created >= now, `${txn.created} is the import's time, not ${yesterday}`);
    assert.equal(txn.available_on, txn.created);
    const event = await db()
      .selectFrom('events')
      .select(['data_object', 'previous_attributes'])
      .where('type', '=', 'payout.paid')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(event.data_object).arrival_date, yesterday);
    const previous = JSON.parse(event.previous_attributes ?? '{}');
    assert.deepEqual(previous, { status: 'pending', arrival_date: payout.arrival_date });
    await assertLedgerClean(e.t);
  });
});
