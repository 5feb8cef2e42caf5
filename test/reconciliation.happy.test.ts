import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyLedger } from '../src/ledger/verify.ts';
import { rawRequest } from './helpers/engine.ts';
import {
  adyenReport,
  allCounts,
  camtStatement,
  chargeFacts,
  createConnector,
  payrail,
  type ReconEngine,
  refundFacts,
  startReconEngine,
  stripeReport,
  upload,
} from './reconciliation.helpers.ts';

// Reconciliation end to end: real payments through the API, then files in
// each format written from what the engine recorded, with deliberate
// differences (a fee off by one, a wrong amount, a line we never saw, a
// payment the report misses), imported over HTTP and the CLI.

describe('reconciliation: import, match, resolve', () => {
  let e: ReconEngine;
  const db = () => e.t.engine.database.db;
  before(async () => {
    e = await startReconEngine();
  });
  after(async () => {
    await e.close();
  });

  const pay = (amount: number, currency: string) =>
    e.t.stripe.paymentIntents.create({
      amount,
      currency,
      payment_method: 'pm_card_visa',
      confirm: true,
    });

  const lines = async (reconId: string, query = '') => {
    const res = await rawRequest(
      e.t,
      'GET',
      `/v1/reconciliations/${reconId}/lines?limit=100${query}`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.data as any[];
  };

  const assertLedgerClean = async () => {
    const report = await verifyLedger(db());
    assert.deepEqual(report.problems, []);
  };

  let stripeReconId = '';
  let stripeCsv = '';

  test('Stripe report: matched, fee and amount mismatches, unknown line, missed payment, payout', async () => {
    const connector = await createConnector(e.t, 'stripe-like');
    const a = await chargeFacts(e.t, (await pay(10_000, 'usd')).id);
    const missed = await chargeFacts(e.t, (await pay(3_000, 'usd')).id);
    const b = await chargeFacts(e.t, (await pay(5_000, 'usd')).id);
    const c = await chargeFacts(e.t, (await pay(2_000, 'usd')).id);
    const refund = await e.t.stripe.refunds.create({
      payment_intent: a.charge.payment_intent_id,
      amount: 1_000,
    });
    const r = await refundFacts(e.t, refund.id);
    assert.equal(a.txn.fee, 320);
    // Settle what is due (funds are available at once here): a settlement batch per run.
    await e.t.stripe.balance.retrieve();
    const batch = await db()
      .selectFrom('settlement_batches')
      .selectAll()
      .where('connector_id', '=', connector)
      .where('currency', '=', 'usd')
      .orderBy('id')
      .executeTakeFirstOrThrow();

    stripeCsv = stripeReport([
      {
        id: 'txn_s1',
        created: a.txn.created,
        currency: 'usd',
        grossMinor: 10_000,
        feeMinor: 320,
        category: 'charge',
        sourceId: a.charge.connector_reference ?? '',
        description: 'Order "A", 1',
      },
      {
        id: 'txn_s2',
        created: b.txn.created,
        currency: 'usd',
        grossMinor: 5_000,
        feeMinor: b.txn.fee + 1,
        category: 'charge',
        sourceId: 'py_x',
        paymentIntentId: b.charge.payment_intent_id,
      },
      {
        id: 'txn_s3',
        created: c.txn.created,
        currency: 'usd',
        grossMinor: 2_100,
        feeMinor: c.txn.fee,
        category: 'charge',
        sourceId: c.charge.id,
      },
      {
        id: 'txn_s4',
        created: a.txn.created,
        currency: 'usd',
        grossMinor: 777,
        feeMinor: 0,
        category: 'charge',
        sourceId: 'ch_unknown_to_payrail',
      },
      {
        id: 'txn_s5',
        created: r.txn.created,
        currency: 'usd',
        grossMinor: -1_000,
        feeMinor: 0,
        category: 'refund',
        sourceId: r.attempt.connector_reference ?? '',
      },
      {
        id: 'txn_s6',
        created: batch.cutoff + 3600,
        currency: 'usd',
        grossMinor: -batch.net,
        feeMinor: 0,
        category: 'payout',
        sourceId: 'po_stripe_1',
        description: 'STRIPE PAYOUT',
      },
    ]);
    const before = await allCounts(e.t);
    const res = await upload(e.t, {
      type: 'stripe_balance_change',
      content: stripeCsv,
      filename: 'stripe.csv',
      connector,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const recon = res.json;
    stripeReconId = recon.id;
    assert.match(recon.id, /^recon_/);
    assert.equal(recon.object, 'reconciliation');
    assert.deepEqual(
      [recon.type, recon.connector, recon.file_name, recon.lines_count],
      ['stripe_balance_change', connector, 'stripe.csv', 6],
    );
    assert.match(recon.sha256, /^[0-9a-f]{64}$/);
    const s = recon.summary;
    assert.deepEqual(
      [
        s.matched,
        s.fee_mismatch,
        s.amount_mismatch,
        s.unmatched_report,
        s.unmatched_ledger,
        s.open_exceptions,
      ],
      [3, 1, 1, 1, 1, 4],
    );
    const after = await allCounts(e.t);
    assert.equal(after.reconciliations, (before.reconciliations ?? 0) + 1);
    assert.equal(after.reconciliation_lines, (before.reconciliation_lines ?? 0) + 7);

    const all = await lines(recon.id);
    const byLine = new Map(all.map((l) => [l.line_number, l]));
    assert.deepEqual([byLine.get(2)?.status, byLine.get(2)?.match?.id], ['matched', a.txn.id]);
    assert.equal(byLine.get(2)?.description, 'Order "A", 1');
    assert.deepEqual(
      [byLine.get(3)?.status, byLine.get(3)?.fee_difference, byLine.get(3)?.match?.id],
      ['fee_mismatch', 1, b.txn.id],
    );
    assert.deepEqual(
      [byLine.get(4)?.status, byLine.get(4)?.amount_difference],
      ['amount_mismatch', 100],
    );
    assert.deepEqual([byLine.get(5)?.status, byLine.get(5)?.match], ['unmatched_report', null]);
    assert.deepEqual(
      [byLine.get(6)?.status, byLine.get(6)?.match?.id, byLine.get(6)?.amount],
      ['matched', r.txn.id, -1_000],
    );
    assert.deepEqual(
      [byLine.get(7)?.status, byLine.get(7)?.match],
      ['matched', { type: 'settlement_batch', id: batch.id }],
    );
    const ledgerSide = all.filter((l) => l.kind === 'ledger');
    assert.deepEqual(
      ledgerSide.map((l) => [l.status, l.match.id, l.amount, l.line_number]),
      [['unmatched_ledger', missed.txn.id, 3_000, null]],
    );
    const filtered = await lines(recon.id, '&status=unmatched_ledger');
    assert.deepEqual(
      filtered.map((l) => l.id),
      ledgerSide.map((l) => l.id),
    );
    await assertLedgerClean();
  });

  test('the same file again returns the first import and changes nothing', async () => {
    const before = await allCounts(e.t);
    const again = await upload(e.t, {
      type: 'stripe_balance_change',
      content: stripeCsv,
      filename: 'renamed.csv',
    });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, stripeReconId);
    assert.equal(again.json.file_name, 'stripe.csv');
    // Raw body with ?type=: the same content, the same import.
    const raw = await rawRequest(e.t, 'POST', '/v1/reconciliations?type=stripe_balance_change', {
      body: stripeCsv,
      contentType: 'text/csv',
    });
    assert.equal(raw.status, 200, JSON.stringify(raw.json));
    assert.equal(raw.json.id, stripeReconId);
    assert.deepEqual(await allCounts(e.t), before);
  });

  test('list, retrieve with totals, paginate lines', async () => {
    const list = await rawRequest(e.t, 'GET', '/v1/reconciliations');
    assert.equal(list.status, 200);
    assert.ok(list.json.data.some((r: any) => r.id === stripeReconId));
    const one = await rawRequest(e.t, 'GET', `/v1/reconciliations/${stripeReconId}`);
    assert.equal(one.status, 200);
    const usd = one.json.summary.totals.find((t: any) => t.currency === 'usd');
    assert.equal(usd.unmatched_ledger_amount, 3_000);
    assert.equal(one.json.summary.lines, 6);
    const page1 = await rawRequest(
      e.t,
      'GET',
      `/v1/reconciliations/${stripeReconId}/lines?limit=4`,
    );
    assert.deepEqual([page1.json.data.length, page1.json.has_more], [4, true]);
    const last = page1.json.data[3].id;
    const page2 = await rawRequest(
      e.t,
      'GET',
      `/v1/reconciliations/${stripeReconId}/lines?limit=4&starting_after=${last}`,
    );
    assert.deepEqual([page2.json.data.length, page2.json.has_more], [3, false]);
    assert.deepEqual(
      [...page1.json.data, ...page2.json.data].map((l: any) => l.line_number),
      [2, 3, 4, 5, 6, 7, null],
    );
  });

  test('resolving exceptions: note and who; a matched line or a second resolution is refused', async () => {
    const [feeLine] = await lines(stripeReconId, '&status=fee_mismatch');
    const res = await rawRequest(e.t, 'POST', `/v1/reconciliation_lines/${feeLine.id}/resolve`, {
      body: 'note=Processor+fee+rounding%2C+accepted',
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.resolved, true);
    assert.equal(res.json.resolution_note, 'Processor fee rounding, accepted');
    assert.match(res.json.resolved_by, /^key_/);
    assert.ok(res.json.resolved_at > 0);
    const again = await rawRequest(e.t, 'POST', `/v1/reconciliation_lines/${feeLine.id}/resolve`, {
      body: 'note=x',
    });
    assert.equal(again.status, 400);
    assert.equal(again.json.error.code, 'reconciliation_line_unexpected_state');
    assert.match(again.json.error.message, /already resolved by key_/);
    const [matched] = await lines(stripeReconId, '&status=matched');
    const refused = await rawRequest(
      e.t,
      'POST',
      `/v1/reconciliation_lines/${matched.id}/resolve`,
      { body: 'note=x' },
    );
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, 'reconciliation_line_unexpected_state');
    assert.match(refused.json.error.message, /is matched/);
    const summary = await rawRequest(e.t, 'GET', `/v1/reconciliations/${stripeReconId}`);
    assert.deepEqual([summary.json.summary.resolved, summary.json.summary.open_exceptions], [1, 3]);
    const open = await lines(stripeReconId, '&resolved=false&status=fee_mismatch');
    assert.equal(open.length, 0);
  });

  test('Adyen report: our attempt and intent ids as merchant references; refunds by modification', async () => {
    const a = await chargeFacts(e.t, (await pay(10_000, 'eur')).id);
    const b = await chargeFacts(e.t, (await pay(4_000, 'eur')).id);
    const refund = await e.t.stripe.refunds.create({
      payment_intent: a.charge.payment_intent_id,
      amount: 2_500,
    });
    const r = await refundFacts(e.t, refund.id);
    const content = adyenReport([
      {
        type: 'Settled',
        created: a.txn.created,
        psp: '8816000000000001',
        merchantRef: a.attemptId,
        currency: 'eur',
        grossCredit: 10_000,
        netCredit: 10_000 - a.txn.fee,
        commission: a.txn.fee,
      },
      {
        type: 'Settled',
        created: b.txn.created,
        psp: '8816000000000002',
        merchantRef: b.charge.payment_intent_id,
        currency: 'eur',
        grossCredit: 4_000,
        netCredit: 4_000 - b.txn.fee,
      },
      {
        type: 'Refunded',
        created: r.txn.created,
        psp: '8816000000000001',
        merchantRef: a.attemptId,
        modificationRef: '8816000000000003',
        modificationMerchantRef: r.attempt.id,
        currency: 'eur',
        grossDebit: 2_500,
        netDebit: 2_500,
      },
      {
        type: 'Fee',
        created: r.txn.created,
        modificationRef: 'Transaction Fees',
        currency: 'eur',
        netDebit: 150,
      },
      {
        type: 'MerchantPayout',
        created: r.txn.created,
        modificationRef: 'TX1',
        currency: 'eur',
        netDebit: 5_000,
      },
    ]);
    const res = await upload(e.t, {
      type: 'adyen_settlement_details',
      content,
      filename: 'settlement_detail_report_batch_7.csv',
      connector: a.charge.connector,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const s = res.json.summary;
    assert.deepEqual(
      [s.matched, s.unmatched_report, s.unmatched_ledger, s.fee_mismatch],
      [3, 2, 0, 0],
    );
    const all = await lines(res.json.id);
    assert.deepEqual(
      all.map((l) => [l.line_number, l.category, l.status, l.match?.id ?? null]),
      [
        [2, 'charge', 'matched', a.txn.id],
        [3, 'charge', 'matched', b.txn.id],
        [4, 'refund', 'matched', r.txn.id],
        [5, 'fee', 'unmatched_report', null],
        [6, 'payout', 'unmatched_report', null],
      ],
    );
    assert.match(all[4].note, /no settlement batch with net 5000 eur/);
  });

  test('camt.053: a debit pays a payout, a return fails one, a credit matches a settlement batch', async () => {
    await pay(50_000, 'eur');
    await e.t.stripe.balance.retrieve();
    const bank = await rawRequest(e.t, 'POST', `/v1/accounts/${e.t.accountId}/external_accounts`, {
      body: new URLSearchParams({
        'external_account[object]': 'bank_account',
        'external_account[country]': 'DE',
        'external_account[currency]': 'eur',
        'external_account[account_number]': 'DE89370400440532013000',
        'external_account[account_holder_name]': 'Jane Doe',
      }).toString(),
    });
    assert.equal(bank.status, 200, JSON.stringify(bank.json));
    const paid = await e.t.stripe.payouts.create({ amount: 4_000, currency: 'eur' });
    const returned = await e.t.stripe.payouts.create({ amount: 1_500, currency: 'eur' });
    const wrong = await e.t.stripe.payouts.create({ amount: 900, currency: 'eur' });
    const batch = await db()
      .selectFrom('settlement_batches')
      .selectAll()
      .where('currency', '=', 'eur')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const now = Math.floor(Date.now() / 1000);
    const xml = camtStatement({
      id: 'STMT-TEST-1',
      currency: 'eur',
      openingMinor: 100_000,
      entries: [
        {
          amountMinor: 4_000,
          creditDebit: 'DBIT',
          bookedAt: now,
          endToEndId: paid.id,
          acctSvcrRef: 'B1',
        },
        {
          amountMinor: 1_500,
          creditDebit: 'DBIT',
          bookedAt: now,
          endToEndId: returned.id,
          acctSvcrRef: 'B2',
        },
        {
          amountMinor: 1_500,
          creditDebit: 'CRDT',
          bookedAt: now,
          endToEndId: returned.id,
          acctSvcrRef: 'B3',
          returnReason: 'AC04',
        },
        {
          amountMinor: 901,
          creditDebit: 'DBIT',
          bookedAt: now,
          endToEndId: wrong.id,
          acctSvcrRef: 'B4',
        },
        {
          amountMinor: batch.net,
          creditDebit: 'CRDT',
          bookedAt: now,
          remittance: batch.reference,
          acctSvcrRef: 'B5',
        },
        {
          amountMinor: 500,
          creditDebit: 'DBIT',
          bookedAt: now,
          acctSvcrRef: 'B6',
          remittance: 'Bank fees',
        },
      ],
    });
    const res = await upload(e.t, { type: 'camt053', content: xml, filename: 'statement.xml' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const all = await lines(res.json.id);
    assert.deepEqual(
      all.map((l) => [l.line_number, l.status, l.match?.id ?? null, l.action]),
      [
        [1, 'matched', paid.id, 'payout_paid'],
        // The payout went out, then came back: paid first, then failed by the return.
        [2, 'matched', returned.id, 'payout_paid'],
        [3, 'matched', returned.id, 'payout_failed'],
        [4, 'amount_mismatch', wrong.id, null],
        [5, 'matched', batch.id, null],
        [6, 'unmatched_report', null, null],
      ],
    );
    assert.equal((await e.t.stripe.payouts.retrieve(paid.id)).status, 'paid');
    assert.equal((await e.t.stripe.payouts.retrieve(wrong.id)).status, 'pending');
    const back = await e.t.stripe.payouts.retrieve(returned.id);
    assert.deepEqual([back.status, back.failure_code], ['failed', 'account_closed']);
    assert.equal(all[3].amount_difference, 1);
    await assertLedgerClean();
  });

  test('camt.053: a returned payout fails with the bank reason', async () => {
    const payout = await e.t.stripe.payouts.create({ amount: 700, currency: 'eur' });
    const xml = camtStatement({
      id: 'STMT-TEST-2',
      currency: 'eur',
      openingMinor: 0,
      entries: [
        {
          amountMinor: 700,
          creditDebit: 'CRDT',
          bookedAt: Math.floor(Date.now() / 1000),
          endToEndId: payout.id,
          returnReason: 'AC04',
        },
      ],
    });
    const res = await upload(e.t, { type: 'camt053', content: xml });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const [line] = await lines(res.json.id);
    assert.deepEqual([line.status, line.action], ['matched', 'payout_failed']);
    const after = await e.t.stripe.payouts.retrieve(payout.id);
    assert.deepEqual([after.status, after.failure_code], ['failed', 'account_closed']);
    await assertLedgerClean();
  });

  test('CLI: import, list, show, resolve', async () => {
    const file = `${e.t.dataDir}/cli-report.csv`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, stripeCsv.replace('txn_s1', 'txn_cli1'));
    const imported = await payrail(e, [
      'reconcile',
      'import',
      '--type',
      'stripe_balance_change',
      '--file',
      file,
      '--json',
    ]);
    assert.equal(imported.code, 0, imported.stderr);
    const recon = JSON.parse(imported.stdout);
    assert.match(recon.id, /^recon_/);
    assert.notEqual(recon.id, stripeReconId);
    const again = await payrail(e, [
      'reconcile',
      'import',
      '--type',
      'stripe_balance_change',
      '--file',
      file,
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already imported/);
    const list = await payrail(e, ['reconcile', 'list']);
    assert.match(list.stdout, new RegExp(recon.id));
    const show = await payrail(e, ['reconcile', 'show', recon.id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /fee_mismatch/);
    const [exception] = await lines(recon.id, '&status=unmatched_report');
    const resolved = await payrail(e, [
      'reconcile',
      'resolve',
      exception.id,
      '--note',
      'Test line from the processor',
    ]);
    assert.equal(resolved.code, 0, resolved.stderr);
    const [after] = await lines(recon.id, '&status=unmatched_report');
    assert.deepEqual(
      [after.resolved_by, after.resolution_note],
      ['cli', 'Test line from the processor'],
    );
    const bad = await payrail(e, ['reconcile', 'import', '--type', 'camt053', '--file', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /already imported as stripe_balance_change/);
    writeFileSync(file, 'not xml');
    const malformed = await payrail(e, [
      'reconcile',
      'import',
      '--type',
      'camt053',
      '--file',
      file,
    ]);
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /Invalid camt.053 bank statement "cli-report.csv": /);
  });
});
