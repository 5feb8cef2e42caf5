import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyLedger } from '../src/ledger/verify.ts';
import { type PspSim, startPspSim } from '../src/psp-sim/server.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { freePort } from './helpers/process.ts';
import { adyenReport, stripeReport, upload } from './reconciliation.helpers.ts';

// Disputes end to end: the sandbox's dispute test card (Stripe's test-mode
// behaviour), evidence that wins or loses, accepting a dispute, and a
// processor's dispute notices (psp-sim, signed by its control API) with a
// dispute fee. After every flow the books must verify.

type Json = Record<string, any>;

async function api(t: TestEngine, method: string, urlPath: string, body?: unknown) {
  return rawRequest(t, method, urlPath, {
    body: body === undefined ? undefined : JSON.stringify(body),
    contentType: 'application/json',
  });
}

async function pendingBalance(t: TestEngine, currency: string): Promise<number> {
  const balance = await t.stripe.balance.retrieve();
  return balance.pending.find((b) => b.currency === currency)?.amount ?? 0;
}

async function eventTypes(t: TestEngine, disputeId: string): Promise<string[]> {
  const events = await t.stripe.events.list({ limit: 100 });
  return events.data
    .filter((e) => (e.data.object as { id?: string }).id === disputeId)
    .map((e) => e.type)
    .reverse();
}

async function assertBooksVerify(t: TestEngine): Promise<void> {
  const report = await verifyLedger(t.engine.database.db);
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
}

async function disputedPayment(t: TestEngine, amount: number) {
  const pi = await t.stripe.paymentIntents.create({
    amount,
    currency: 'usd',
    payment_method: 'pm_card_createDispute',
    confirm: true,
  });
  assert.equal(pi.status, 'succeeded');
  const list = await t.stripe.disputes.list({ payment_intent: pi.id });
  assert.equal(list.data.length, 1);
  return { pi, dispute: list.data[0]! };
}

