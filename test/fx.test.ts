import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { runNode } from './helpers/process.ts';

// FX: rates by API and by file (all or nothing, idempotent), the connectors'
// settlement currency, and a capture on a connector that settles in another
// currency (the ledger books it converted, with the rate it used).

const json = (t: TestEngine, method: string, url: string, body?: unknown, key?: string | null) =>
  rawRequest(t, method, url, {
    ...(body !== undefined ? { body: JSON.stringify(body), contentType: 'application/json' } : {}),
    ...(key !== undefined ? { key } : {}),
  });

describe('fx: rates, settlement currency, conversion', () => {
  let t: TestEngine;
  let connectorId = '';
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  const rateCount = async () => {
    const row = await t.engine.database.db
      .selectFrom('fx_rates')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  test('POST /v1/fx_rates records a rate; the same rate again is accepted, another refused', async () => {
    const created = await json(t, 'POST', '/v1/fx_rates', {
      base_currency: 'USD',
      quote_currency: 'eur',
      rate: '0.9000',
      effective_from: 1_000,
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.match(created.json.id, /^fxr_/);
    assert.equal(created.json.object, 'fx_rate');
    assert.deepEqual(
      [created.json.base_currency, created.json.quote_currency, created.json.rate],
      ['usd', 'eur', '0.9'],
    );
    assert.equal(created.json.effective_from, 1_000);
    assert.equal(created.json.source, 'api');
    assert.equal(created.json.livemode, false);

    const again = await json(t, 'POST', '/v1/fx_rates', {
      base_currency: 'usd',
      quote_currency: 'eur',
      rate: '0.9',
      effective_from: 1_000,
    });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, created.json.id);

    const before = await rateCount();
    const conflict = await json(t, 'POST', '/v1/fx_rates', {
      base_currency: 'usd',
      quote_currency: 'eur',
      rate: '0.91',
      effective_from: 1_000,
    });
    assert.equal(conflict.status, 400);
    assert.equal(conflict.json.error.code, 'fx_rate_conflict');
    assert.equal(conflict.json.error.param, 'rate');
    assert.match(conflict.json.error.message, new RegExp(created.json.id));
    assert.equal(await rateCount(), before);

    // Form-encoded (the SDKs' encoding), effective_from defaults to now.
    const form = await rawRequest(t, 'POST', '/v1/fx_rates', {
      body: 'base_currency=gbp&quote_currency=jpy&rate=190.5',
    });
    assert.equal(form.status, 200, JSON.stringify(form.json));
    assert.ok(Math.abs(form.json.effective_from - Date.now() / 1000) < 60);
  });

  test('bad rates are refused naming the field, and nothing is written', async () => {
    const before = await rateCount();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ rate: '0' }, 'rate', 'parameter_invalid'],
      [{ rate: 1.5 }, 'rate', 'parameter_invalid'],
      [{ rate: '1.0000000000001' }, 'rate', 'parameter_invalid'],
      [{ rate: '12345678' }, 'rate', 'parameter_invalid'],
      [{ rate: '-1' }, 'rate', 'parameter_invalid'],
      [{ base_currency: 'xyz' }, 'base_currency', 'invalid_currency'],
      [{ quote_currency: 'usd' }, 'quote_currency', 'parameter_invalid'],
      [{ effective_from: 'soon' }, 'effective_from', 'parameter_invalid_integer'],
      [{ colour: 'red' }, 'colour', 'parameter_unknown'],
    ];
    for (const [patch, param, code] of cases) {
      const body = { base_currency: 'usd', quote_currency: 'chf', rate: '0.88', ...patch };
      const res = await json(t, 'POST', '/v1/fx_rates', body);
      assert.equal(res.status, 400, JSON.stringify(patch));
      assert.equal(res.json.error.param, param, JSON.stringify(res.json));
      assert.equal(res.json.error.code, code, JSON.stringify(res.json));
    }
    const missing = await json(t, 'POST', '/v1/fx_rates', { base_currency: 'usd', rate: '1' });
    assert.equal(missing.json.error.code, 'parameter_missing');
    assert.equal(missing.json.error.param, 'quote_currency');
    assert.equal(await rateCount(), before);
    // A publishable key cannot read or write rates.
    const pk = await json(t, 'GET', '/v1/fx_rates', undefined, t.publishableKey);
    assert.equal(pk.status, 403);
  });

  test('GET /v1/fx_rates filters and paginates; GET /v1/fx_rates/:id', async () => {
    for (const [rate, at] of [
      ['0.92', 2_000],
      ['0.93', 3_000],
    ] as const) {
      const res = await json(t, 'POST', '/v1/fx_rates', {
        base_currency: 'usd',
        quote_currency: 'eur',
        rate,
        effective_from: at,
      });
      assert.equal(res.status, 200);
    }
    const usdEur = await json(t, 'GET', '/v1/fx_rates?base_currency=usd&quote_currency=EUR');
    assert.equal(usdEur.status, 200);
    assert.deepEqual(
      usdEur.json.data.map((r: { rate: string }) => r.rate),
      ['0.93', '0.92', '0.9'],
    );
    const page = await json(t, 'GET', '/v1/fx_rates?limit=1');
    assert.equal(page.json.data.length, 1);
    assert.equal(page.json.has_more, true);
    const one = await json(t, 'GET', `/v1/fx_rates/${usdEur.json.data[0].id}`);
    assert.equal(one.json.rate, '0.93');
    const missing = await json(t, 'GET', '/v1/fx_rates/fxr_nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'resource_missing');
  });

  test('connectors take, validate, return and unset settlement_currency', async () => {
    const bad = await json(t, 'POST', '/v1/connectors', {
      type: 'sandbox',
      name: 'bad',
      settlement_currency: 'xyz',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'settlement_currency');
    assert.equal(bad.json.error.code, 'invalid_currency');

    const created = await json(t, 'POST', '/v1/connectors', {
      type: 'sandbox',
      name: 'settles-in-eur',
      settlement_currency: 'EUR',
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.settlement_currency, 'eur');
    connectorId = created.json.id;
    const listed = await json(t, 'GET', `/v1/connectors/${connectorId}`);
    assert.equal(listed.json.settlement_currency, 'eur');
  });

  test('a capture on a connector settling in EUR is booked in EUR with the rate used', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 10_000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(charge.status, 'succeeded');
    const row = await t.engine.database.db
      .selectFrom('charges')
      .select('connector')
      .where('id', '=', charge.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.connector, connectorId, 'the payment went to the EUR-settling connector');
    const list = await t.stripe.balanceTransactions.list({ source: charge.id } as never);
    const bt = list.data[0];
    assert.ok(bt, 'the capture posted a balance transaction');
    // The latest usd→eur rate effective now is 0.93: 100.00 USD → 93.00 EUR.
    assert.equal(bt.currency, 'eur');
    assert.equal(bt.amount, 9_300);
    assert.equal(Number(bt.exchange_rate), 0.93);
  });

  test('updating settlement_currency to "" unsets it', async () => {
    const res = await json(t, 'POST', `/v1/connectors/${connectorId}`, { settlement_currency: '' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.settlement_currency, null);
  });

  test('payrail fx load: one transaction, line and field named, loading twice changes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(t.dataDir, 'fx-'));
    const env = {
      ...process.env,
      PAYRAIL_DATA_DIR: t.dataDir,
      ...(t.engine.database.dialect === 'postgres'
        ? { DATABASE_URL: t.engine.database.location }
        : {}),
    };
    const load = (name: string, text: string, ...extra: string[]) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return runNode(
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'fx',
          'load',
          file,
          '--account',
          t.accountId,
          ...extra,
        ],
        { env },
      );
    };
    const good =
      'base_currency,quote_currency,rate,effective_from\r\n' +
      'usd,jpy,150.25,2024-01-01\r\n' +
      'USD,KWD,0.3075,1704153600\r\n';
    const first = await load('good.csv', good);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /2 rate\(s\) added, 0 already present/);
    const second = await load('good.csv', good);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /0 rate\(s\) added, 2 already present/);

    // Line 2 is new but line 3 contradicts a stored rate: nothing of the file is kept.
    const conflicting = `base_currency,quote_currency,rate,effective_from\nusd,gbp,0.79,2024-01-01\nusd,jpy,151,2024-01-01\n`;
    const refused = await load('conflict.csv', conflicting);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /line 3, field rate/);
    assert.match(refused.stderr, /nothing was loaded/);

    const badLines: [string, RegExp][] = [
      ['usd,xxx,1.1,2024-01-01', /line 2, field quote_currency/],
      ['usd,eur,1.1e3,2024-01-01', /line 2, field rate/],
      ['usd,eur,1.1,2024-02-30', /line 2, field effective_from/],
    ];
    for (const [line, expected] of badLines) {
      const res = await load(
        'bad.csv',
        `base_currency,quote_currency,rate,effective_from\n${line}\n`,
      );
      assert.equal(res.status, 1, res.stdout);
      assert.match(res.stderr, expected);
    }
    const live = await load(
      'live.csv',
      'base_currency,quote_currency,rate,effective_from\nusd,gbp,0.79,0\n',
      '--live',
    );
    assert.equal(live.status, 0, live.stderr);
    assert.match(live.stdout, /live mode/);
  });

  test('after the CLI: rows are the file rates, test and live mode apart', async () => {
    const test = await json(t, 'GET', '/v1/fx_rates?base_currency=usd&quote_currency=gbp');
    assert.equal(test.json.data.length, 0, 'the refused file left no usd/gbp rate');
    const jpy = await json(t, 'GET', '/v1/fx_rates?base_currency=usd&quote_currency=jpy');
    assert.deepEqual(
      jpy.json.data.map((r: { rate: string; effective_from: number; source: string }) => [
        r.rate,
        r.effective_from,
        r.source,
      ]),
      [['150.25', Date.UTC(2024, 0, 1) / 1000, 'file']],
    );
    const liveRows = await t.engine.database.db
      .selectFrom('fx_rates')
      .select(['base_currency', 'quote_currency'])
      .where('livemode', '=', 1)
      .execute();
    assert.deepEqual(liveRows, [{ base_currency: 'usd', quote_currency: 'gbp' }]);
  });
});
