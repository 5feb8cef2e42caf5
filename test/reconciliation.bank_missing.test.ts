import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from './helpers/engine.ts';
import { addBankAccount, assertLedgerClean, DEBTOR, pay } from './payouts.helpers.ts';
import {
  camtStatement,
  payrail,
  type ReconEngine,
  startReconEngine,
  upload,
} from './reconciliation.helpers.ts';

// The ledger side of a bank statement (camt.053): settlement batches whose
// deposit is due in the statement's period and payouts in transit due in it,
// which the statement does not show, become `unmatched_ledger` lines. What an
// earlier statement already showed is not missing again. Runs on both legs.

interface Line {
  kind: string;
  status: string;
  category: string;
  amount: number;
  match: { type: string; id: string } | null;
  note: string;
}

const DAY = 86_400;

describe('reconciliation: what a bank statement lacks', () => {
  let e: ReconEngine;
  const db = () => e.t.engine.database.db;
  const now = Math.floor(Date.now() / 1000);
  const today = now - (now % DAY);

  async function lines(reconId: string, query = ''): Promise<Line[]> {
    const res = await rawRequest(
      e.t,
      'GET',
      `/v1/reconciliations/${reconId}/lines?limit=100${query}`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.data;
  }

  /** Pays `amountMinor` and settles it at once: one settlement batch of that net. */
  async function settledBatch(amountMinor: number) {
    await pay(e.t, amountMinor);
    await e.t.stripe.balance.retrieve();
    return db()
      .selectFrom('settlement_batches')
      .selectAll()
      .where('net', '=', amountMinor)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
  }

  async function exportPayouts(): Promise<void> {
    const run = await payrail(e, [
      'payouts',
      'export',
      '--format',
      'pain.001',
      '--account',
      e.t.accountId,
      '--out',
      `${e.t.dataDir}/pain.xml`,
      '--debtor-name',
      DEBTOR.name,
      '--debtor-iban',
      DEBTOR.iban,
      '--debtor-bic',
      DEBTOR.bic,
    ]);
    assert.equal(run.code, 0, run.stderr);
  }

  before(async () => {
    e = await startReconEngine();
    const bank = await addBankAccount(e.t);
    assert.equal(bank.status, 200, JSON.stringify(bank.json));
  });
  after(async () => {
    await e.close();
  });

  test('batches and payouts due in the period but not on the statement are reported', async () => {
    const shown = await settledBatch(10_000);
    const absent = await settledBatch(3_000);
    // Both batches were cut three days ago: their deposits are due today.
    for (const id of [shown.id, absent.id]) {
      await db()
        .updateTable('settlement_batches')
        .set((eb) => ({ cutoff: eb('cutoff', '-', 3 * DAY) }))
        .where('id', '=', id)
        .execute();
    }
    const paid = await e.t.stripe.payouts.create({ amount: 1_000, currency: 'eur' });
    const missing = await e.t.stripe.payouts.create({ amount: 700, currency: 'eur' });
    const notSent = await e.t.stripe.payouts.create({ amount: 300, currency: 'eur' });
    await e.t.stripe.payouts.cancel(notSent.id);
    await exportPayouts();
    // Both sent payouts were due at the bank today; the third was made after the export.
    const late = await e.t.stripe.payouts.create({ amount: 200, currency: 'eur' });
    await db()
      .updateTable('payouts')
      .set({ arrival_date: today })
      .where('id', 'in', [paid.id, missing.id, late.id])
      .execute();

    const xml = camtStatement({
      id: 'STMT-MISSING-1',
      currency: 'eur',
      openingMinor: 50_000,
      entries: [
        { amountMinor: 10_000, creditDebit: 'CRDT', bookedAt: now, remittance: shown.reference },
        { amountMinor: 1_000, creditDebit: 'DBIT', bookedAt: now, endToEndId: paid.id },
      ],
    });
    const res = await upload(e.t, { type: 'camt053', content: xml });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const report = await lines(res.json.id, '&kind=report');
    assert.deepEqual(
      report.map((l) => [l.status, l.match?.id]),
      [
        ['matched', shown.id],
        ['matched', paid.id],
      ],
    );
    const ledger = await lines(res.json.id, '&kind=ledger');
    assert.deepEqual(
      ledger.map((l) => [l.status, l.category, l.amount, l.match?.type, l.match?.id]),
      [
        ['unmatched_ledger', 'bank_credit', 3_000, 'settlement_batch', absent.id],
        ['unmatched_ledger', 'bank_debit', -700, 'payout', missing.id],
      ],
    );
    assert.match(ledger[0]!.note, /should be deposited by .* but not on the statement/);
    assert.match(ledger[1]!.note, /in transit, due .* but not on the statement/);
    const recon = await rawRequest(e.t, 'GET', `/v1/reconciliations/${res.json.id}`);
    assert.equal(recon.json.summary.unmatched_ledger, 2);
    assert.equal(recon.json.summary.open_exceptions, 2);
    assert.equal(recon.json.period_start, today);
    assert.equal(recon.json.period_end, today + DAY - 1);
    await assertLedgerClean(e.t);

    // The next statement shows the rest: nothing is missing, and what the
    // first one showed is not asked for again.
    const next = camtStatement({
      id: 'STMT-MISSING-2',
      currency: 'eur',
      openingMinor: 59_000,
      entries: [
        { amountMinor: 3_000, creditDebit: 'CRDT', bookedAt: now, remittance: absent.reference },
        { amountMinor: 700, creditDebit: 'DBIT', bookedAt: now, endToEndId: missing.id },
      ],
    });
    const second = await upload(e.t, { type: 'camt053', content: next });
    assert.equal(second.status, 200, JSON.stringify(second.json));
    assert.deepEqual(await lines(second.json.id, '&kind=ledger'), []);
    assert.deepEqual(
      (await lines(second.json.id, '&kind=report')).map((l) => l.status),
      ['matched', 'matched'],
    );
  });

  test('a statement of another period or currency asks for nothing due elsewhere', async () => {
    const xml = camtStatement({
      id: 'STMT-MISSING-USD',
      currency: 'usd',
      openingMinor: 0,
      entries: [{ amountMinor: 100, creditDebit: 'CRDT', bookedAt: now, acctSvcrRef: 'X1' }],
    });
    const res = await upload(e.t, { type: 'camt053', content: xml });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(await lines(res.json.id, '&kind=ledger'), []);
    const old = camtStatement({
      id: 'STMT-MISSING-OLD',
      currency: 'eur',
      openingMinor: 0,
      entries: [{ amountMinor: 100, creditDebit: 'CRDT', bookedAt: now - 30 * DAY }],
    });
    const past = await upload(e.t, { type: 'camt053', content: old });
    assert.equal(past.status, 200, JSON.stringify(past.json));
    assert.deepEqual(await lines(past.json.id, '&kind=ledger'), []);
  });
});
