import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCsv } from '../src/exports/csv.ts';
import { newId } from '../src/lib/ids.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { runNode } from './helpers/process.ts';

// Accounting exports from real payments and refunds: each format parses back,
// debits equal credits per journal and per file, journals never mix
// currencies, mappings apply, bad requests name the parameter, an empty range
// is a header only, and the CLI writes the same file as the API.

interface Csv {
  header: string[];
  rows: Record<string, string>[];
}

function readCsv(text: string): Csv {
  const [head, ...rest] = parseCsv(text);
  assert.ok(head, 'a header line');
  const header = head.fields;
  const rows = rest.map((r) => {
    assert.equal(r.fields.length, header.length, `line ${r.line} has every column`);
    return Object.fromEntries(header.map((h, i) => [h, r.fields[i] ?? '']));
  });
  return { header, rows };
}

/** Decimal major units to integer minor units, exactly (no floats). */
function minor(text: string, exponent: number): bigint {
  if (text === '') return 0n;
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  assert.ok(match, `an amount: ${text}`);
  const fraction = match[3] ?? '';
  assert.equal(fraction.length, exponent, `${text} has ${exponent} decimals`);
  const value = BigInt(`${match[2]}${fraction}`);
  return match[1] === '-' ? -value : value;
}

const EXPONENT: Record<string, number> = { usd: 2, eur: 2, jpy: 0, USD: 2, EUR: 2, JPY: 0 };

/** Sums per group key: debits must equal credits in each. */
function assertBalancedBy(
  rows: Record<string, string>[],
  key: (r: Record<string, string>) => string,
  amount: (r: Record<string, string>) => bigint,
) {
  const sums = new Map<string, bigint>();
  for (const row of rows) sums.set(key(row), (sums.get(key(row)) ?? 0n) + amount(row));
  for (const [group, sum] of sums) assert.equal(sum, 0n, `${group} balances`);
  return sums.size;
}

