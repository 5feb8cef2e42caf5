import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { ledgerBooks } from './helpers/books.ts';
import {
  addBankAccount,
  assertLedgerClean,
  availableMinor,
  BIC_DE,
  DEBTOR,
  IBAN_DE,
  type PayoutsEngine,
  pay,
  payrail,
  startPayoutsEngine,
} from './payouts.helpers.ts';

// Payouts end to end: a bank account through the SDK, payouts that take the
// available balance and give it back when canceled or failed, a pain.001 file
// made by the CLI (parsed and checked), then paid / failed / returned by the
// operator CLI. The ledger is verified after every step.

const HOLDER = 'Müller & Söhne <GmbH> "Berlin"';

describe('payouts: bank accounts, payouts, pain.001, marking', () => {
  let e: PayoutsEngine;
  let bankId = '';
  before(async () => {
    e = await startPayoutsEngine();
    await pay(e.t, 10_000);
    await pay(e.t, 10_000);
  });
  after(async () => {
    await e.close();
  });

  test('a bank account is added through the SDK; the IBAN is never shown or stored in clear', async () => {
    const { t } = e;
    const ba = (await t.stripe.accounts.createExternalAccount(t.accountId, {
      external_account: {
        object: 'bank_account',
        country: 'DE',
        currency: 'eur',
        account_number: 'DE89 3704 0044 0532 0130 00',
        routing_number: BIC_DE,
        account_holder_name: HOLDER,
        account_holder_type: 'company',
      },
      metadata: { ref: 'main' },
    })) as any;
    bankId = ba.id;
    assert.match(ba.id, /^ba_/);
    assert.equal(ba.object, 'bank_account');
    assert.equal(ba.account, t.accountId);
    assert.deepEqual(
      [ba.last4, ba.country, ba.currency, ba.routing_number, ba.default_for_currency],
      ['3000', 'DE', 'eur', BIC_DE, true],
    );
    assert.match(ba.fingerprint, /^[0-9a-f]{16}$/);
    assert.equal(ba.metadata.ref, 'main');
    assert.ok(!JSON.stringify(ba).includes('0532013000'));
    const row = await t.engine.database.db
      .selectFrom('external_accounts')
      .selectAll()
      .where('id', '=', ba.id)
      .executeTakeFirstOrThrow();
    assert.ok(!row.iban_enc.includes('0532013000'));

    const got = (await t.stripe.accounts.retrieveExternalAccount(t.accountId, ba.id)) as any;
    assert.equal(got.fingerprint, ba.fingerprint);
    const updated = (await t.stripe.accounts.updateExternalAccount(t.accountId, ba.id, {
      metadata: { ref: 'primary' },
      account_holder_name: HOLDER,
    })) as any;
    assert.equal(updated.metadata.ref, 'primary');
    const list = await t.stripe.accounts.listExternalAccounts(t.accountId, {
      object: 'bank_account',
    });
    assert.deepEqual(
      list.data.map((b) => b.id),
      [ba.id],
    );
  });

  test('a second account of the currency can become the default; the old default can then go', async () => {
    const { t } = e;
    const second = await addBankAccount(e.t, {
      'external_account[account_number]': 'AT611904300234573201',
      'external_account[country]': 'AT',
      'external_account[routing_number]': '',
    });
    assert.equal(second.status, 200, JSON.stringify(second.json));
    assert.equal(second.json.default_for_currency, false);
    const made = (await t.stripe.accounts.updateExternalAccount(t.accountId, second.json.id, {
      default_for_currency: true,
    })) as any;
    assert.equal(made.default_for_currency, true);
    const first = (await t.stripe.accounts.retrieveExternalAccount(t.accountId, bankId)) as any;
    assert.equal(first.default_for_currency, false);
    // Back again, then delete the one that is no longer the default.
    await t.stripe.accounts.updateExternalAccount(t.accountId, bankId, {
      default_for_currency: true,
    });
    const deleted = await t.stripe.accounts.deleteExternalAccount(t.accountId, second.json.id);
    assert.equal(deleted.deleted, true);
    const list = await t.stripe.accounts.listExternalAccounts(t.accountId);
    assert.deepEqual(
      list.data.map((b) => b.id),
      [bankId],
    );
  });

  test('a payout takes the available balance and posts a payout balance transaction; cancel returns it', async () => {
    const { t } = e;
    assert.equal(await availableMinor(t), 20_000);
    const payout = await t.stripe.payouts.create({
      amount: 3_000,
      currency: 'eur',
      description: 'March',
      metadata: { batch: '1' },
    });
    assert.match(payout.id, /^po_/);
    assert.deepEqual(
      [payout.status, payout.destination, payout.method, payout.amount, payout.currency],
      ['pending', bankId, 'standard', 3_000, 'eur'],
    );
    assert.ok(payout.arrival_date > payout.created);
    assert.equal(await availableMinor(t), 17_000);
    const bts = await t.stripe.balanceTransactions.list({ payout: payout.id } as never);
    assert.deepEqual(
      bts.data.map((b) => [b.id, b.type, b.amount, b.fee, b.net, b.source]),
      [[payout.balance_transaction, 'payout', -3_000, 0, -3_000, payout.id]],
    );
    await assertLedgerClean(t);

    const canceled = await t.stripe.payouts.cancel(payout.id);
    assert.equal(canceled.status, 'canceled');
    assert.match(String(canceled.failure_balance_transaction), /^txn_/);
    assert.equal(await availableMinor(t), 20_000);
    const reversal = await t.stripe.balanceTransactions.retrieve(
      String(canceled.failure_balance_transaction),
    );
    assert.deepEqual(
      [reversal.type, reversal.amount, reversal.reporting_category],
      ['payout_cancel', 3_000, 'payout_reversal'],
    );
    const events = await t.stripe.events.list({ limit: 20 });
    const types = events.data.filter((ev) => (ev.data.object as any).id === payout.id);
    assert.deepEqual(
      types.map((ev) => ev.type),
      ['payout.canceled', 'payout.created'],
    );
    await assertLedgerClean(t);

    const again = await t.stripe.payouts.update(payout.id, { metadata: { batch: '2' } });
    assert.equal(again.metadata?.batch, '2');
    const listed = await t.stripe.payouts.list({ status: 'canceled' });
    assert.deepEqual(
      listed.data.map((p) => p.id),
      [payout.id],
    );
    const byDestination = await t.stripe.payouts.list({ destination: bankId });
    assert.equal(byDestination.data.length, 1);
    const byArrival = await t.stripe.payouts.list({ arrival_date: { gt: payout.arrival_date } });
    assert.equal(byArrival.data.length, 0);
  });

  test('export writes a pain.001 file, marks the payouts in_transit; mark paid, failed and returned', async () => {
    const { t } = e;
    const p1 = await t.stripe.payouts.create({ amount: 4_000, currency: 'eur' });
    const p2 = await t.stripe.payouts.create({
      amount: 1_234,
      currency: 'eur',
      destination: bankId,
      statement_descriptor: 'PAYRAIL <2>',
    });
    assert.equal(await availableMinor(t), 20_000 - 5_234);
    const out = path.join(t.dataDir, 'out.xml');
    const run = await payrail(e, [
      'payouts',
      'export',
      '--format',
      'pain.001',
      '--account',
      t.accountId,
      '--out',
      out,
      '--debtor-name',
      DEBTOR.name,
      '--debtor-iban',
      DEBTOR.iban,
      '--debtor-bic',
      DEBTOR.bic,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 payout\(s\)/);
    const xml = fs.readFileSync(out, 'utf8');
    const doc = parsePain(xml);
    const header = doc.GrpHdr;
    assert.equal(header.NbOfTxs, '2');
    assert.equal(header.CtrlSum, '52.34');
    assert.equal(header.InitgPty.Nm, DEBTOR.name);
    assert.equal(doc.PmtInf.length, 1);
    const info = doc.PmtInf[0];
    assert.deepEqual(
      [info.PmtMtd, info.NbOfTxs, info.CtrlSum, info.PmtTpInf.SvcLvl.Cd, info.ChrgBr],
      ['TRF', '2', '52.34', 'SEPA', 'SLEV'],
    );
    assert.equal(info.DbtrAcct.Id.IBAN, DEBTOR.iban);
    assert.equal(info.DbtrAgt.FinInstnId.BIC, DEBTOR.bic);
    const txs = info.CdtTrfTxInf;
    assert.deepEqual(
      txs.map((tx: any) => [
        tx.PmtId.EndToEndId,
        tx.Amt.InstdAmt['#text'],
        tx.Amt.InstdAmt['@_Ccy'],
      ]),
      [
        [p1.id, '40.00', 'EUR'],
        [p2.id, '12.34', 'EUR'],
      ],
    );
    const sum = txs.reduce(
      (s: number, tx: any) => s + Math.round(Number(tx.Amt.InstdAmt['#text']) * 100),
      0,
    );
    assert.equal(sum, 5_234);
    for (const tx of txs) {
      assert.equal(tx.CdtrAcct.Id.IBAN, IBAN_DE);
      assert.equal(tx.CdtrAgt.FinInstnId.BIC, BIC_DE);
      assert.equal(tx.Cdtr.Nm, HOLDER);
    }
    assert.equal(txs[1].RmtInf.Ustrd, 'PAYRAIL <2>');
    assert.ok(xml.includes('Müller &amp; Söhne &lt;GmbH&gt;'));

    const messageId = header.MsgId;
    for (const id of [p1.id, p2.id]) {
      const p = await t.stripe.payouts.retrieve(id);
      assert.equal(p.status, 'in_transit');
      const row = await t.engine.database.db
        .selectFrom('payouts')
        .select('export_id')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      assert.equal(row.export_id, messageId);
    }
    const tooLate = await t.stripe.payouts.cancel(p1.id).catch((err) => err);
    assert.equal(tooLate.code, 'payout_not_cancelable');
    const none = await payrail(e, [
      'payouts',
      'export',
      '--format',
      'pain.001',
      '--out',
      `${out}2`,
      '--debtor-name',
      DEBTOR.name,
      '--debtor-iban',
      DEBTOR.iban,
      '--debtor-bic',
      DEBTOR.bic,
    ]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /no pending payouts/);
    assert.equal(fs.existsSync(`${out}2`), false);
    await assertLedgerClean(t);

    const books = async () => {
      const rows = await ledgerBooks(t.engine.database.db)
        .select(['purpose', 'balance'])
        .where('account_id', '=', t.accountId)
        .where('currency', '=', 'eur')
        .where('purpose', 'in', ['cash', 'payouts_in_transit'])
        .execute();
      const by = Object.fromEntries(rows.map((r) => [r.purpose, Number(r.balance)]));
      return { cash: by.cash ?? 0, payouts_in_transit: by.payouts_in_transit ?? 0 };
    };
    const { cash: cashBefore, payouts_in_transit: inTransit } = await books();
    assert.equal(inTransit, -5_234); // a credit: owed to the merchants until the bank pays
    const paid = await payrail(e, ['payouts', 'mark', p1.id, '--paid']);
    assert.equal(paid.code, 0, paid.stderr);
    assert.match(paid.stdout, /changed/);
    assert.equal((await t.stripe.payouts.retrieve(p1.id)).status, 'paid');
    const twice = await payrail(e, ['payouts', 'mark', p1.id, '--paid']);
    assert.match(twice.stdout, /unchanged/);
    assert.equal(await availableMinor(t), 20_000 - 5_234);
    assert.deepEqual(await books(), { cash: cashBefore - 4_000, payouts_in_transit: -1_234 });
    await assertLedgerClean(t);

    const failed = await payrail(e, [
      'payouts',
      'mark',
      p2.id,
      '--failed',
      'account_closed',
      '--message',
      'Closed',
    ]);
    assert.equal(failed.code, 0, failed.stderr);
    const f = await t.stripe.payouts.retrieve(p2.id);
    assert.deepEqual(
      [f.status, f.failure_code, f.failure_message],
      ['failed', 'account_closed', 'Closed'],
    );
    assert.equal(await availableMinor(t), 20_000 - 4_000);
    const failureBt = await t.stripe.balanceTransactions.retrieve(
      String(f.failure_balance_transaction),
    );
    assert.deepEqual([failureBt.type, failureBt.amount], ['payout_failure', 1_234]);
    await assertLedgerClean(t);

    // A bank return after paid: the money comes back to cash and to the balance.
    const returned = await payrail(e, ['payouts', 'mark', p1.id, '--failed', 'account_closed']);
    assert.equal(returned.code, 0, returned.stderr);
    assert.equal(await availableMinor(t), 20_000);
    await assertLedgerClean(t);
    // Paid took 4000 out of cash; the return put it back; nothing is left in transit.
    assert.deepEqual(await books(), { cash: cashBefore, payouts_in_transit: 0 });

    const events = await t.stripe.events.list({ limit: 50 });
    const of = (id: string) =>
      events.data.filter((ev) => (ev.data.object as any).id === id).map((ev) => ev.type);
    assert.deepEqual(of(p1.id), [
      'payout.failed',
      'payout.paid',
      'payout.updated',
      'payout.created',
    ]);
    assert.deepEqual(of(p2.id), ['payout.failed', 'payout.updated', 'payout.created']);

    const wrong = await payrail(e, ['payouts', 'mark', p2.id, '--paid']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /invalid_state/);
    const missing = await payrail(e, ['payouts', 'mark', 'po_doesnotexist', '--paid']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
  });
});

function parsePain(xml: string): any {
  const parser = new XMLParser({
    ignoreAttributes: false,
    parseTagValue: false,
    parseAttributeValue: false,
    isArray: (name) => name === 'PmtInf' || name === 'CdtTrfTxInf',
  });
  const parsed = parser.parse(xml);
  assert.equal(parsed.Document['@_xmlns'], 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.03');
  return parsed.Document.CstmrCdtTrfInitn;
}
