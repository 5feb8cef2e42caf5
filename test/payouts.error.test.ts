import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, type TestEngine, tableCounts } from './helpers/engine.ts';
import {
  addBankAccount,
  assertLedgerClean,
  availableMinor,
  type PayoutsEngine,
  pay,
  startPayoutsEngine,
} from './payouts.helpers.ts';

// Refusals: every bad field is named, a refused payout writes nothing, a
// payout only cancels while pending, and another account's ids do not exist.

describe('payouts: errors', () => {
  let e: PayoutsEngine;
  let t: TestEngine;
  let bankId = '';
  before(async () => {
    e = await startPayoutsEngine();
    t = e.t;
    await pay(t, 5_000);
    const ba = await addBankAccount(t);
    assert.equal(ba.status, 200, JSON.stringify(ba.json));
    bankId = ba.json.id;
  });
  after(async () => {
    await e.close();
  });

  const post = (path: string, form: Record<string, string>) =>
    rawRequest(t, 'POST', path, { body: new URLSearchParams(form).toString() });

  test('bank account fields are checked and named', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [
        { 'external_account[account_number]': 'DE89370400440532013001' },
        'invalid_iban',
        'external_account[account_number]',
      ],
      [
        { 'external_account[routing_number]': 'NOTABIC!' },
        'invalid_bic',
        'external_account[routing_number]',
      ],
      [{ 'external_account[currency]': 'xyz' }, 'invalid_currency', 'external_account[currency]'],
      [{ 'external_account[country]': 'FR' }, 'parameter_invalid', 'external_account[country]'],
      [
        {
          'external_account[account_number]': 'GB29NWBK60161331926819',
          'external_account[country]': 'GB',
          'external_account[currency]': 'gbp',
          'external_account[routing_number]': '',
        },
        'invalid_bic',
        'external_account[routing_number]',
      ],
      [
        { 'external_account[account_number]': '' },
        'parameter_missing',
        'external_account[account_number]',
      ],
      [{ 'external_account[object]': 'card' }, 'parameter_invalid', 'external_account[object]'],
      [{}, 'bank_account_exists', 'external_account[account_number]'],
    ];
    const counts = await tableCounts(t);
    for (const [fields, code, param] of cases) {
      const res = await addBankAccount(t, fields);
      assert.equal(res.status, 400, `${code}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, code);
      assert.equal(res.json.error.param, param);
    }
    assert.deepEqual(await tableCounts(t), counts);
  });

  test('payout fields are checked and named', async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ amount: '0', currency: 'eur' }, 'amount_too_small', 'amount'],
      [{ amount: '12.5', currency: 'eur' }, 'parameter_invalid_integer', 'amount'],
      [{ amount: '100', currency: 'xyz' }, 'invalid_currency', 'currency'],
      [{ amount: '100', currency: 'eur', method: 'instant' }, 'parameter_invalid', 'method'],
      [{ amount: '100', currency: 'usd' }, 'parameter_missing', 'destination'],
      [{ amount: '100', currency: 'usd', destination: bankId }, 'parameter_invalid', 'destination'],
      [
        { amount: '100', currency: 'eur', destination: 'ba_nope' },
        'resource_missing',
        'destination',
      ],
      [{ currency: 'eur' }, 'parameter_missing', 'amount'],
    ];
    for (const [form, code, param] of cases) {
      const res = await post('/v1/payouts', form);
      assert.ok(res.status === 400 || res.status === 404, JSON.stringify(res.json));
      assert.equal(res.json.error.code, code, JSON.stringify(res.json));
      assert.equal(res.json.error.param, param);
    }
  });

  test('a payout above the available balance is refused and writes nothing', async () => {
    assert.equal(await availableMinor(t), 5_000);
    const counts = await tableCounts(t);
    const db = t.engine.database.db;
    const count = async (table: 'payouts' | 'ledger_transactions' | 'ledger_entries') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = [
      await count('payouts'),
      await count('ledger_transactions'),
      await count('ledger_entries'),
    ];
    const res = await post('/v1/payouts', { amount: '5001', currency: 'eur' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'balance_insufficient');
    assert.equal(res.json.error.param, 'amount');
    assert.deepEqual(await tableCounts(t), counts);
    assert.deepEqual(
      [await count('payouts'), await count('ledger_transactions'), await count('ledger_entries')],
      before,
    );
    assert.equal(await availableMinor(t), 5_000);
    const exact = await t.stripe.payouts.create({ amount: 5_000, currency: 'eur' });
    assert.equal(exact.status, 'pending');
    assert.equal(await availableMinor(t), 0);
    await t.stripe.payouts.cancel(exact.id);
    await assertLedgerClean(t);
  });

  test('only a pending payout can be canceled', async () => {
    const payout = await t.stripe.payouts.create({ amount: 100, currency: 'eur' });
    await t.stripe.payouts.cancel(payout.id);
    const res = await post(`/v1/payouts/${payout.id}/cancel`, {});
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'payout_not_cancelable');
    assert.equal(await availableMinor(t), 5_000);
    await assertLedgerClean(t);
  });

  test("another account's bank accounts and payouts do not exist for this key", async () => {
    const payout = await t.stripe.payouts.create({ amount: 200, currency: 'eur' });
    const other = await t.engine.accounts.createAccount({ businessName: 'Other' });
    const key = await t.engine.accounts.createKey(other.id, { kind: 'secret', livemode: false });
    const as = { key: key.key };
    const bankForm = new URLSearchParams({
      'external_account[object]': 'bank_account',
      'external_account[country]': 'DE',
      'external_account[currency]': 'eur',
      'external_account[account_number]': 'DE89370400440532013000',
    }).toString();
    const checks: Array<[string, string, string | undefined]> = [
      ['GET', `/v1/payouts/${payout.id}`, undefined],
      ['POST', `/v1/payouts/${payout.id}/cancel`, ''],
      ['POST', `/v1/payouts/${payout.id}`, 'metadata[x]=1'],
      ['GET', `/v1/accounts/${t.accountId}/external_accounts`, undefined],
      ['GET', `/v1/accounts/${other.id}/external_accounts/${bankId}`, undefined],
      ['POST', `/v1/accounts/${other.id}/external_accounts/${bankId}`, 'metadata[x]=1'],
      ['DELETE', `/v1/accounts/${other.id}/external_accounts/${bankId}`, undefined],
      ['POST', `/v1/accounts/${t.accountId}/external_accounts`, bankForm],
    ];
    for (const [method, path, body] of checks) {
      const res = await rawRequest(t, method, path, {
        ...as,
        ...(body === undefined ? {} : { body }),
      });
      assert.equal(res.status, 404, `${method} ${path}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, 'resource_missing');
    }
    const list = await rawRequest(t, 'GET', '/v1/payouts', as);
    assert.equal(list.json.data.length, 0);
    // The owner still sees it, unchanged.
    assert.equal((await t.stripe.payouts.retrieve(payout.id)).status, 'pending');
  });
});
