import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fromAdyenDisputeItem,
  fromAdyenNotificationItemNotice,
} from '../connectors/adyen/transformers.ts';
import { fromPspSimNotices } from '../connectors/psp-sim/transformers.ts';
import { fromStripeDispute, fromStripeEventNotices } from '../connectors/stripe/transformers.ts';
import { disputeRank, fundsMovesFor } from './states.ts';

// The processors' dispute notices, parsed (signatures are checked by each
// connector before these run; see the connectors' tests and
// test/disputes.error.test.ts), and the dispute state rules.

describe('stripe dispute events', () => {
  const dispute = {
    id: 'du_1',
    object: 'dispute',
    charge: 'ch_9',
    payment_intent: 'pi_9',
    amount: 1234,
    currency: 'EUR',
    reason: 'fraudulent',
    status: 'needs_response',
    network_reason_code: '10.4',
    evidence_details: { due_by: 1_900_000_000 },
  };

  test('each charge.dispute.* event gives the dispute as it stands', () => {
    for (const type of [
      'charge.dispute.created',
      'charge.dispute.updated',
      'charge.dispute.closed',
      'charge.dispute.funds_withdrawn',
      'charge.dispute.funds_reinstated',
    ]) {
      const notices = fromStripeEventNotices({ id: 'evt_1', type, data: { object: dispute } });
      assert.deepEqual(notices, [
        {
          kind: 'dispute',
          disputeReference: 'du_1',
          paymentReferences: ['pi_9', 'ch_9'],
          status: 'needs_response',
          cycle: 1,
          amountMinor: 1234,
          currency: 'eur',
          reason: 'fraudulent',
          networkReasonCode: '10.4',
          evidenceDueBy: 1_900_000_000,
        },
      ]);
    }
  });

  test('unknown reasons become general; unmodelled statuses give no notice', () => {
    assert.equal(fromStripeDispute({ ...dispute, reason: 'something_new' })?.reason, 'general');
    assert.equal(fromStripeDispute({ ...dispute, status: 'prevented' }), null);
    assert.equal(fromStripeDispute({ ...dispute, status: 'appeal_needs_response' }), null);
  });

  test('attempt events keep their shape, as attempt notices', () => {
    const notices = fromStripeEventNotices({
      id: 'evt_2',
      type: 'payment_intent.succeeded',
      data: {
        object: { id: 'pi_1', status: 'succeeded', metadata: { payrail_reference: 'pa_1' } },
      },
    });
    assert.deepEqual(notices, [
      {
        kind: 'attempt',
        reference: 'pa_1',
        operation: 'authorize',
        outcome: { status: 'succeeded', connectorReference: 'pi_1' },
      },
    ]);
  });
});

