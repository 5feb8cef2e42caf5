import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest } from './helpers/engine.ts';
import {
  allCounts,
  camtStatement,
  type ReconEngine,
  startReconEngine,
  upload,
} from './reconciliation.helpers.ts';

// Bad files are rejected whole, naming the line and field, and leave every
// table as it was; bad requests name the parameter; other accounts, modes and
// publishable keys see nothing.

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures/reconciliation');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe('reconciliation: rejections and isolation', () => {
  let e: ReconEngine;
  before(async () => {
    e = await startReconEngine();
  });
  after(async () => {
    await e.close();
  });

  const rejected = async (
    input: { type: string; content: string; filename?: string },
    expected: { status?: number; code: string; param?: string; message: RegExp },
  ) => {
    const before = await allCounts(e.t);
    const res = await upload(e.t, input);
    assert.equal(res.status, expected.status ?? 400, JSON.stringify(res.json));
    assert.equal(res.json.error.code, expected.code);
    assert.equal(res.json.error.type, 'invalid_request_error');
    if (expected.param) assert.equal(res.json.error.param, expected.param);
    assert.match(res.json.error.message, expected.message);
    assert.deepEqual(await allCounts(e.t), before, 'nothing was imported');
  };

  test('bad files name the line and field; nothing is half-imported', async () => {
    const type = 'stripe_balance_change';
    await rejected(
      { type, content: fixture('stripe-bad-amount.csv'), filename: 'bad.csv' },
      {
        code: 'reconciliation_file_invalid',
        param: 'file',
        message:
          /^Invalid Stripe balance change report "bad.csv": line 4, field "gross": not a decimal amount \("ten"\)$/,
      },
    );
    await rejected(
      { type, content: fixture('stripe-missing-columns.csv') },
      { code: 'reconciliation_file_invalid', message: /missing required columns: "fee", "net"/ },
    );
    await rejected(
      { type, content: fixture('stripe-unknown-currency.csv') },
      {
        code: 'reconciliation_file_invalid',
        message: /line 3, field "currency": unknown currency code "zzz"/,
      },
    );
    await rejected(
      { type: 'adyen_settlement_details', content: fixture('adyen-bad-timezone.csv') },
      { code: 'reconciliation_file_invalid', message: /line 2, field "TimeZone"/ },
    );
    await rejected(
      { type: 'camt053', content: fixture('camt053-malformed.xml') },
      { code: 'reconciliation_file_invalid', message: /malformed XML at line 20, column \d+/ },
    );
    await rejected(
      { type: 'camt053', content: fixture('camt053-unbalanced.xml') },
      {
        code: 'reconciliation_file_invalid',
        message:
          /statement "STMT-2024-05-03": opening balance 1000.00 .* closing balance is 1035.00 EUR/,
      },
    );
  });

  test('a statement that fails its balance check pays no payout', async () => {
    // A debit naming a po_ would pay it; the statement does not add up, so nothing happens.
    const xml = camtStatement({
      id: 'STMT-BAD',
      currency: 'eur',
      openingMinor: 0,
      closingMinor: 1,
      entries: [
        {
          amountMinor: 100,
          creditDebit: 'DBIT',
          bookedAt: 1_700_000_000,
          endToEndId: 'po_000000000000000000000000',
        },
      ],
    });
    await rejected(
      { type: 'camt053', content: xml },
      { code: 'reconciliation_file_invalid', message: /statement "STMT-BAD"/ },
    );
  });

  test('the same bytes as another type are refused', async () => {
    const content = fixture('stripe-valid.csv');
    const first = await upload(e.t, { type: 'stripe_balance_change', content });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    await rejected(
      { type: 'adyen_settlement_details', content },
      {
        code: 'reconciliation_file_invalid',
        param: 'type',
        message: /already imported as stripe_balance_change/,
      },
    );
  });

  test('request errors name the parameter', async () => {
    const content = fixture('stripe-valid.csv');
    const noType = await upload(e.t, { content });
    assert.deepEqual(
      [noType.status, noType.json.error.code, noType.json.error.param],
      [400, 'parameter_missing', 'type'],
    );
    const badType = await upload(e.t, { type: 'mt940', content });
    assert.deepEqual([badType.status, badType.json.error.param], [400, 'type']);
    const connector = await upload(e.t, {
      type: 'stripe_balance_change',
      content: `${content}\n`,
      connector: 'conn_nope',
    });
    assert.deepEqual(
      [connector.status, connector.json.error.code, connector.json.error.param],
      [404, 'resource_missing', 'connector'],
    );

    const form = new FormData();
    form.set('type', 'camt053');
    const noFile = await fetch(`${e.t.url}/v1/reconciliations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e.t.secretKey}` },
      body: form,
    });
    const noFileBody = await noFile.json();
    assert.equal(noFile.status, 400);
    assert.equal(noFileBody.error.param, 'file');

    form.set('surprise', 'x');
    const unknown = await fetch(`${e.t.url}/v1/reconciliations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e.t.secretKey}` },
      body: form,
    });
    assert.equal(unknown.status, 400);
    assert.equal((await unknown.json()).error.param, 'surprise');

    const elsewhere = await rawRequest(e.t, 'POST', '/v1/customers', {
      body: 'a,b\n',
      contentType: 'text/csv',
    });
    assert.deepEqual(
      [elsewhere.status, elsewhere.json.error.code],
      [415, 'unsupported_content_type'],
    );

    const binary = await fetch(`${e.t.url}/v1/reconciliations?type=camt053`, {
      method: 'POST',
      headers: { authorization: `Bearer ${e.t.secretKey}`, 'content-type': 'application/xml' },
      body: new Uint8Array([0x3c, 0xff, 0xfe]),
    });
    const binaryBody = await binary.json();
    assert.equal(binary.status, 400);
    assert.deepEqual(
      [binaryBody.error.code, binaryBody.error.message],
      ['reconciliation_file_invalid', 'The file is not UTF-8 text.'],
    );
  });

  test('a file over the limit is refused with 413, naming the limit', async () => {
    const big = 'x'.repeat(LIMITS.reconciliationFileBytesMax + 1);
    const raw = await rawRequest(e.t, 'POST', '/v1/reconciliations?type=stripe_balance_change', {
      body: big,
      contentType: 'text/csv',
    });
    assert.equal(raw.status, 413);
    assert.equal(raw.json.error.code, 'request_too_large');
    assert.match(raw.json.error.message, new RegExp(`${LIMITS.reconciliationFileBytesMax} bytes`));
    const multipart = await upload(e.t, { type: 'stripe_balance_change', content: big });
    assert.equal(multipart.status, 413);
    assert.equal(multipart.json.error.param, 'file');
  });

  test('resolve: note required and bounded; unknown ids are 404', async () => {
    const list = await rawRequest(e.t, 'GET', '/v1/reconciliations');
    const recon = list.json.data[0];
    const lines = await rawRequest(
      e.t,
      'GET',
      `/v1/reconciliations/${recon.id}/lines?status=unmatched_report`,
    );
    const line = lines.json.data[0];
    assert.ok(line);
    const noNote = await rawRequest(e.t, 'POST', `/v1/reconciliation_lines/${line.id}/resolve`, {
      body: '',
    });
    assert.deepEqual([noNote.status, noNote.json.error.param], [400, 'note']);
    const long = 'n'.repeat(LIMITS.reconciliationNoteLengthMax + 1);
    const tooLong = await rawRequest(e.t, 'POST', `/v1/reconciliation_lines/${line.id}/resolve`, {
      body: JSON.stringify({ note: long }),
      contentType: 'application/json',
    });
    assert.deepEqual([tooLong.status, tooLong.json.error.param], [400, 'note']);
    const missing = await rawRequest(e.t, 'POST', '/v1/reconciliation_lines/rcl_nope/resolve', {
      body: 'note=x',
    });
    assert.equal(missing.status, 404);
    const missingRecon = await rawRequest(e.t, 'GET', '/v1/reconciliations/recon_nope/lines');
    assert.equal(missingRecon.status, 404);
    const badStatus = await rawRequest(
      e.t,
      'GET',
      `/v1/reconciliations/${recon.id}/lines?status=weird`,
    );
    assert.deepEqual([badStatus.status, badStatus.json.error.param], [400, 'status']);
  });

  test('other accounts, live mode and publishable keys see nothing', async () => {
    const list = await rawRequest(e.t, 'GET', '/v1/reconciliations');
    const recon = list.json.data[0];
    const lines = await rawRequest(e.t, 'GET', `/v1/reconciliations/${recon.id}/lines`);
    const line = lines.json.data.find((l: any) => l.status !== 'matched');
    const other = await e.t.engine.accounts.createAccount({ businessName: 'Other' });
    const otherKey = (
      await e.t.engine.accounts.createKey(other.id, { kind: 'secret', livemode: false })
    ).key;
    const liveKey = (
      await e.t.engine.accounts.createKey(e.t.accountId, { kind: 'secret', livemode: true })
    ).key;
    for (const key of [otherKey, liveKey]) {
      const get = await rawRequest(e.t, 'GET', `/v1/reconciliations/${recon.id}`, { key });
      assert.equal(get.status, 404);
      const listed = await rawRequest(e.t, 'GET', '/v1/reconciliations', { key });
      assert.deepEqual(listed.json.data, []);
      const resolve = await rawRequest(e.t, 'POST', `/v1/reconciliation_lines/${line.id}/resolve`, {
        body: 'note=x',
        key,
      });
      assert.equal(resolve.status, 404);
    }
    // The same file in another account is that account's own import.
    const mine = fixture('stripe-valid.csv');
    const theirs = await upload(e.t, {
      type: 'stripe_balance_change',
      content: mine,
      key: otherKey,
    });
    assert.equal(theirs.status, 200);
    assert.notEqual(theirs.json.id, recon.id);
    const publishable = await upload(e.t, {
      type: 'stripe_balance_change',
      content: mine,
      key: e.t.publishableKey,
    });
    assert.equal(publishable.status, 403);
    const anonymous = await rawRequest(e.t, 'GET', '/v1/reconciliations', { key: null });
    assert.equal(anonymous.status, 401);
  });
});