describe('accounting exports', () => {
  let t: TestEngine;
  let connectorId = '';
  let from = 0;
  let to = 0;
  before(async () => {
    t = await startEngine();
    const res = await rawRequest(t, 'POST', '/v1/connectors', {
      body: JSON.stringify({ type: 'sandbox', name: 'fees', fees: { percent: '2.9', fixed: 30 } }),
      contentType: 'application/json',
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    connectorId = res.json.id;
    from = Math.floor(Date.now() / 1000) - 5;
    const pay = (amount: number, currency: string, description?: string) =>
      t.stripe.paymentIntents.create({
        amount,
        currency,
        payment_method: 'pm_card_visa',
        confirm: true,
        ...(description ? { description } : {}),
      });
    const first = await pay(10_000, 'usd', '=HYPERLINK("http://evil")');
    await pay(2_500, 'usd');
    await pay(1_999, 'jpy');
    await t.stripe.refunds.create({ payment_intent: first.id, amount: 1_000 });
    to = Math.floor(Date.now() / 1000) + 5;
  });
  after(async () => {
    await t.close();
  });

  const exportCsv = (query: string, key?: string) =>
    fetch(`${t.url}/v1/ledger/exports?${query}`, {
      headers: { authorization: `Bearer ${key ?? t.secretKey}` },
      signal: AbortSignal.timeout(30_000),
    });

  const entryCount = async () => {
    const row = await t.engine.database.db
      .selectFrom('ledger_entries as e')
      .innerJoin('ledger_transactions as tx', 'tx.id', 'e.transaction_id')
      .where('tx.account_id', '=', t.accountId)
      .where('tx.created', '>=', from)
      .where('tx.created', '<=', to)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  test('generic: one row per entry, balanced per transaction and currency and per file', async () => {
    const res = await exportCsv(`format=generic&from=${from}&to=${to}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(
      res.headers.get('content-disposition') ?? '',
      new RegExp(
        `attachment; filename="payrail-journal-generic-${t.accountId}-test-\\d{4}-\\d{2}-\\d{2}-\\d{4}-\\d{2}-\\d{2}\\.csv"`,
      ),
    );
    const csv = readCsv(await res.text());
    assert.deepEqual(csv.header, [
      'transaction_id',
      'date',
      'type',
      'source',
      'description',
      'ledger_account',
      'purpose',
      'connector',
      'currency',
      'debit',
      'credit',
    ]);
    assert.equal(csv.rows.length, await entryCount());
    const amount = (r: Record<string, string>) => {
      const e = EXPONENT[r.currency ?? ''] ?? 2;
      assert.ok((r.debit === '') !== (r.credit === ''), 'a line is a debit or a credit');
      return minor(r.debit ?? '', e) - minor(r.credit ?? '', e);
    };
    const journals = assertBalancedBy(csv.rows, (r) => `${r.transaction_id}|${r.currency}`, amount);
    assert.ok(journals >= 4, 'three captures and a refund');
    assertBalancedBy(csv.rows, (r) => r.currency ?? '', amount);
    // Real amounts: the 100.00 USD capture debits the receivable of the connector that took it.
    const receivable = csv.rows.find(
      (r) => r.purpose === 'processor_receivable' && r.debit === '100.00' && r.currency === 'usd',
    );
    assert.ok(receivable);
    assert.equal(receivable.connector, connectorId);
    assert.match(receivable.ledger_account ?? '', /^la_/);
    assert.match(receivable.date ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // JPY has no decimals; the refund's entries are there.
    assert.ok(csv.rows.some((r) => r.currency === 'jpy' && r.debit === '1999'));
    assert.ok(csv.rows.some((r) => r.type === 'refund' && r.credit === '10.00'));
    // A customer's description cannot become a spreadsheet formula.
    const evil = csv.rows.find((r) => r.description?.includes('HYPERLINK'));
    assert.ok(evil);
    assert.equal(evil.description?.startsWith("'="), true);
  });

  test('mappings: create, replace, list; errors name the field', async () => {
    const post = (body: unknown) =>
      rawRequest(t, 'POST', '/v1/ledger/account_mappings', {
        body: JSON.stringify(body),
        contentType: 'application/json',
      });
    const fees = await post({
      purpose: 'processing_fees',
      quickbooks_account: 'Bank fees',
      xero_account_code: '404',
    });
    assert.equal(fees.status, 200, JSON.stringify(fees.json));
    assert.match(fees.json.id, /^jmap_/);
    assert.equal(fees.json.object, 'ledger_account_mapping');
    assert.equal(fees.json.connector, null);
    const recv = await post({
      purpose: 'processor_receivable',
      connector: connectorId,
      quickbooks_account: 'Old name',
    });
    assert.equal(recv.status, 200);
    const replaced = await post({
      purpose: 'processor_receivable',
      connector: connectorId,
      quickbooks_account: 'Clearing:Sandbox',
      xero_account_code: '610',
    });
    assert.equal(replaced.json.id, recv.json.id, 'same (purpose, connector): replaced');
    assert.equal(replaced.json.quickbooks_account, 'Clearing:Sandbox');

    const bad: [unknown, string, string][] = [
      [{ purpose: 'nope', quickbooks_account: 'x' }, 'purpose', 'parameter_invalid'],
      [{ purpose: 'cash' }, 'quickbooks_account', 'parameter_missing'],
      [
        { purpose: 'cash', connector: 'conn_missing', xero_account_code: '1' },
        'connector',
        'resource_missing',
      ],
      [
        { purpose: 'cash', xero_account_code: '12345678901' },
        'xero_account_code',
        'parameter_invalid',
      ],
    ];
    for (const [body, param, code] of bad) {
      const res = await post(body);
      assert.equal(res.json.error?.param, param, JSON.stringify(res.json));
      assert.equal(res.json.error.code, code);
    }
    const list = await rawRequest(t, 'GET', '/v1/ledger/account_mappings');
    assert.equal(list.status, 200);
    assert.equal(list.json.data.length, 2);
  });

  test('quickbooks: MM/DD/YYYY, one journal number per transaction and currency, mappings applied', async () => {
    const res = await exportCsv(`format=quickbooks&from=${from}&to=${to}`);
    assert.equal(res.status, 200);
    const csv = readCsv(await res.text());
    // usd and jpy in one file: a Currency column.
    assert.deepEqual(csv.header, [
      'Journal No.',
      'Journal Date',
      'Account Name',
      'Description',
      'Debits',
      'Credits',
      'Currency',
    ]);
    assert.equal(csv.rows.length, await entryCount());
    for (const row of csv.rows) {
      assert.match(row['Journal Date'] ?? '', /^(0[1-9]|1[0-2])\/\d{2}\/\d{4}$/);
      assert.ok((row['Journal No.'] ?? '').length <= 21);
    }
    const amount = (r: Record<string, string>) => {
      const e = EXPONENT[r.Currency ?? ''] ?? 2;
      return minor(r.Debits ?? '', e) - minor(r.Credits ?? '', e);
    };
    assertBalancedBy(csv.rows, (r) => r['Journal No.'] ?? '', amount);
    const currencyOf = new Map<string, string>();
    for (const row of csv.rows) {
      const no = row['Journal No.'] ?? '';
      assert.equal(currencyOf.get(no) ?? row.Currency, row.Currency, `${no} mixes currencies`);
      currencyOf.set(no, row.Currency ?? '');
    }
    const names = new Set(csv.rows.map((r) => r['Account Name']));
    assert.ok(names.has('Bank fees'), 'purpose mapping');
    assert.ok(names.has('Clearing:Sandbox'), 'purpose + connector mapping');
    assert.ok(names.has('Payrail - Merchant balance (pending)'), [...names].join(' / '));

    // One currency only: no Currency column.
    const usd = readCsv(
      await (await exportCsv(`format=quickbooks&from=${from}&to=${to}&currency=USD`)).text(),
    );
    assert.equal(usd.header.includes('Currency'), false);
    assert.ok(usd.rows.length > 0);
  });

  test('xero: DD/MM/YYYY, signed amounts balanced per narration and date, tax rate configurable', async () => {
    const res = await exportCsv(
      `format=xero&from=${from}&to=${to}&currency=usd&tax_rate=BAS%20Excluded`,
    );
    assert.equal(res.status, 200);
    const csv = readCsv(await res.text());
    assert.deepEqual(csv.header, [
      'Narration',
      'Date',
      'Description',
      'AccountCode',
      'TaxRate',
      'Amount',
    ]);
    assert.ok(csv.rows.length > 0);
    for (const row of csv.rows) {
      assert.match(row.Date ?? '', /^\d{2}\/(0[1-9]|1[0-2])\/\d{4}$/);
      assert.equal(row.TaxRate, 'BAS Excluded');
      assert.match(row.Narration ?? '', / USD$/);
    }
    assertBalancedBy(
      csv.rows,
      (r) => `${r.Narration}|${r.Date}`,
      (r) => minor(r.Amount ?? '', 2),
    );
    const codes = new Set(csv.rows.map((r) => r.AccountCode));
    assert.ok(codes.has('404') && codes.has('610') && codes.has('PR-PEND'), [...codes].join());
    const defaultTax = readCsv(await (await exportCsv(`format=xero&from=${from}&to=${to}`)).text());
    assert.ok(defaultTax.rows.every((r) => r.TaxRate === 'Tax Exempt'));
  });

  test('bad format and range are named; an empty range is the header only; secret key only', async () => {
    const cases: [string, string, string][] = [
      [`format=pdf&from=${from}&to=${to}`, 'format', 'parameter_invalid'],
      [`format=generic&from=yesterday&to=${to}`, 'from', 'parameter_invalid'],
      [`format=generic&from=2024-02-30&to=${to}`, 'from', 'parameter_invalid'],
      [`format=generic&from=${to}&to=${from}`, 'to', 'parameter_invalid'],
      [`format=generic&to=${to}`, 'from', 'parameter_missing'],
      [`format=generic&from=${from}&to=${to}&currency=xyz`, 'currency', 'invalid_currency'],
      [`format=generic&from=${from}&to=${to}&colour=red`, 'colour', 'parameter_unknown'],
    ];
    for (const [query, param, code] of cases) {
      const res = await exportCsv(query);
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: { param: string; code: string } };
      assert.equal(body.error.param, param, query);
      assert.equal(body.error.code, code, query);
    }
    for (const format of ['generic', 'quickbooks', 'xero']) {
      const res = await exportCsv(`format=${format}&from=2001-01-01&to=2001-01-31`);
      assert.equal(res.status, 200);
      const lines = parseCsv(await res.text());
      assert.equal(lines.length, 1, `${format}: header only`);
    }
    const pk = await exportCsv(`format=generic&from=${from}&to=${to}`, t.publishableKey);
    assert.equal(pk.status, 403);
  });

  test('a Xero range over 300 lines is refused naming the range', async () => {
    // 151 balanced two-line transactions in 2001, written straight into the books.
    const db = t.engine.database.db;
    const accounts = await db
      .selectFrom('ledger_accounts')
      .select(['id', 'purpose'])
      .where('account_id', '=', t.accountId)
      .where('currency', '=', 'usd')
      .execute();
    const pending = accounts.find((a) => a.purpose === 'merchant_pending');
    const available =
      accounts.find((a) => a.purpose === 'merchant_available') ??
      accounts.find((a) => a.purpose === 'processing_fees');
    assert.ok(pending && available);
    const created = Date.UTC(2001, 5, 1) / 1000;
    for (let i = 0; i < 151; i += 1) {
      const id = newId('txn');
      await db
        .insertInto('ledger_transactions')
        .values({
          id,
          account_id: t.accountId,
          livemode: 0,
          type: 'funds_release',
          source: `txn_fake${i}`,
          reporting_category: 'transfer',
          description: null,
          amount: 1,
          fee: 0,
          net: 1,
          fee_details: '[]',
          currency: 'usd',
          status: 'available',
          available_on: created,
          created,
        })
        .execute();
      for (const [account, amount] of [
        [pending.id, 1],
        [available.id, -1],
      ] as const) {
        await db
          .insertInto('ledger_entries')
          .values({
            id: newId('le'),
            transaction_id: id,
            ledger_account_id: account,
            amount,
            currency: 'usd',
            created,
          })
          .execute();
      }
    }
    const res = await exportCsv('format=xero&from=2001-06-01&to=2001-06-01');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    assert.equal(body.error.code, 'export_too_large');
    assert.match(body.error.message, /2001-06-01T00:00:00Z \.\. 2001-06-01T23:59:59Z/);
    const generic = await exportCsv('format=generic&from=2001-06-01&to=2001-06-01');
    assert.equal(parseCsv(await generic.text()).length, 303);
  });

  test('payrail ledger export writes the API file; bad arguments are named', async () => {
    const env = {
      ...process.env,
      PAYRAIL_DATA_DIR: t.dataDir,
      ...(t.engine.database.dialect === 'postgres'
        ? { DATABASE_URL: t.engine.database.location }
        : {}),
    };
    const out = path.join(t.dataDir, 'journal.csv');
    const run = (...args: string[]) =>
      runNode(['--import', 'tsx', 'src/cli/main.ts', 'ledger', 'export', ...args], { env });
    const ok = await run(
      '--format',
      'quickbooks',
      '--from',
      String(from),
      '--to',
      String(to),
      '--account',
      t.accountId,
      '--out',
      out,
    );
    assert.equal(ok.status, 0, ok.stderr);
    const api = await (await exportCsv(`format=quickbooks&from=${from}&to=${to}`)).text();
    assert.equal(fs.readFileSync(out, 'utf8'), api);
    const bad = await run('--format', 'pdf', '--from', '2024-01-01', '--to', '2024-01-02');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--format/);
  });
});
