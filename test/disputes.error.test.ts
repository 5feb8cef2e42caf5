import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Stripe from 'stripe';
import { verifyLedger } from '../src/ledger/verify.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

// Disputes refuse what their state or the request does not allow, with the
// param named and nothing written; processor notices that fail their
// signature are refused and change nothing.

async function counts(t: TestEngine) {
  const base = await tableCounts(t);
  for (const table of ['disputes', 'ledger_transactions', 'idempotency_keys'] as const) {
    const row = await t.engine.database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    base[table] = Number(row.n);
  }
  return base;
}

async function post(t: TestEngine, urlPath: string, body: unknown, key?: string) {
  return rawRequest(t, 'POST', urlPath, {
    body: JSON.stringify(body),
    contentType: 'application/json',
    headers: key ? { 'idempotency-key': key } : {},
  });
}

describe('disputes: errors', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  async function openDispute(amount = 1000) {
    const pi = await t.stripe.paymentIntents.create({
      amount,
      currency: 'usd',
      payment_method: 'pm_card_createDispute',
      confirm: true,
    });
    const [dispute] = (await t.stripe.disputes.list({ payment_intent: pi.id })).data;
    assert.ok(dispute);
    return dispute;
  }

  test('evidence on a closed dispute is refused, naming its status; nothing changes', async () => {
    const dispute = await openDispute();
    await t.stripe.disputes.close(dispute.id);
    const before = await counts(t);
    const res = await post(t, `/v1/disputes/${dispute.id}`, {
      evidence: { uncategorized_text: 'winning_evidence' },
    });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'dispute_unexpected_state');
    assert.equal(res.json.error.param, 'evidence');
    assert.match(res.json.error.message, /is lost/);
    const closeAgain = await post(t, `/v1/disputes/${dispute.id}/close`, {});
    assert.equal(closeAgain.status, 400);
    assert.equal(closeAgain.json.error.code, 'dispute_unexpected_state');
    assert.match(closeAgain.json.error.message, /is lost/);
    assert.deepEqual(await counts(t), before);
    assert.equal((await t.stripe.disputes.retrieve(dispute.id)).status, 'lost');
  });

  test('a charged-back charge cannot be refunded as well; nothing changes', async () => {
    const dispute = await openDispute(1500);
    const before = await counts(t);
    const charge = await t.engine.database.db
      .selectFrom('charges')
      .select('amount_refunded')
      .where('id', '=', String(dispute.charge))
      .executeTakeFirstOrThrow();
    for (const body of [{ charge: dispute.charge }, { payment_intent: dispute.payment_intent }]) {
      const res = await post(t, '/v1/refunds', body);
      assert.equal(res.status, 400);
      assert.equal(res.json.error.code, 'charge_disputed');
      assert.equal(res.json.error.param, 'charge');
      assert.match(res.json.error.message, new RegExp(dispute.id));
    }
    assert.deepEqual(await counts(t), before);
    const after = await t.engine.database.db
      .selectFrom('charges')
      .select('amount_refunded')
      .where('id', '=', String(dispute.charge))
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.amount_refunded), Number(charge.amount_refunded));
    assert.equal((await verifyLedger(t.engine.database.db)).ok, true);
  });

  test('submitting twice is refused once the dispute is under review', async () => {
    const dispute = await openDispute();
    await t.stripe.disputes.update(dispute.id, { evidence: { receipt: 'file_123' } });
    const before = await counts(t);
    const res = await post(t, `/v1/disputes/${dispute.id}`, { submit: true });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.param, 'submit');
    assert.match(res.json.error.message, /under_review/);
    assert.deepEqual(await counts(t), before);
  });

  test('an unknown evidence field is named and nothing changes', async () => {
    const dispute = await openDispute();
    const before = await counts(t);
    const cases: Array<[unknown, string, string]> = [
      [{ evidence: { favourite_color: 'blue' } }, 'evidence[favourite_color]', 'parameter_unknown'],
      [
        { evidence: { uncategorized_text: 'x'.repeat(LIMITS.disputeEvidenceFieldLengthMax + 1) } },
        'evidence[uncategorized_text]',
        'parameter_invalid',
      ],
      [
        { evidence: { customer_name: { first: 'J' } } },
        'evidence[customer_name]',
        'parameter_invalid',
      ],
      [{ submit: 'maybe' }, 'submit', 'parameter_invalid'],
      [{ amount: 5 }, 'amount', 'parameter_unknown'],
    ];
    for (const [body, param, code] of cases) {
      const res = await post(t, `/v1/disputes/${dispute.id}`, body, `bad-${param}`);
      assert.equal(res.status, 400, `${param}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.param, param);
      if (code !== 'parameter_invalid') assert.equal(res.json.error.code, code);
    }
    assert.deepEqual(await counts(t), before);
    const unchanged = await t.stripe.disputes.retrieve(dispute.id);
    assert.equal(unchanged.status, 'needs_response');
    assert.equal(unchanged.evidence_details.has_evidence, false);
  });

  test('evidence over the combined limit is refused as a whole', async () => {
    const dispute = await openDispute();
    const long = 'y'.repeat(LIMITS.disputeEvidenceFieldLengthMax);
    const evidence = Object.fromEntries(
      ['product_description', 'uncategorized_text', 'refund_policy_disclosure', 'customer_name']
        .concat([
          'cancellation_rebuttal',
          'access_activity_log',
          'service_date',
          'shipping_address',
        ])
        .map((f) => [f, long]),
    );
    const before = await counts(t);
    const res = await post(t, `/v1/disputes/${dispute.id}`, { evidence });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.param, 'evidence');
    assert.deepEqual(await counts(t), before);
  });

  test('unknown disputes are 404; bad list filters are named', async () => {
    for (const [method, path] of [
      ['GET', '/v1/disputes/du_missing'],
      ['POST', '/v1/disputes/du_missing'],
      ['POST', '/v1/disputes/du_missing/close'],
    ] as const) {
      const res = await rawRequest(t, method, path, method === 'POST' ? { body: '' } : {});
      assert.equal(res.status, 404, path);
      assert.equal(res.json.error.code, 'resource_missing');
    }
    const bad = await rawRequest(t, 'GET', '/v1/disputes?limit=1000');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'limit');
    const other = await rawRequest(t, 'GET', '/v1/disputes?status=lost');
    assert.equal(other.json.error.param, 'status');
  });

  test('processor notices with a bad signature are refused and change nothing', async () => {
    // Before the processors exist: routing would otherwise try them for this payment.
    const dispute = await openDispute();
    const stripeConn = await post(t, '/v1/connectors', {
      type: 'stripe',
      name: 'stripe-notices',
      credentials: { secret_key: 'sk_test_notices', webhook_secret: 'whsec_right' },
    });
    assert.equal(stripeConn.status, 200, JSON.stringify(stripeConn.json));
    const adyenConn = await post(t, '/v1/connectors', {
      type: 'adyen',
      name: 'adyen-notices',
      base_url: 'http://127.0.0.1:9',
      credentials: {
        api_key: 'adyen_key',
        merchant_account: 'PayrailTest',
        hmac_key: '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056',
      },
    });
    assert.equal(adyenConn.status, 200, JSON.stringify(adyenConn.json));
    const simConn = await post(t, '/v1/connectors', {
      type: 'psp_sim',
      name: 'sim-notices',
      base_url: 'http://127.0.0.1:9',
      credentials: { api_key: 'sim_right' },
    });
    assert.equal(simConn.status, 200, JSON.stringify(simConn.json));
    const disputeObject = {
      id: 'du_processor',
      object: 'dispute',
      charge: dispute.charge,
      payment_intent: dispute.payment_intent,
      amount: 1000,
      currency: 'usd',
      reason: 'fraudulent',
      status: 'needs_response',
    };
    const stripeBody = JSON.stringify({
      id: 'evt_d',
      object: 'event',
      type: 'charge.dispute.created',
      data: { object: disputeObject },
    });
    const sign = (secret: string) =>
      new Stripe('sk_test_x').webhooks.generateTestHeaderString({ payload: stripeBody, secret });
    const adyenBody = JSON.stringify({
      live: 'false',
      notificationItems: [
        {
          NotificationRequestItem: {
            eventCode: 'CHARGEBACK',
            success: 'true',
            pspReference: 'DISPUTE1',
            originalReference: 'PAYMENT1',
            merchantAccountCode: 'PayrailTest',
            merchantReference: 'pa_x',
            amount: { value: 1000, currency: 'USD' },
            additionalData: { hmacSignature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
          },
        },
      ],
    });
    const simBody = JSON.stringify({
      object: 'dispute',
      id: 'simdp_x',
      charge: dispute.charge,
      status: 'needs_response',
      amount: 1000,
      currency: 'usd',
    });
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, Record<string, string>]> = [
      [stripeConn.json.id, stripeBody, { 'stripe-signature': sign('whsec_wrong') }],
      [stripeConn.json.id, stripeBody, {}],
      [adyenConn.json.id, adyenBody, {}],
      [simConn.json.id, simBody, { 'pspsim-signature': `t=${now},v1=${'0'.repeat(64)}` }],
      [simConn.json.id, simBody, {}],
    ];
    const before = await counts(t);
    for (const [conn, body, headers] of cases) {
      const res = await rawRequest(t, 'POST', `/v1/connector_webhooks/${conn}`, {
        body,
        contentType: 'application/json',
        headers,
        key: null,
      });
      assert.equal(res.status, 400, `${conn}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.code, 'connector_notice_invalid');
    }
    // Correctly signed, but about a charge this connector never made: acknowledged, ignored.
    const ignored = await rawRequest(t, 'POST', `/v1/connector_webhooks/${stripeConn.json.id}`, {
      body: stripeBody,
      contentType: 'application/json',
      headers: { 'stripe-signature': sign('whsec_right') },
      key: null,
    });
    assert.equal(ignored.status, 200, JSON.stringify(ignored.json));
    assert.equal(ignored.json.disputes, 0);
    assert.deepEqual(await counts(t), before);
    const report = await verifyLedger(t.engine.database.db);
    assert.deepEqual(report.problems, []);
  });
});
