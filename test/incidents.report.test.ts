import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Scope } from '../src/db/context.ts';
import { toJson } from '../src/db/database.ts';
import type { PaymentAttemptsTable, PaymentIntentsTable } from '../src/db/schema.ts';
import { insertConnector } from '../src/incidents/testing.ts';
import { newId } from '../src/lib/ids.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// The post-incident report, computed from payment_attempts and
// payment_intents rows the test writes itself (the payment path is not
// involved): each intent below is one case the report must classify.

const MIN = 60_000;

describe('incidents: post-incident report', () => {
  let t: TestEngine;
  let scope: Scope;
  let primary: string;
  let backup: string;
  let incidentId: string;
  const t0 = Date.now() - 60 * MIN;
  const startedMs = t0 + 10 * MIN;
  const resolvedMs = t0 + 40 * MIN;
  const at = (minutes: number) => t0 + minutes * MIN;

  const db = () => t.engine.database.db;

  async function intent(
    status: string,
    options: { amount?: number; currency?: string; secondaryAtMs?: number } = {},
  ): Promise<string> {
    const id = newId('pi');
    const row: PaymentIntentsTable = {
      id,
      account_id: scope.accountId,
      livemode: 0,
      amount: options.amount ?? 1000,
      currency: options.currency ?? 'eur',
      status,
      capture_method: 'automatic',
      confirmation_method: 'automatic',
      customer_id: null,
      payment_method_id: null,
      payment_method_types: toJson(['card']),
      description: null,
      receipt_email: null,
      statement_descriptor: null,
      setup_future_usage: null,
      metadata: '{}',
      amount_capturable: 0,
      amount_received: 0,
      latest_charge: null,
      last_payment_error: null,
      next_action: null,
      cancellation_reason: null,
      canceled_at: null,
      client_secret: `${id}_secret_x`,
      return_url: null,
      version: 1,
      created: Math.floor(at(5) / 1000),
      secondary_method:
        options.secondaryAtMs === undefined
          ? null
          : toJson({
              type: 'bank_transfer',
              reference: 'PR-123',
              offered_at_ms: options.secondaryAtMs,
              reason: 'no card processor available',
            }),
    };
    await db().insertInto('payment_intents').values(row).execute();
    return id;
  }

  async function attempt(
    intentId: string,
    connector: string,
    status: PaymentAttemptsTable['status'],
    minutes: number,
    extra: Partial<PaymentAttemptsTable> = {},
  ): Promise<string> {
    const id = newId('pa');
    await db()
      .insertInto('payment_attempts')
      .values({
        id,
        account_id: scope.accountId,
        livemode: 0,
        payment_intent_id: intentId,
        operation: 'authorize',
        connector,
        connector_reference: null,
        status,
        amount: 1000,
        currency: 'eur',
        error_code: status === 'failed_retryable' ? 'processor_unreachable' : null,
        decline_code: null,
        error_message: null,
        routing_reason: 'test',
        latency_ms: 10,
        refund_id: null,
        instance_id: null,
        created_ms: at(minutes),
        completed_ms: status === 'pending' ? null : at(minutes) + 500,
        unknown_at_ms: null,
        resolution: null,
        reverses_attempt_id: null,
        ...extra,
      })
      .execute();
    return id;
  }

  const ids: Record<string, string> = {};

  before(async () => {
    t = await startEngine();
    scope = { accountId: t.accountId, livemode: false };
    primary = await insertConnector(db(), scope, { name: 'Primary', paymentMethodTypes: ['card'] });
    backup = await insertConnector(db(), scope, { name: 'Backup', paymentMethodTypes: ['card'] });
    incidentId = newId('inc');
    await db()
      .insertInto('incidents')
      .values({
        id: incidentId,
        account_id: scope.accountId,
        livemode: 0,
        connector_id: primary,
        source: 'automatic',
        title: 'Payments through Primary are failing',
        impact: 'partial_outage',
        status: 'resolved',
        started_ms: startedMs,
        resolved_ms: resolvedMs,
        metadata: '{}',
        created: Math.floor(startedMs / 1000),
      })
      .execute();
    for (const [kind, status, minutes] of [
      ['opened', 'investigating', 10],
      ['recovered', 'resolved', 40],
    ] as const) {
      await db()
        .insertInto('incident_updates')
        .values({
          id: newId('iu', at(minutes)),
          incident_id: incidentId,
          kind,
          status,
          message: `${kind} | step`,
          created_ms: at(minutes),
        })
        .execute();
    }

    // Rerouted: failed on the primary, then succeeded on the backup.
    ids.rerouted = await intent('succeeded', { amount: 1000 });
    await attempt(ids.rerouted, primary, 'failed_retryable', 12);
    await attempt(ids.rerouted, backup, 'succeeded', 12, { amount: 1000 });
    // Unknown on the primary, charged on the backup; the extra charge was reversed.
    ids.unknown = await intent('succeeded', { amount: 2500, currency: 'usd' });
    ids.unknownAttempt = await attempt(ids.unknown, primary, 'unknown', 15, {
      error_code: 'timeout',
      unknown_at_ms: at(15) + 100,
      resolution: 'charged; extra charge reversed by pa_reverse',
      completed_ms: at(20),
    });
    await attempt(ids.unknown, backup, 'succeeded', 16, { amount: 2500, currency: 'usd' });
    ids.reverse = await attempt(ids.unknown, primary, 'succeeded', 20, {
      operation: 'reverse',
      reverses_attempt_id: ids.unknownAttempt,
    });
    // Fell back to the secondary method: not lost.
    ids.secondary = await intent('requires_payment_method', {
      amount: 4000,
      secondaryAtMs: at(18),
    });
    await attempt(ids.secondary, primary, 'failed_retryable', 18);
    // Lost: failed only because of the outage, nothing offered instead.
    ids.lostFailed = await intent('requires_payment_method');
    await attempt(ids.lostFailed, primary, 'failed_retryable', 22);
    // Lost: stuck in processing with nothing in flight.
    ids.lostStuck = await intent('processing');
    await attempt(ids.lostStuck, primary, 'failed_retryable', 25, { error_code: 'http_503' });
    // Not lost: still in flight on the backup.
    ids.inFlight = await intent('processing');
    await attempt(ids.inFlight, primary, 'failed_retryable', 26);
    await attempt(ids.inFlight, backup, 'pending', 26);
    // Declined: the bank said no, not the outage. Not counted anywhere.
    ids.declined = await intent('requires_payment_method');
    await attempt(ids.declined, primary, 'declined', 27, { error_code: 'card_declined' });
    // Before the window, and on another connector in the window: not counted.
    ids.early = await intent('requires_payment_method');
    await attempt(ids.early, primary, 'failed_retryable', 5);
    // The primary's last success before the outage: the report counts from just after it.
    const lastGood = await intent('succeeded');
    await attempt(lastGood, primary, 'succeeded', 7);
    ids.otherConnector = await intent('requires_payment_method');
    await attempt(ids.otherConnector, backup, 'failed_retryable', 30);
    // Offered a secondary method outside the window: not counted.
    await intent('requires_payment_method', { secondaryAtMs: at(50) });
  });
  after(async () => {
    await t.close();
  });

  test('JSON: duration, failures by code, rerouted, secondary, lost, unknown outcomes, timeline', async () => {
    const res = await rawRequest(t, 'GET', `/v1/incidents/${incidentId}/report`);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const r = res.json;
    assert.equal(r.object, 'incident_report');
    assert.equal(r.incident, incidentId);
    assert.equal(r.started, Math.floor(startedMs / 1000));
    assert.equal(r.resolved, Math.floor(resolvedMs / 1000));
    assert.equal(r.duration_seconds, 30 * 60);
    assert.deepEqual(r.attempts_failed, {
      count: 6,
      by_code: { processor_unreachable: 4, timeout: 1, http_503: 1 },
    });
    assert.deepEqual(r.payments_rerouted, { count: 2, amount: { eur: 1000, usd: 2500 } });
    assert.deepEqual(r.payments_secondary_method, { count: 1, amount: { eur: 4000 } });
    assert.deepEqual(r.payments_lost, {
      count: 2,
      ids: [ids.lostFailed, ids.lostStuck],
    });
    assert.deepEqual(r.unknown_outcomes, [
      {
        attempt: ids.unknownAttempt,
        payment_intent: ids.unknown,
        connector: primary,
        unknown_at: Math.floor((at(15) + 100) / 1000),
        resolved_at: Math.floor(at(20) / 1000),
        resolution: 'charged; extra charge reversed by pa_reverse',
        reversed_by: ids.reverse,
      },
    ]);
    assert.deepEqual(
      r.timeline.map((u: { kind: string }) => u.kind),
      ['opened', 'recovered'],
    );
    assert.deepEqual(r.truncated, []);
  });

  test('Markdown: the same facts, as text/markdown', async () => {
    const res = await fetch(`${t.url}/v1/incidents/${incidentId}/report?format=markdown`, {
      headers: { authorization: `Bearer ${t.secretKey}` },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/markdown/);
    const text = await res.text();
    assert.match(text, /^# Post-incident report: Payments through Primary are failing/);
    assert.match(text, /Duration: 30m 0s/);
    assert.match(text, /Attempts failed: 6/);
    assert.match(text, /`processor_unreachable`: 4/);
    assert.match(text, /rerouted to another processor: 2 payments \(10\.00 EUR, 25\.00 USD\)/);
    assert.match(text, /secondary method: 1 payment \(40\.00 EUR\)/);
    assert.match(text, new RegExp(`Payments lost: 2 — MUST BE ZERO: ${ids.lostFailed}`));
    assert.match(text, new RegExp(`\\| ${ids.unknownAttempt} \\| ${ids.unknown} \\|`));
    assert.match(text, /opened \\\| step/, 'pipes in operator text are escaped');
  });

  test('an open incident without a connector covers every connector up to now', async () => {
    const created = await rawRequest(t, 'POST', '/v1/incidents', {
      body: 'title=Everything&impact=major_outage&message=Looking',
    });
    assert.equal(created.status, 200);
    const id = created.json.id;
    // Its window starts now: move it back to cover the test's rows.
    await db()
      .updateTable('incidents')
      .set({ started_ms: startedMs })
      .where('id', '=', id)
      .execute();
    const r = (await rawRequest(t, 'GET', `/v1/incidents/${id}/report`)).json;
    assert.equal(r.resolved, null);
    assert.ok(r.duration_seconds >= 50 * 60 - 5, String(r.duration_seconds));
    // The backup's failure now counts too.
    assert.equal(r.attempts_failed.count, 7);
    assert.equal(r.payments_lost.count, 3);
    assert.ok(r.payments_lost.ids.includes(ids.otherConnector));
  });

  test('errors: unknown incident 404, bad format 400 naming it', async () => {
    const missing = await rawRequest(t, 'GET', '/v1/incidents/inc_nope00000000000000000000/report');
    assert.equal(missing.status, 404);
    const bad = await rawRequest(t, 'GET', `/v1/incidents/${incidentId}/report?format=pdf`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'format');
  });

  test(`lists are bounded: more than ${LIMITS.incidentReportListMax} lost payments are cut and named`, async () => {
    const connector = await insertConnector(db(), scope, {
      name: 'Many',
      paymentMethodTypes: ['card'],
    });
    const id = newId('inc');
    await db()
      .insertInto('incidents')
      .values({
        id,
        account_id: scope.accountId,
        livemode: 0,
        connector_id: connector,
        source: 'manual',
        title: 'Many',
        impact: 'major_outage',
        status: 'resolved',
        started_ms: startedMs,
        resolved_ms: resolvedMs,
        metadata: '{}',
        created: 0,
      })
      .execute();
    const n = LIMITS.incidentReportListMax + 1;
    for (let i = 0; i < n; i++) {
      const pi = await intent('requires_payment_method');
      await attempt(pi, connector, 'failed_retryable', 20);
    }
    const r = (await rawRequest(t, 'GET', `/v1/incidents/${id}/report`)).json;
    assert.equal(r.payments_lost.count, n);
    assert.equal(r.payments_lost.ids.length, LIMITS.incidentReportListMax);
    assert.deepEqual(r.truncated, ['payments_lost']);
  });
});