describe('disputes: the sandbox dispute card', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine({ env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '3600' } });
  });
  after(async () => {
    await t.close();
  });

  test('a payment with the dispute card succeeds, then is disputed as fraudulent', async () => {
    const pendingBefore = await pendingBalance(t, 'usd');
    const { pi, dispute } = await disputedPayment(t, 2000);
    assert.match(dispute.id, /^du_/);
    assert.equal(dispute.status, 'needs_response');
    assert.equal(dispute.reason, 'fraudulent');
    assert.equal(dispute.amount, 2000);
    assert.equal(dispute.currency, 'usd');
    assert.equal(dispute.charge, pi.latest_charge);
    assert.equal(dispute.payment_intent, pi.id);
    assert.equal(dispute.is_charge_refundable, false);
    assert.equal(dispute.evidence_details.submission_count, 0);
    assert.ok((dispute.evidence_details.due_by ?? 0) > Math.floor(Date.now() / 1000));
    assert.equal(dispute.evidence.uncategorized_text, null);
    const [withdrawal] = dispute.balance_transactions;
    assert.equal(dispute.balance_transactions.length, 1);
    assert.equal(withdrawal?.type, 'adjustment');
    assert.equal(withdrawal?.reporting_category, 'dispute');
    assert.equal(withdrawal?.amount, -2000);
    assert.equal(withdrawal?.fee, 0, 'the sandbox charges no dispute fee');
    assert.equal(withdrawal?.net, -2000);
    assert.equal(withdrawal?.source, dispute.id);

    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(charge.disputed, true);
    // The capture credited 2000 and the dispute took it back.
    assert.equal(await pendingBalance(t, 'usd'), pendingBefore);
    const listed = await t.stripe.balanceTransactions.list({ source: dispute.id });
    assert.deepEqual(
      listed.data.map((b) => [b.type, b.amount]),
      [['adjustment', -2000]],
    );
    const adjustments = await t.stripe.balanceTransactions.list({ type: 'adjustment' });
    assert.ok(adjustments.data.some((b) => b.id === withdrawal?.id));
    assert.deepEqual(await eventTypes(t, dispute.id), [
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
    ]);
    assert.equal((await t.stripe.disputes.retrieve(dispute.id)).status, 'needs_response');
    await assertBooksVerify(t);
  });

  test('an ordinary card is not disputed', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 500,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const charge = await t.stripe.charges.retrieve(String(pi.latest_charge));
    assert.equal(charge.disputed, false);
    assert.equal((await t.stripe.disputes.list({ payment_intent: pi.id })).data.length, 0);
  });

  test('winning evidence: under review, then won, funds reinstated', async () => {
    const { dispute } = await disputedPayment(t, 3000);
    const pendingBefore = await pendingBalance(t, 'usd');
    const won = await t.stripe.disputes.update(dispute.id, {
      evidence: { uncategorized_text: 'winning_evidence', customer_name: 'Jane Doe' },
      metadata: { case: '42' },
    });
    assert.equal(won.status, 'won');
    assert.equal(won.evidence.uncategorized_text, 'winning_evidence');
    assert.equal(won.evidence.customer_name, 'Jane Doe');
    assert.equal(won.evidence_details.submission_count, 1);
    assert.equal(won.evidence_details.has_evidence, true);
    assert.equal(won.evidence_details.past_due, false);
    assert.deepEqual(won.metadata, { case: '42' });
    assert.deepEqual(
      won.balance_transactions.map((b) => [b.type, b.reporting_category, b.amount, b.fee]),
      [
        ['adjustment', 'dispute', -3000, 0],
        ['adjustment', 'dispute_reversal', 3000, 0],
      ],
    );
    assert.equal(await pendingBalance(t, 'usd'), pendingBefore + 3000);
    assert.deepEqual(await eventTypes(t, dispute.id), [
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_reinstated',
    ]);
    await assertBooksVerify(t);
  });

  test('staged evidence (submit=false) keeps needs_response; losing evidence loses', async () => {
    const { dispute } = await disputedPayment(t, 1500);
    const staged = await t.stripe.disputes.update(dispute.id, {
      evidence: { uncategorized_text: 'losing_evidence' },
      submit: false,
    });
    assert.equal(staged.status, 'needs_response');
    assert.equal(staged.evidence_details.has_evidence, true);
    assert.equal(staged.evidence_details.submission_count, 0);
    const pendingBefore = await pendingBalance(t, 'usd');
    const lost = await t.stripe.disputes.update(dispute.id, { submit: true });
    assert.equal(lost.status, 'lost');
    assert.equal(lost.balance_transactions.length, 1, 'nothing more moves when lost');
    assert.equal(await pendingBalance(t, 'usd'), pendingBefore);
    await assertBooksVerify(t);
  });

  test('other evidence leaves the dispute under review', async () => {
    const { dispute } = await disputedPayment(t, 700);
    const submitted = await t.stripe.disputes.update(dispute.id, {
      evidence: { product_description: 'A blue widget' },
    });
    assert.equal(submitted.status, 'under_review');
    // Metadata can still change after submission; evidence cannot (disputes.error.test.ts).
    const tagged = await t.stripe.disputes.update(dispute.id, { metadata: { note: 'x' } });
    assert.equal(tagged.status, 'under_review');
    assert.deepEqual(tagged.metadata, { note: 'x' });
  });

  test('close accepts the loss; an idempotent retry replays it', async () => {
    const { dispute } = await disputedPayment(t, 900);
    const key = `close-${dispute.id}`;
    const closed = await t.stripe.disputes.close(dispute.id, {}, { idempotencyKey: key });
    assert.equal(closed.status, 'lost');
    assert.equal(closed.balance_transactions.length, 1);
    const again = await rawRequest(t, 'POST', `/v1/disputes/${dispute.id}/close`, {
      body: '',
      headers: { 'idempotency-key': key },
    });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await eventTypes(t, dispute.id), [
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.closed',
    ]);
    await assertBooksVerify(t);
  });

  test('manual capture: disputed once captured, not at authorization', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1200,
      currency: 'usd',
      payment_method: 'pm_card_createDispute',
      confirm: true,
      capture_method: 'manual',
    });
    assert.equal((await t.stripe.disputes.list({ payment_intent: pi.id })).data.length, 0);
    await t.stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1000 });
    const list = await t.stripe.disputes.list({ payment_intent: pi.id });
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0]?.amount, 1000);
    await assertBooksVerify(t);
  });

  test('list filters and pagination', async () => {
    const { pi, dispute } = await disputedPayment(t, 100);
    const byCharge = await t.stripe.disputes.list({ charge: String(pi.latest_charge) });
    assert.deepEqual(
      byCharge.data.map((d) => d.id),
      [dispute.id],
    );
    const page = await t.stripe.disputes.list({ limit: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    const next = await t.stripe.disputes.list({ limit: 2, starting_after: page.data[1]!.id });
    assert.ok(next.data.every((d) => d.created <= page.data[1]!.created));
    const none = await t.stripe.disputes.list({ created: { gt: dispute.created + 3600 } });
    assert.equal(none.data.length, 0);
  });

  test('reconciliation: Stripe dispute lines and Adyen chargeback lines match the postings', async () => {
    const { pi, dispute } = await disputedPayment(t, 4200);
    const won = await t.stripe.disputes.update(dispute.id, {
      evidence: { uncategorized_text: 'winning_evidence' },
    });
    const [withdrawal, reversal] = won.balance_transactions;
    assert.ok(withdrawal && reversal);
    const charge = String(pi.latest_charge);
    const at = withdrawal.created;
    const stripeCsv = stripeReport([
      {
        id: 'txn_r1',
        created: at,
        currency: 'usd',
        grossMinor: -4200,
        feeMinor: 0,
        category: 'dispute',
        sourceId: dispute.id,
        chargeId: charge,
      },
      {
        id: 'txn_r2',
        created: at,
        currency: 'usd',
        grossMinor: 4200,
        feeMinor: 0,
        category: 'dispute_reversal',
        sourceId: dispute.id,
        chargeId: charge,
      },
    ]);
    const stripe = await upload(t, { type: 'stripe_balance_change', content: stripeCsv });
    assert.equal(stripe.status, 200, JSON.stringify(stripe.json));
    const stripeLines = await api(t, 'GET', `/v1/reconciliations/${stripe.json.id}/lines`);
    assert.deepEqual(
      stripeLines.json.data.map((l: Json) => [l.line_number, l.status, l.match?.id]).sort(),
      [
        [2, 'matched', withdrawal.id],
        [3, 'matched', reversal.id],
      ],
    );
    // Adyen names the payment (Psp Reference) and the dispute (Modification Reference).
    const adyenCsv = adyenReport([
      {
        type: 'Chargeback',
        created: at,
        psp: `sbx_x`,
        merchantRef: pi.id,
        modificationRef: `sbxdp_${charge}`,
        currency: 'usd',
        grossDebit: 4200,
        netDebit: 4200,
      },
      {
        type: 'ChargebackReversed',
        created: at,
        psp: `sbx_x`,
        merchantRef: pi.id,
        modificationRef: `sbxdp_${charge}`,
        currency: 'usd',
        grossCredit: 4200,
        netCredit: 4200,
      },
    ]);
    const adyen = await upload(t, { type: 'adyen_settlement_details', content: adyenCsv });
    assert.equal(adyen.status, 200, JSON.stringify(adyen.json));
    const adyenLines = await api(t, 'GET', `/v1/reconciliations/${adyen.json.id}/lines`);
    assert.deepEqual(adyenLines.json.data.map((l: Json) => [l.status, l.match?.id]).sort(), [
      ['matched', withdrawal.id],
      ['matched', reversal.id],
    ]);
  });

  test('settlement batches net the dispute with the charge', async () => {
    const settled = await startEngine({ env: { PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0' } });
    try {
      await disputedPayment(settled, 2500);
      const balance = await settled.stripe.balance.retrieve();
      const usd = (list: Array<{ currency: string; amount: number }>) =>
        list.find((b) => b.currency === 'usd')?.amount ?? 0;
      assert.equal(usd(balance.available), 0);
      assert.equal(usd(balance.pending), 0);
      const batches = await api(settled, 'GET', '/v1/settlement_batches');
      assert.equal(batches.status, 200);
      const batch = batches.json.data[0] as Json;
      assert.equal(batch.gross, 0);
      assert.equal(batch.count, 2);
      await assertBooksVerify(settled);
    } finally {
      await settled.close();
    }
  });
});

describe('disputes: processor notices (psp-sim)', () => {
  let t: TestEngine;
  let sim: PspSim;
  let dir: string;
  let conn: string;
  const apiKey = 'key_dispute_sim';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-disputes-sim-'));
    sim = await startPspSim({ port: await freePort(), name: 'dsim', dataDir: dir, apiKey });
    t = await startEngine({ env: { PAYRAIL_PROBE_INTERVAL_MS: '3600000' } });
    const created = await api(t, 'POST', '/v1/connectors', {
      type: 'psp_sim',
      name: 'dsim',
      base_url: sim.url,
      credentials: { api_key: apiKey },
      fees: { percent: '2.9', fixed: 30 },
      dispute_fee: 1500,
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.dispute_fee, 1500);
    conn = created.json.id;
    const routing = await api(t, 'POST', '/v1/routing', {
      strategies: [{ type: 'priority', connectors: [conn] }],
    });
    assert.equal(routing.status, 200, JSON.stringify(routing.json));
  });
  after(async () => {
    await t?.close();
    await sim?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function simCharge(intentId: string): Promise<Json> {
    const response = await fetch(`${sim.controlUrl}/_sim/charges`);
    const { charges } = (await response.json()) as { charges: Json[] };
    const found = charges.find((c) => c.payment_reference === intentId);
    assert.ok(found, `psp-sim charged ${intentId}`);
    return found;
  }

  async function signedDispute(chargeId: string, body: Json): Promise<Json> {
    const response = await fetch(`${sim.controlUrl}/_sim/charges/${chargeId}/dispute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Json;
  }

  async function deliver(signed: Json) {
    const response = await fetch(`${t.url}/v1/connector_webhooks/${conn}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [signed.header]: signed.signature },
      body: signed.raw_body,
    });
    return { status: response.status, json: (await response.json()) as Json };
  }

  test('a chargeback notice opens a dispute with the fee; a repeat changes nothing', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 10000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    assert.equal(pi.status, 'succeeded');
    const pendingBefore = await pendingBalance(t, 'usd');
    const charge = await simCharge(pi.id);
    const signed = await signedDispute(charge.id, { amount: 4000, reason: 'product_not_received' });
    const first = await deliver(signed);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.json.disputes, 1);
    const repeat = await deliver(signed);
    assert.equal(repeat.status, 200);
    assert.equal(repeat.json.disputes, 0);
    const list = await t.stripe.disputes.list({ payment_intent: pi.id });
    assert.equal(list.data.length, 1, 'one dispute for the repeated notice');
    const dispute = list.data[0]!;
    assert.equal(dispute.status, 'needs_response');
    assert.equal(dispute.reason, 'product_not_received');
    assert.equal(dispute.amount, 4000);
    assert.equal((dispute as unknown as Json).connector, conn);
    assert.deepEqual(
      dispute.balance_transactions.map((b) => [b.amount, b.fee, b.net]),
      [[-4000, 1500, -5500]],
    );
    assert.equal(dispute.balance_transactions[0]?.fee_details[0]?.amount, 1500);
    assert.equal(await pendingBalance(t, 'usd'), pendingBefore - 5500);
    await assertBooksVerify(t);

    // Won at the processor: the amount comes back, the fee does not.
    const won = await deliver(
      await signedDispute(charge.id, { dispute: signed.notice.id, status: 'won' }),
    );
    assert.equal(won.json.disputes, 1);
    const after = await t.stripe.disputes.retrieve(dispute.id);
    assert.equal(after.status, 'won');
    assert.equal(await pendingBalance(t, 'usd'), pendingBefore - 1500);
    // A late "needs_response" for the closed dispute is ignored.
    const late = await deliver(signed);
    assert.equal(late.json.disputes, 0);
    assert.equal((await t.stripe.disputes.retrieve(dispute.id)).status, 'won');
    assert.deepEqual(await eventTypes(t, dispute.id), [
      'charge.dispute.created',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.closed',
      'charge.dispute.funds_reinstated',
    ]);
    await assertBooksVerify(t);
  });

  test('an inquiry (warning) moves no money until it becomes a chargeback', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 2000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const charge = await simCharge(pi.id);
    const warning = await signedDispute(charge.id, { status: 'warning_needs_response' });
    assert.equal((await deliver(warning)).json.disputes, 1);
    const [inquiry] = (await t.stripe.disputes.list({ payment_intent: pi.id })).data;
    assert.equal(inquiry?.status, 'warning_needs_response');
    assert.equal(inquiry?.is_charge_refundable, true);
    assert.equal(inquiry?.balance_transactions.length, 0);
    const chargeback = await signedDispute(charge.id, { dispute: warning.notice.id });
    assert.equal((await deliver(chargeback)).json.disputes, 1);
    const now = await t.stripe.disputes.retrieve(String(inquiry?.id));
    assert.equal(now.status, 'needs_response');
    assert.equal(now.balance_transactions.length, 1);
    await assertBooksVerify(t);
  });

  test('second cycle: second chargeback and pre-arbitration won move funds again', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
    });
    const charge = await simCharge(pi.id);
    const opened = await signedDispute(charge.id, {});
    await deliver(opened);
    const id = opened.notice.id;
    await deliver(await signedDispute(charge.id, { dispute: id, status: 'won' }));
    await deliver(await signedDispute(charge.id, { dispute: id, status: 'lost', cycle: 2 }));
    await deliver(await signedDispute(charge.id, { dispute: id, status: 'won', cycle: 2 }));
    const [dispute] = (await t.stripe.disputes.list({ payment_intent: pi.id })).data;
    assert.equal(dispute?.status, 'won');
    assert.deepEqual(
      dispute?.balance_transactions.map((b) => [b.reporting_category, b.amount, b.fee]),
      [
        ['dispute', -3000, 1500],
        ['dispute_reversal', 3000, 0],
        ['dispute', -3000, 0],
        ['dispute_reversal', 3000, 0],
      ],
    );
    await assertBooksVerify(t);
  });
});
