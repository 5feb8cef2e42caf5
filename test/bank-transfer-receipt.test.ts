import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyLedger } from '../src/ledger/verify.ts';
import { rawRequest, tableCounts } from './helpers/engine.ts';
import {
  camtStatement,
  payrail,
  type ReconEngine,
  startReconEngine,
  upload,
} from './reconciliation.helpers.ts';

// The receiving side of the secondary method (docs/bank-transfers.md): an
// intent no processor could take waits in requires_action with bank transfer
// instructions; the operator's POST .../bank_transfer_received or a camt.053
// credit quoting its reference pays it, in full or in part, once.
//
// The fallback is reached as in test/failover.test.ts ("every processor
// fails"), without a processor call: the account's only connector takes USD,
// so a EUR payment has no processor at all and gets the bank transfer.

type Json = Record<string, any>;

const IBAN = 'DE89370400440532013000';

describe('bank transfers received for the secondary method', () => {
  let e: ReconEngine;
  const db = () => e.t.engine.database.db;
  before(async () => {
    e = await startReconEngine();
    const connector = await json('POST', '/v1/connectors', {
      type: 'sandbox',
      name: 'usd-only',
      currencies: ['usd'],
    });
    assert.equal(connector.status, 200, JSON.stringify(connector.json));
    const routing = await json('POST', '/v1/routing', {
      secondary_method: {
        type: 'bank_transfer',
        bank_transfer: { account_holder_name: 'Payrail Test GmbH', iban: IBAN },
      },
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });
  after(async () => {
    await e?.close();
  });

  function json(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
    return rawRequest(e.t, method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      contentType: 'application/json',
      ...(headers ? { headers } : {}),
    });
  }

  /** A EUR payment that no processor can take: offered a bank transfer. */
  async function offered(amount = 2500): Promise<{ id: string; reference: string }> {
    const res = await json('POST', '/v1/payment_intents', {
      amount,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.status, 'requires_action');
    const instructions = res.json.next_action.display_bank_transfer_instructions;
    assert.equal(instructions.amount_remaining, amount);
    assert.equal(instructions.financial_addresses[0].iban.iban, IBAN);
    return { id: res.json.id, reference: instructions.reference };
  }

  /** `bank_reference` is required: a fresh one unless the body says (undefined: none sent). */
  let bankRefs = 0;
  const received = (id: string, body: Json, key?: string) => {
    bankRefs += 1;
    return json(
      'POST',
      `/v1/payment_intents/${id}/bank_transfer_received`,
      { bank_reference: `TEST-CREDIT-${bankRefs}`, ...body },
      key ? { 'idempotency-key': key } : undefined,
    );
  };

  /** Imports a camt.053 statement; its report lines. */
  async function importStatement(statement: string): Promise<{ id: string; lines: Json[] }> {
    const imported = await upload(e.t, { type: 'camt053', content: statement, filename: 'bt.xml' });
    assert.equal(imported.status, 200, JSON.stringify(imported.json));
    const lines = await json('GET', `/v1/reconciliations/${imported.json.id}/lines?kind=report`);
    assert.equal(lines.status, 200);
    return { id: imported.json.id, lines: lines.json.data as Json[] };
  }

  async function remaining(id: string): Promise<number | null> {
    const intent = await json('GET', `/v1/payment_intents/${id}`);
    return intent.json.next_action?.display_bank_transfer_instructions?.amount_remaining ?? null;
  }

  async function receiptsOf(intentId: string) {
    return db()
      .selectFrom('bank_transfer_receipts')
      .select(['id', 'amount', 'bank_reference', 'source'])
      .where('payment_intent_id', '=', intentId)
      .orderBy('id')
      .execute();
  }

  async function counts(): Promise<Record<string, number>> {
    const all = await tableCounts(e.t);
    for (const table of [
      'bank_transfer_receipts',
      'ledger_balances',
      'settlement_batches',
    ] as const) {
      const row = await db()
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      all[table] = Number(row.n);
    }
    return all;
  }

  async function eventsOf(intentId: string): Promise<string[]> {
    const res = await json('GET', '/v1/events?limit=100');
    assert.equal(res.status, 200);
    return (res.json.data as Json[])
      .filter((ev) => ev.data.object.id === intentId || ev.data.object.payment_intent === intentId)
      .map((ev) => ev.type)
      .reverse();
  }

  async function assertBooksClean() {
    const report = await verifyLedger(db());
    assert.deepEqual(report.problems, [], 'ledger verify finds nothing wrong');
    assert.equal(report.ok, true);
  }

  /** The account's EUR books per purpose (`purpose` or `purpose:connector`), after settling what is due. */
  async function books(): Promise<Record<string, number>> {
    await availableEur(); // settles what is due (funds are available at once here)
    const rows = await db()
      .selectFrom('ledger_accounts as a')
      .innerJoin('ledger_entries as le', 'le.ledger_account_id', 'a.id')
      .select(['a.purpose', 'a.connector_id', (eb) => eb.fn.sum<number>('le.amount').as('total')])
      .where('a.account_id', '=', e.t.accountId)
      .where('a.currency', '=', 'eur')
      .groupBy(['a.purpose', 'a.connector_id'])
      .execute();
    return Object.fromEntries(
      rows.map((b) => [
        `${b.purpose}${b.connector_id ? `:${b.connector_id}` : ''}`,
        Number(b.total),
      ]),
    );
  }

  /** What moved per purpose between two `books()` (purposes that did not move left out). */
  function moved(before: Record<string, number>, after: Record<string, number>) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    const out: Record<string, number> = {};
    for (const k of keys) {
      const d = (after[k] ?? 0) - (before[k] ?? 0);
      if (d !== 0) out[k] = d;
    }
    return out;
  }

  async function receiptIds(intentId: string): Promise<string[]> {
    const rows = await db()
      .selectFrom('bank_transfer_receipts')
      .select('id')
      .where('payment_intent_id', '=', intentId)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  async function balanceEur(): Promise<{ available: number; pending: number }> {
    const balance = await json('GET', '/v1/balance');
    assert.equal(balance.status, 200);
    const of = (list: Json[]) => list.find((b) => b.currency === 'eur')?.amount ?? 0;
    return { available: of(balance.json.available), pending: of(balance.json.pending) };
  }

  async function availableEur(): Promise<number> {
    const balance = await json('GET', '/v1/balance');
    assert.equal(balance.status, 200);
    return (balance.json.available as Json[]).find((b) => b.currency === 'eur')?.amount ?? 0;
  }

  test('in full: the intent succeeds with a bank transfer charge, posted and settled into cash', async () => {
    const { id, reference } = await offered(2500);
    const availableBefore = await availableEur();
    const res = await received(id, { amount: 2500, bank_reference: 'BANKREF-FULL-1' }, 'full-1');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.status, 'succeeded');
    assert.equal(res.json.amount_received, 2500);
    assert.equal(res.json.next_action, null);
    assert.match(res.json.latest_charge, /^ch_/);

    const charge = await json('GET', `/v1/charges/${res.json.latest_charge}`);
    assert.equal(charge.status, 200);
    assert.equal(charge.json.amount, 2500);
    assert.equal(charge.json.amount_captured, 2500);
    assert.equal(charge.json.captured, true);
    assert.equal(charge.json.paid, true);
    assert.equal(charge.json.payment_method_details.type, 'customer_balance');
    assert.equal(charge.json.payment_method_details.bank_transfer.reference, reference);
    assert.match(charge.json.balance_transaction, /^txn_/);
    const row = await db()
      .selectFrom('charges')
      .select(['connector', 'connector_reference'])
      .where('id', '=', res.json.latest_charge)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { connector: 'bank_transfer', connector_reference: reference });

    assert.deepEqual(await eventsOf(id), [
      'payment_intent.created',
      'payment_intent.requires_action',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);

    // Funds are available at once here (PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS=0):
    // reading the balance settles the bank_transfer batch, which makes the
    // merchant's share available. The cash was booked by the receipt, so the
    // batch has no processor side.
    assert.equal((await availableEur()) - availableBefore, 2500);
    const batch = await db()
      .selectFrom('settlement_batches')
      .selectAll()
      .where('connector_id', '=', 'bank_transfer')
      .executeTakeFirstOrThrow();
    assert.deepEqual([batch.gross, batch.fee, batch.net].map(Number), [0, 0, 0]);
    const byPurpose = await books();
    assert.equal(byPurpose['processor_receivable:bank_transfer'], undefined, 'no receivable');
    assert.equal(byPurpose.bank_transfers_unapplied, 0, 'the receipt was applied');
    assert.equal(byPurpose.cash, 2500, 'the money is in the bank');
    assert.equal(byPurpose.merchant_available, -2500, 'and owed to the merchant');
    assert.equal(byPurpose.merchant_pending, 0);
    const [receiptId] = await receiptIds(id);
    const posted = await db()
      .selectFrom('ledger_transactions')
      .select(['type', 'amount', 'status'])
      .where('source', 'in', [res.json.latest_charge, String(receiptId)])
      .orderBy('type')
      .execute();
    assert.deepEqual(
      posted.map((p) => [p.type, Number(p.amount), p.status]),
      [
        ['bank_transfer_receipt', 2500, 'available'],
        ['charge', 2500, 'available'],
      ],
    );
    await assertBooksClean();

    // The same Idempotency-Key replays the answer and changes nothing.
    const before = await counts();
    const replay = await received(id, { amount: 2500, bank_reference: 'BANKREF-FULL-1' }, 'full-1');
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.json, res.json);
    assert.deepEqual(await counts(), before);
    // The same key with other parameters is refused.
    const reused = await received(id, { amount: 2400, bank_reference: 'BANKREF-FULL-1' }, 'full-1');
    assert.equal(reused.status, 400);
    assert.equal(reused.json.error.type, 'idempotency_error');
    assert.deepEqual(await counts(), before);

    // No processor holds the money: a refund is refused, nothing reserved.
    for (const body of [{ charge: res.json.latest_charge }, { payment_intent: id, amount: 100 }]) {
      const refund = await json('POST', '/v1/refunds', body);
      assert.equal(refund.status, 400, JSON.stringify(refund.json));
      assert.equal(refund.json.error.code, 'charge_not_refundable');
      assert.equal(refund.json.error.param, 'charge');
    }
    assert.deepEqual(await counts(), before);
    const refunded = await json('GET', `/v1/charges/${res.json.latest_charge}`);
    assert.equal(refunded.json.amount_refunded, 0);
  });

  test('in part: each receipt is posted when it arrives, held for the customer until the rest pays it', async () => {
    const { id } = await offered(2500);
    const before = await counts();
    const booksBefore = await books();
    const balanceBefore = await balanceEur();
    const first = await received(id, { amount: 1000, received_at: 1_700_000_000 });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.status, 'requires_action');
    assert.equal(first.json.amount_received, 0);
    const instructions = first.json.next_action.display_bank_transfer_instructions;
    assert.equal(instructions.amount_remaining, 1500);
    assert.equal(first.json.latest_charge, null);
    const afterFirst = await counts();
    assert.equal(afterFirst.bank_transfer_receipts, (before.bank_transfer_receipts ?? 0) + 1);
    assert.equal(afterFirst.charges, before.charges, 'no charge for a partial transfer');
    assert.equal(
      afterFirst.ledger_transactions,
      (before.ledger_transactions ?? 0) + 1,
      'the receipt is posted',
    );
    const receipt = await db()
      .selectFrom('bank_transfer_receipts')
      .selectAll()
      .where('payment_intent_id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(receipt.received_at, 1_700_000_000);
    assert.equal(receipt.amount_remaining, 1500);
    assert.equal(receipt.source, 'api');

    // In the bank and owed to the customer: the merchant's balance does not move.
    assert.deepEqual(moved(booksBefore, await books()), {
      cash: 1000,
      bank_transfers_unapplied: -1000,
    });
    assert.deepEqual(await balanceEur(), balanceBefore, 'not the merchant money yet');
    const txn = await db()
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('source', '=', receipt.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      [txn.type, Number(txn.amount), Number(txn.fee), txn.status, txn.connector_id],
      ['bank_transfer_receipt', 1000, 0, 'available', 'bank_transfer'],
    );
    // Internal, like a settlement: not one of the merchant's balance transactions.
    const listed = await json('GET', `/v1/balance_transactions?source=${receipt.id}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.data, []);
    assert.equal((await json('GET', `/v1/balance_transactions/${txn.id}`)).status, 404);
    await assertBooksClean();
    const report = await verifyLedger(db());
    assert.ok(
      report.unapplied.some((u) => u.startsWith(`${id} awaits`) && u.includes('1000 eur')),
      JSON.stringify(report.unapplied),
    );

    const second = await received(id, { amount: 1500 });
    assert.equal(second.status, 200, JSON.stringify(second.json));
    assert.equal(second.json.status, 'succeeded');
    const charge = await json('GET', `/v1/charges/${second.json.latest_charge}`);
    assert.equal(charge.json.amount_captured, 2500);
    assert.deepEqual(await eventsOf(id), [
      'payment_intent.created',
      'payment_intent.requires_action',
      'payment_intent.partially_funded',
      'charge.succeeded',
      'payment_intent.succeeded',
    ]);
    // The charge is the merchant's balance transaction, as for a card.
    const bt = await json('GET', `/v1/balance_transactions/${charge.json.balance_transaction}`);
    assert.equal(bt.status, 200);
    assert.deepEqual(
      [bt.json.type, bt.json.reporting_category, bt.json.amount, bt.json.fee, bt.json.net],
      ['charge', 'charge', 2500, 0, 2500],
    );
    await assertBooksClean();
    const paid = await verifyLedger(db());
    assert.ok(!paid.unapplied.some((u) => u.startsWith(id)), 'applied: no longer listed');

    // After settlement, exactly what one full receipt of 2500 ends with.
    const inParts = moved(booksBefore, await books());
    const single = await offered(2500);
    const beforeSingle = await books();
    assert.equal((await received(single.id, { amount: 2500 })).status, 200);
    const inFull = moved(beforeSingle, await books());
    assert.deepEqual(inFull, { cash: 2500, merchant_available: -2500 });
    assert.deepEqual(inParts, inFull);
    assert.deepEqual(await balanceEur(), {
      available: balanceBefore.available + 5000,
      pending: balanceBefore.pending,
    });
    await assertBooksClean();
  });

  test('canceled while partly funded: the receipts stay owed to the customer, and verify lists them', async () => {
    const { id } = await offered(3000);
    const balanceBefore = await balanceEur();
    const booksBefore = await books();
    assert.equal(
      (await received(id, { amount: 700, bank_reference: 'CANCEL-PART-1' })).status,
      200,
    );
    const canceled = await json('POST', `/v1/payment_intents/${id}/cancel`, {});
    assert.equal(canceled.status, 200, JSON.stringify(canceled.json));
    assert.equal(canceled.json.status, 'canceled');
    // The money stays in the bank and in the books, the customer's: a liability.
    assert.deepEqual(moved(booksBefore, await books()), {
      cash: 700,
      bank_transfers_unapplied: -700,
    });
    assert.deepEqual(await balanceEur(), balanceBefore);
    // No more transfers for it: the next credit is refused, nothing booked.
    const late = await received(id, { amount: 100 });
    assert.equal(late.status, 400);
    assert.equal(late.json.error.code, 'payment_intent_unexpected_state');

    await assertBooksClean();
    const report = await verifyLedger(db());
    const item = report.unapplied.find((u) => u.startsWith(id));
    assert.ok(item, JSON.stringify(report.unapplied));
    assert.match(
      item,
      /is canceled: 700 eur received in 1 transfer\(s\), owed back to the customer/,
    );
    assert.ok(report.unappliedCount >= 1);
    const cli = await payrail(e, ['ledger', 'verify']);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /OK, every invariant holds/);
    assert.match(cli.stdout, /unapplied bank transfers/);
    assert.ok(cli.stdout.includes(`${id} is canceled`), cli.stdout);
  });

  test('verify fails when a receipt posting is tampered with, and is clean once restored', async () => {
    const { id } = await offered(1800);
    assert.equal((await received(id, { amount: 800 })).status, 200);
    const [receiptId] = await receiptIds(id);
    assert.ok(receiptId);
    await assertBooksClean();
    const txn = await db()
      .selectFrom('ledger_transactions')
      .select(['id', 'amount', 'net'])
      .where('source', '=', receiptId)
      .executeTakeFirstOrThrow();
    const restore = () =>
      db()
        .updateTable('ledger_transactions')
        .set({ amount: 800, net: 800, source: receiptId })
        .where('id', '=', txn.id)
        .execute();

    // Posts another amount than the receipt (net kept = amount - fee).
    await db()
      .updateTable('ledger_transactions')
      .set({ amount: 801, net: 801 })
      .where('id', '=', txn.id)
      .execute();
    const wrongAmount = await verifyLedger(db());
    assert.equal(wrongAmount.ok, false);
    assert.ok(
      wrongAmount.problems.some((p) => p.includes(receiptId) && p.includes('posts 801')),
      JSON.stringify(wrongAmount.problems),
    );
    assert.ok(
      wrongAmount.problems.some((p) => p.includes(txn.id) && p.includes('cash moves 800')),
      JSON.stringify(wrongAmount.problems),
    );
    const cli = await payrail(e, ['ledger', 'verify']);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, new RegExp(receiptId));
    await restore();
    await assertBooksClean();

    // A posting whose receipt does not exist, and a receipt left without its posting.
    await db()
      .updateTable('ledger_transactions')
      .set({ source: 'btr_doesnotexist' })
      .where('id', '=', txn.id)
      .execute();
    const orphan = await verifyLedger(db());
    assert.equal(orphan.ok, false);
    assert.ok(
      orphan.problems.some((p) => p.includes('btr_doesnotexist') && p.includes('no such receipt')),
    );
    assert.ok(orphan.problems.some((p) => p.includes(receiptId) && p.includes('no posting')));
    await restore();
    await assertBooksClean();

    // A receipt row that says another amount than its posting and the liability hold.
    await db()
      .updateTable('bank_transfer_receipts')
      .set({ amount: 900 })
      .where('id', '=', receiptId)
      .execute();
    const receiptChanged = await verifyLedger(db());
    assert.equal(receiptChanged.ok, false);
    assert.ok(
      receiptChanged.problems.some((p) => p.includes('bank_transfers_unapplied')),
      JSON.stringify(receiptChanged.problems),
    );
    await db()
      .updateTable('bank_transfer_receipts')
      .set({ amount: 800 })
      .where('id', '=', receiptId)
      .execute();
    await assertBooksClean();
  });

  test('too much, not awaiting, bad params: 400 naming the param, nothing changed', async () => {
    const { id } = await offered(2500);
    const paid = await offered(1200);
    assert.equal(
      (await received(paid.id, { amount: 1200, bank_reference: 'DUP-REF-1' })).status,
      200,
    );
    const fresh = await json('POST', '/v1/payment_intents', { amount: 500, currency: 'eur' });
    assert.equal(fresh.status, 200);
    const partial = await received(id, { amount: 1000 });
    assert.equal(partial.status, 200);
    const before = await counts();
    let n = 0;
    const refuse = async (
      intentId: string,
      body: unknown,
      code: string,
      param: string,
      status = 400,
    ) => {
      n += 1;
      const res = await received(intentId, body as Json, `refused-${n}`);
      assert.equal(res.status, status, JSON.stringify(res.json));
      assert.equal(res.json.error.code, code, JSON.stringify(res.json));
      assert.equal(res.json.error.param, param);
      assert.deepEqual(await counts(), before, `nothing changed by ${JSON.stringify(body)}`);
    };
    // 1500 remain after the partial transfer: 1501 is an overpayment.
    await refuse(id, { amount: 1501, bank_reference: 'OVER-1' }, 'amount_too_large', 'amount');
    await refuse(id, { amount: 2500 }, 'amount_too_large', 'amount');
    await refuse(paid.id, { amount: 1 }, 'payment_intent_unexpected_state', 'id');
    await refuse(fresh.json.id, { amount: 500 }, 'payment_intent_unexpected_state', 'id');
    await refuse('pi_000000000000000000000000', { amount: 5 }, 'resource_missing', 'id', 404);
    await refuse(id, {}, 'parameter_missing', 'amount');
    // Required, so a statement can tell the credit it already has (an operator's note will do).
    await refuse(
      id,
      { amount: 5, bank_reference: undefined },
      'parameter_missing',
      'bank_reference',
    );
    for (const placeholder of ['NONREF', 'NOTPROVIDED', 'n/a', '0000'])
      await refuse(
        id,
        { amount: 5, bank_reference: placeholder },
        'parameter_invalid',
        'bank_reference',
      );
    await refuse(id, { amount: 0 }, 'parameter_invalid', 'amount');
    await refuse(id, { amount: 'ten' }, 'parameter_invalid_integer', 'amount');
    await refuse(
      id,
      { amount: 5, bank_reference: '' },
      'parameter_invalid_empty',
      'bank_reference',
    );
    await refuse(
      id,
      { amount: 5, bank_reference: 'DUP-REF-1' },
      'parameter_invalid',
      'bank_reference',
    );
    const future = Math.floor(Date.now() / 1000) + 86_400;
    await refuse(id, { amount: 5, received_at: future }, 'parameter_invalid', 'received_at');
    await refuse(id, { amount: 5, colour: 'red' }, 'parameter_unknown', 'colour');
    // A refusal is a result too: its key replays it.
    const replayed = await received(id, { amount: 1501, bank_reference: 'OVER-1' }, 'refused-1');
    assert.equal(replayed.status, 400);
    assert.equal(replayed.json.error.code, 'amount_too_large');
    const stillPending = await json('GET', `/v1/payment_intents/${id}`);
    assert.equal(
      stillPending.json.next_action.display_bank_transfer_instructions.amount_remaining,
      1500,
    );

    // The publishable key cannot record money.
    const pk = await rawRequest(e.t, 'POST', `/v1/payment_intents/${id}/bank_transfer_received`, {
      body: 'amount=1500',
      key: e.t.publishableKey,
    });
    assert.ok(pk.status === 401 || pk.status === 403, JSON.stringify(pk.json));
    assert.deepEqual(await counts(), before);
    await assertBooksClean();
  });

  test('two receipts at once are booked once: one pays, the other is refused', async () => {
    const full = await offered(3000);
    const both = await Promise.all([
      received(full.id, { amount: 3000 }),
      received(full.id, { amount: 3000 }),
    ]);
    const statuses = both.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 400], JSON.stringify(both.map((r) => r.json)));
    const refused = both.find((r) => r.status === 400);
    assert.equal(refused?.json.error.param, 'id');

    const halves = await offered(3000);
    const split = await Promise.all([
      received(halves.id, { amount: 1500 }),
      received(halves.id, { amount: 1500 }),
    ]);
    assert.deepEqual(
      split.map((r) => r.status),
      [200, 200],
      JSON.stringify(split.map((r) => r.json)),
    );
    const intent = await json('GET', `/v1/payment_intents/${halves.id}`);
    assert.equal(intent.json.status, 'succeeded');
    for (const id of [full.id, halves.id]) {
      const charges = await db()
        .selectFrom('charges')
        .select('amount_captured')
        .where('payment_intent_id', '=', id)
        .execute();
      assert.deepEqual(
        charges.map((c) => Number(c.amount_captured)),
        [3000],
        `one charge for ${id}`,
      );
    }
    await assertBooksClean();
  });

  test('camt.053: a credit quoting the reference pays the intent once, however often it is imported', async () => {
    const full = await offered(4200);
    const part = await offered(5000);
    const over = await offered(700);
    const day = Math.floor(Date.now() / 1000);
    const statement = camtStatement({
      id: 'STMT-BT-1',
      currency: 'eur',
      openingMinor: 100_000,
      entries: [
        {
          amountMinor: 4200,
          creditDebit: 'CRDT',
          bookedAt: day,
          acctSvcrRef: 'BANK-ENTRY-0001',
          remittance: `Order 77 ${full.reference.toLowerCase()} thanks`,
        },
        // No AcctSvcrRef: the statement id and the entry's place identify it.
        { amountMinor: 2000, creditDebit: 'CRDT', bookedAt: day, remittance: part.reference },
        {
          amountMinor: 900,
          creditDebit: 'CRDT',
          bookedAt: day,
          acctSvcrRef: 'BANK-ENTRY-0003',
          endToEndId: over.reference,
        },
        // A reference-like token of no intent: left to the batch matching as before.
        { amountMinor: 300, creditDebit: 'CRDT', bookedAt: day, remittance: 'INVOICE2024000123' },
      ],
    });
    const before = await counts();
    const imported = await upload(e.t, { type: 'camt053', content: statement, filename: 'bt.xml' });
    assert.equal(imported.status, 200, JSON.stringify(imported.json));
    const lines = await json('GET', `/v1/reconciliations/${imported.json.id}/lines?kind=report`);
    const [l1, l2, l3, l4] = lines.json.data as Json[];
    assert.deepEqual(
      [l1?.status, l1?.action, l1?.match],
      ['matched', 'bank_transfer_received', { type: 'payment_intent', id: full.id }],
    );
    assert.deepEqual(
      [l2?.status, l2?.action, l2?.match?.id],
      ['matched', 'bank_transfer_partially_funded', part.id],
    );
    assert.deepEqual(
      [l3?.status, l3?.amount_difference, l3?.match?.id],
      ['amount_mismatch', 200, over.id],
    );
    assert.equal(l4?.status, 'unmatched_report');
    assert.equal(l4?.match, null);

    const paid = await json('GET', `/v1/payment_intents/${full.id}`);
    assert.equal(paid.json.status, 'succeeded');
    const halfPaid = await json('GET', `/v1/payment_intents/${part.id}`);
    assert.equal(halfPaid.json.status, 'requires_action');
    assert.equal(
      halfPaid.json.next_action.display_bank_transfer_instructions.amount_remaining,
      3000,
    );
    const overPaid = await json('GET', `/v1/payment_intents/${over.id}`);
    assert.equal(
      overPaid.json.next_action.display_bank_transfer_instructions.amount_remaining,
      700,
    );
    const afterImport = await counts();
    assert.equal(afterImport.bank_transfer_receipts, (before.bank_transfer_receipts ?? 0) + 2);
    assert.equal(afterImport.charges, (before.charges ?? 0) + 1);
    const receipts = await db()
      .selectFrom('bank_transfer_receipts')
      .select(['bank_reference', 'source', 'reconciliation_id'])
      .where('payment_intent_id', 'in', [full.id, part.id])
      .orderBy('payment_intent_id')
      .execute();
    for (const r of receipts) {
      assert.equal(r.source, 'camt053');
      assert.equal(r.reconciliation_id, imported.json.id);
    }
    // Without AcctSvcrRef, the credit's content is its reference (not its place in the statement).
    const [byRef, byContent] = receipts.map((r) => String(r.bank_reference)).sort();
    assert.equal(byRef, 'BANK-ENTRY-0001');
    assert.match(
      String(byContent),
      /^camt053:DE02120300000000202051:\d{4}-\d{2}-\d{2}:2000eur:-:[0-9a-f]{16}$/,
    );

    // The same file again: the first import, nothing changed.
    const again = await upload(e.t, { type: 'camt053', content: statement, filename: 'bt.xml' });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, imported.json.id);
    assert.deepEqual(await counts(), afterImport);

    // The same statement in another file (here with one more entry, through
    // the CLI): the credits already recorded are matched, not booked again.
    const extended = camtStatement({
      id: 'STMT-BT-1',
      currency: 'eur',
      openingMinor: 100_000,
      entries: [
        {
          amountMinor: 4200,
          creditDebit: 'CRDT',
          bookedAt: day,
          acctSvcrRef: 'BANK-ENTRY-0001',
          remittance: `Order 77 ${full.reference}`,
        },
        { amountMinor: 2000, creditDebit: 'CRDT', bookedAt: day, remittance: part.reference },
        {
          amountMinor: 3000,
          creditDebit: 'CRDT',
          bookedAt: day,
          remittance: `rest ${part.reference}`,
        },
      ],
    });
    const fs = await import('node:fs');
    const path = await import('node:path');
    const file = path.join(e.t.dataDir, 'extended.xml');
    fs.writeFileSync(file, extended);
    const cli = await payrail(e, [
      'reconcile',
      'import',
      '--type',
      'camt053',
      '--file',
      file,
      '--json',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const second = JSON.parse(cli.stdout) as Json;
    const secondLines = await json('GET', `/v1/reconciliations/${second.id}/lines?kind=report`);
    const [s1, s2, s3] = secondLines.json.data as Json[];
    assert.deepEqual([s1?.status, s1?.action], ['matched', null]);
    assert.match(s1?.note, /already recorded/);
    assert.deepEqual([s2?.status, s2?.action], ['matched', null]);
    assert.deepEqual([s3?.status, s3?.action], ['matched', 'bank_transfer_received']);
    const done = await json('GET', `/v1/payment_intents/${part.id}`);
    assert.equal(done.json.status, 'succeeded');
    const afterCli = await counts();
    assert.equal(afterCli.bank_transfer_receipts, (afterImport.bank_transfer_receipts ?? 0) + 1);
    assert.equal(afterCli.charges, (afterImport.charges ?? 0) + 1);

    // An operator recording the credit the statement already brought is refused.
    const dup = await received(over.id, { amount: 700, bank_reference: 'BANK-ENTRY-0001' });
    assert.equal(dup.status, 400);
    assert.equal(dup.json.error.param, 'bank_reference');
    await assertBooksClean();
  });

  test('a later statement does not ask for the bank_transfer batches as deposits', async () => {
    await availableEur(); // settles what is due, bank_transfer batches included
    const batches = await db()
      .selectFrom('settlement_batches')
      .select(['id', 'cutoff'])
      .where('connector_id', '=', 'bank_transfer')
      .execute();
    assert.ok(batches.length > 0);
    const latest = Math.max(...batches.map((b) => Number(b.cutoff)));
    const statement = camtStatement({
      id: 'STMT-BT-LATER',
      currency: 'eur',
      openingMinor: 0,
      entries: [
        { amountMinor: 100, creditDebit: 'CRDT', bookedAt: latest + 3 * 86_400, remittance: 'x' },
      ],
    });
    const res = await upload(e.t, { type: 'camt053', content: statement });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const ledgerLines = await json('GET', `/v1/reconciliations/${res.json.id}/lines?kind=ledger`);
    assert.deepEqual(ledgerLines.json.data, [], 'no bank_transfer batch is missing');
  });

  test('a destination charge paid by transfer posts its split to the connected account', async () => {
    const account = await json('POST', '/v1/accounts', { type: 'custom' });
    assert.equal(account.status, 200, JSON.stringify(account.json));
    const destination = account.json.id as string;
    const res = await json('POST', '/v1/payment_intents', {
      amount: 10_000,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      application_fee_amount: 1_230,
      transfer_data: { destination },
      confirm: true,
    });
    assert.equal(res.json.status, 'requires_action', JSON.stringify(res.json));
    const paid = await received(res.json.id, { amount: 10_000 });
    assert.equal(paid.status, 200, JSON.stringify(paid.json));
    assert.equal(paid.json.status, 'succeeded');
    const posted = await db()
      .selectFrom('ledger_transactions')
      .select(['type', 'account_id', 'amount'])
      .where('source', '=', paid.json.latest_charge)
      .orderBy('type')
      .execute();
    assert.deepEqual(
      posted.map((p) => [p.type, p.account_id, Number(p.amount)]),
      [
        ['charge', e.t.accountId, 10_000],
        ['payment', destination, 8_770],
        ['transfer', e.t.accountId, -8_770],
      ],
    );
    await assertBooksClean();
  });

  test('camt.053: a credit an operator already recorded under their own note is an exception, not booked again', async () => {
    // 100 EUR asked, the customer sends 50; the operator records it first.
    const { id, reference } = await offered(10_000);
    const byHand = await received(id, { amount: 5000, bank_reference: 'ops: 50 from Mr Smith' });
    assert.equal(byHand.status, 200, JSON.stringify(byHand.json));
    const booksBefore = await books();
    const before = await counts();
    const day = Math.floor(Date.now() / 1000);
    // The nightly statement shows the same credit under the bank's reference,
    // and another credit of another amount for the same intent.
    const { lines } = await importStatement(
      camtStatement({
        id: 'STMT-BT-OPS',
        currency: 'eur',
        openingMinor: 0,
        entries: [
          {
            amountMinor: 5000,
            creditDebit: 'CRDT',
            bookedAt: day,
            acctSvcrRef: 'BANK-OPS-0001',
            remittance: reference,
          },
          {
            amountMinor: 2000,
            creditDebit: 'CRDT',
            bookedAt: day,
            acctSvcrRef: 'BANK-OPS-0002',
            remittance: reference,
          },
        ],
      }),
    );
    const [same, other] = lines;
    const [handReceipt] = await receiptsOf(id);
    assert.deepEqual(
      [same?.status, same?.action, same?.match],
      ['unmatched_report', null, { type: 'payment_intent', id }],
    );
    assert.ok(same?.note.includes(String(handReceipt?.id)), same?.note);
    assert.match(same?.note, /nothing booked/);
    assert.deepEqual([other?.status, other?.action], ['matched', 'bank_transfer_partially_funded']);
    // 70 arrived, 70 booked: the 50 once, the 20.
    assert.equal(await remaining(id), 3000);
    assert.deepEqual(moved(booksBefore, await books()), {
      cash: 2000,
      bank_transfers_unapplied: -2000,
    });
    const after = await counts();
    assert.equal(after.bank_transfer_receipts, (before.bank_transfer_receipts ?? 0) + 1);
    // The exception is open until someone resolves it.
    const recon = await json('GET', `/v1/reconciliations/${same?.reconciliation}`);
    assert.equal(recon.status, 200);
    assert.equal(recon.json.summary.open_exceptions, 1, JSON.stringify(recon.json.summary));
    await assertBooksClean();
  });

  test('camt.053: placeholder and reused bank references neither drop nor double a credit', async () => {
    const a = await offered(1000);
    const b = await offered(1500);
    const c = await offered(4000);
    const day = Math.floor(Date.now() / 1000);
    // NONREF on every credit: each is its own credit, not "already recorded".
    const first = await importStatement(
      camtStatement({
        id: 'STMT-BT-NONREF',
        currency: 'eur',
        openingMinor: 0,
        entries: [
          {
            amountMinor: 1000,
            creditDebit: 'CRDT',
            bookedAt: day,
            acctSvcrRef: 'NONREF',
            remittance: a.reference,
          },
          {
            amountMinor: 1500,
            creditDebit: 'CRDT',
            bookedAt: day,
            acctSvcrRef: 'NONREF',
            remittance: b.reference,
          },
          {
            amountMinor: 1000,
            creditDebit: 'CRDT',
            bookedAt: day,
            acctSvcrRef: 'REUSED-7',
            remittance: c.reference,
          },
        ],
      }),
    );
    assert.deepEqual(
      first.lines.map((l) => [l.status, l.action]),
      [
        ['matched', 'bank_transfer_received'],
        ['matched', 'bank_transfer_received'],
        ['matched', 'bank_transfer_partially_funded'],
      ],
      JSON.stringify(first.lines.map((l) => l.note)),
    );
    for (const intent of [a, b]) {
      const [r] = await receiptsOf(intent.id);
      assert.match(String(r?.bank_reference), /^camt053:DE02120300000000202051:/);
    }
    // Another account's statement reuses REUSED-7 for another credit of c:
    // not the same credit (another amount), so an exception, nothing booked.
    const before = await counts();
    const reused = await importStatement(
      camtStatement({
        id: 'STMT-BT-OTHER-ACCT',
        currency: 'eur',
        openingMinor: 0,
        entries: [
          {
            amountMinor: 3000,
            creditDebit: 'CRDT',
            bookedAt: day,
            acctSvcrRef: 'REUSED-7',
            remittance: c.reference,
          },
        ],
      }),
    );
    const [line] = reused.lines;
    assert.deepEqual(
      [line?.status, line?.action, line?.match?.id],
      ['unmatched_report', null, c.id],
      JSON.stringify(line),
    );
    assert.match(line?.note, /REUSED-7 was already recorded/);
    assert.equal((await counts()).bank_transfer_receipts, before.bank_transfer_receipts);
    assert.equal(await remaining(c.id), 3000);
    await assertBooksClean();
  });

  test('camt.053: a re-issued statement in another order books each credit once', async () => {
    const p = await offered(1000);
    const q = await offered(4000);
    const r = await offered(3000);
    const day = Math.floor(Date.now() / 1000);
    // No AcctSvcrRef at all: the credits are known by what they say.
    const credit = (amountMinor: number, ref: string) => ({
      amountMinor,
      creditDebit: 'CRDT' as const,
      bookedAt: day,
      remittance: `Invoice ${ref}`,
    });
    const original = await importStatement(
      camtStatement({
        id: 'STMT-BT-REISSUE',
        currency: 'eur',
        openingMinor: 0,
        entries: [credit(1000, p.reference), credit(2000, q.reference)],
      }),
    );
    assert.deepEqual(
      original.lines.map((l) => l.action),
      ['bank_transfer_received', 'bank_transfer_partially_funded'],
    );
    const before = await counts();
    // The bank re-issues it with a credit it had left out, first.
    const reissued = await importStatement(
      camtStatement({
        id: 'STMT-BT-REISSUE',
        currency: 'eur',
        openingMinor: 0,
        entries: [credit(3000, r.reference), credit(1000, p.reference), credit(2000, q.reference)],
      }),
    );
    assert.deepEqual(
      reissued.lines.map((l) => [l.status, l.action, l.match?.id]),
      [
        ['matched', 'bank_transfer_received', r.id],
        ['matched', null, p.id],
        ['matched', null, q.id],
      ],
      JSON.stringify(reissued.lines.map((l) => l.note)),
    );
    assert.equal((await counts()).bank_transfer_receipts, (before.bank_transfer_receipts ?? 0) + 1);
    assert.equal(await remaining(q.id), 2000, 'the 2000 for q is counted once');
    const paid = await json('GET', `/v1/payment_intents/${r.id}`);
    assert.equal(paid.json.status, 'succeeded');
    // Two identical credits in one statement are two credits: the second is
    // not taken for the first (an exception for a human, as it may be).
    const twice = await offered(5000);
    const same = await importStatement(
      camtStatement({
        id: 'STMT-BT-TWICE',
        currency: 'eur',
        openingMinor: 0,
        entries: [credit(1000, twice.reference), credit(1000, twice.reference)],
      }),
    );
    assert.deepEqual(
      same.lines.map((l) => [l.status, l.action]),
      [
        ['matched', 'bank_transfer_partially_funded'],
        ['unmatched_report', null],
      ],
    );
    assert.doesNotMatch(
      String(same.lines[1]?.note),
      /already recorded as .*: nothing booked again/,
    );
    await assertBooksClean();
  });

  test('a partly paid intent keeps its amount, currency and method: 400, and cancel still works', async () => {
    const { id, reference } = await offered(3000);
    assert.equal((await received(id, { amount: 1000 })).status, 200);
    const before = await counts();
    const intentBefore = await json('GET', `/v1/payment_intents/${id}`);
    for (const [body, param] of [
      [{ amount: 1000 }, 'amount'],
      [{ amount: 5000 }, 'amount'],
      [{ currency: 'usd' }, 'currency'],
      [{ payment_method: 'pm_card_visa' }, 'payment_method'],
    ] as const) {
      const res = await json('POST', `/v1/payment_intents/${id}`, body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.error.code, 'payment_intent_unexpected_state');
      assert.equal(res.json.error.param, param);
      assert.match(res.json.error.message, /holds bank transfer receipts/);
      assert.deepEqual(await counts(), before, `nothing changed by ${JSON.stringify(body)}`);
    }
    // Confirming again (a card, or a new transfer reference for the full amount) is refused too.
    for (const body of [{ payment_method: 'pm_card_visa' }, {}]) {
      const res = await json('POST', `/v1/payment_intents/${id}/confirm`, body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.error.code, 'payment_intent_unexpected_state');
      assert.match(res.json.error.message, /holds bank transfer receipts/);
      assert.deepEqual(
        await counts(),
        before,
        `nothing changed by confirm ${JSON.stringify(body)}`,
      );
    }
    const intent = await json('GET', `/v1/payment_intents/${id}`);
    assert.deepEqual(intent.json, intentBefore.json);
    assert.equal(intent.json.next_action.display_bank_transfer_instructions.reference, reference);
    assert.equal(await remaining(id), 2000);
    // What strands nothing is still allowed: the same amount, a description.
    const harmless = await json('POST', `/v1/payment_intents/${id}`, {
      amount: 3000,
      description: 'order 12',
    });
    assert.equal(harmless.status, 200, JSON.stringify(harmless.json));
    // An intent offered a transfer that received none can still change.
    const untouched = await offered(2000);
    const changed = await json('POST', `/v1/payment_intents/${untouched.id}`, { amount: 2500 });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    // Cancelling stays allowed: the 1000 stays owed to the customer.
    const canceled = await json('POST', `/v1/payment_intents/${id}/cancel`, {});
    assert.equal(canceled.status, 200, JSON.stringify(canceled.json));
    await assertBooksClean();
    const report = await verifyLedger(db());
    assert.ok(report.unapplied.some((u) => u.startsWith(`${id} is canceled: 1000 eur`)));
  });

  test('payrail ledger verify passes on these books', async () => {
    await assertBooksClean();
    const cli = await payrail(e, ['ledger', 'verify']);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /OK, every invariant holds/);
  });
});