describe('adyen dispute notifications', () => {
  const item = (eventCode: string, additionalData: Record<string, string> = {}) => ({
    eventCode,
    success: 'true',
    pspReference: 'DISPUTEPSP',
    originalReference: 'PAYMENTPSP',
    merchantReference: 'pa_ref',
    amount: { value: 500, currency: 'EUR' },
    additionalData: { hmacSignature: 'x', ...additionalData },
  });

  test('event codes map to statuses and cycles', () => {
    const cases: Array<[string, Record<string, string>, string, number]> = [
      ['NOTIFICATION_OF_CHARGEBACK', {}, 'warning_needs_response', 1],
      ['CHARGEBACK', {}, 'needs_response', 1],
      ['CHARGEBACK', { disputeStatus: 'Responded' }, 'under_review', 1],
      ['CHARGEBACK', { disputeStatus: 'Accepted' }, 'lost', 1],
      ['CHARGEBACK_REVERSED', {}, 'won', 1],
      ['SECOND_CHARGEBACK', {}, 'lost', 2],
      ['PREARBITRATION_WON', {}, 'won', 2],
      ['PREARBITRATION_LOST', {}, 'lost', 2],
    ];
    for (const [code, data, status, cycle] of cases) {
      const notice = fromAdyenDisputeItem(item(code, data));
      assert.equal(notice?.status, status, code);
      assert.equal(notice?.cycle, cycle, code);
      assert.equal(notice?.disputeReference, 'DISPUTEPSP');
      assert.deepEqual(notice?.paymentReferences, ['PAYMENTPSP', 'pa_ref']);
      assert.equal(notice?.amountMinor, 500);
      assert.equal(notice?.currency, 'eur');
    }
  });

  test('reason codes, due date; other event codes stay attempt notices or nothing', () => {
    const notice = fromAdyenDisputeItem(
      item('CHARGEBACK', {
        chargebackReasonCode: '4837',
        defensePeriodEndsAt: '2030-01-02T03:04:05+01:00',
      }),
    );
    assert.equal(notice?.reason, 'fraudulent');
    assert.equal(notice?.networkReasonCode, '4837');
    assert.equal(notice?.evidenceDueBy, Date.parse('2030-01-02T02:04:05Z') / 1000);
    assert.equal(
      fromAdyenDisputeItem(item('CHARGEBACK', { chargebackReasonCode: 'zz' }))?.reason,
      'general',
    );
    assert.equal(fromAdyenDisputeItem({ ...item('CHARGEBACK'), success: 'false' }), null);
    assert.equal(fromAdyenNotificationItemNotice(item('REPORT_AVAILABLE')), null);
    assert.equal(fromAdyenNotificationItemNotice(item('CAPTURE'))?.kind, 'attempt');
  });
});

describe('psp-sim dispute notices', () => {
  test('an object "dispute" body is a dispute notice; bad ones name the field', () => {
    const body = {
      object: 'dispute',
      id: 'simdp_1',
      charge: 'simch_1',
      reference: 'pa_1',
      status: 'under_review',
      amount: 700,
      currency: 'usd',
      reason: 'duplicate',
      evidence_due_by: 123,
    };
    assert.deepEqual(fromPspSimNotices(JSON.stringify(body)), [
      {
        kind: 'dispute',
        disputeReference: 'simdp_1',
        paymentReferences: ['simch_1', 'pa_1'],
        status: 'under_review',
        cycle: 1,
        amountMinor: 700,
        currency: 'usd',
        reason: 'duplicate',
        networkReasonCode: null,
        evidenceDueBy: 123,
      },
    ]);
    assert.throws(
      () => fromPspSimNotices(JSON.stringify({ ...body, status: 'pending' })),
      /dispute notice is invalid: status/,
    );
    assert.throws(
      () => fromPspSimNotices(JSON.stringify({ ...body, amount: -1 })),
      /dispute notice is invalid: amount/,
    );
    assert.throws(() => fromPspSimNotices('{"object":"dispute"'), /not JSON/);
    const attempt = { reference: 'pa_2', operation: 'refund', status: 'succeeded', id: 'simre_1' };
    assert.equal(fromPspSimNotices(JSON.stringify(attempt))[0]?.kind, 'attempt');
  });
});

describe('dispute states', () => {
  test('funds moves follow the status and cycle', () => {
    assert.equal(fundsMovesFor('warning_needs_response', 1), 0);
    assert.equal(fundsMovesFor('warning_closed', 1), 0);
    assert.equal(fundsMovesFor('needs_response', 1), 1);
    assert.equal(fundsMovesFor('under_review', 1), 1);
    assert.equal(fundsMovesFor('lost', 1), 1);
    assert.equal(fundsMovesFor('won', 1), 2);
    assert.equal(fundsMovesFor('lost', 2), 3);
    assert.equal(fundsMovesFor('won', 2), 4);
  });

  test('ranks only move forward: lost may still be won, won is lost only in a second cycle', () => {
    assert.ok(disputeRank('needs_response', 1) > disputeRank('warning_closed', 1));
    assert.ok(disputeRank('won', 1) > disputeRank('lost', 1));
    assert.ok(disputeRank('lost', 2) > disputeRank('won', 1));
    assert.ok(disputeRank('under_review', 1) < disputeRank('won', 1));
  });
});
