import { livemodeFlag, type Scope } from '../db/context.ts';
import { type Db, fromJson } from '../db/database.ts';
import type { IncidentsTable, PaymentAttemptsTable } from '../db/schema.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import { type ApiIncidentUpdate, serializeUpdate, toSeconds } from './serialize.ts';
import { updatesOf } from './store.ts';

// The post-incident report: what the outage cost and what the engine did about
// it, computed from the payment attempts and intents of the incident's window
// [started, resolved or now] on the incident's connector (every connector for
// an incident without one). Every scan is bounded; a list cut short is named
// in `truncated`.

export interface AmountsByCurrency {
  count: number;
  /** Minor units per lowercase currency code. */
  amount: Record<string, number>;
}

export interface UnknownOutcome {
  attempt: string;
  payment_intent: string;
  connector: string;
  unknown_at: number;
  resolved_at: number | null;
  resolution: string | null;
  /** The `reverse` attempt that voided or refunded an extra charge, if any. */
  reversed_by: string | null;
}

export interface IncidentReport {
  object: 'incident_report';
  incident: string;
  title: string;
  impact: string;
  status: string;
  source: string;
  connector: string | null;
  livemode: boolean;
  started: number;
  resolved: number | null;
  duration_seconds: number;
  attempts_failed: { count: number; by_code: Record<string, number> };
  payments_rerouted: AmountsByCurrency;
  payments_secondary_method: AmountsByCurrency;
  payments_lost: { count: number; ids: string[] };
  unknown_outcomes: UnknownOutcome[];
  timeline: ApiIncidentUpdate[];
  /** Names of the figures computed from a bounded part of the data. */
  truncated: string[];
  generated: number;
}

type Attempt = Pick<
  PaymentAttemptsTable,
  | 'id'
  | 'payment_intent_id'
  | 'connector'
  | 'operation'
  | 'status'
  | 'error_code'
  | 'amount'
  | 'currency'
  | 'created_ms'
  | 'completed_ms'
  | 'unknown_at_ms'
  | 'resolution'
>;

const ATTEMPT_COLUMNS = [
  'id',
  'payment_intent_id',
  'connector',
  'operation',
  'status',
  'error_code',
  'amount',
  'currency',
  'created_ms',
  'completed_ms',
  'unknown_at_ms',
  'resolution',
] as const;

/** Parameters per IN list: far below SQLite's and PostgreSQL's bind limits. */
const IN_CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += IN_CHUNK) out.push(items.slice(i, i + IN_CHUNK));
  return out;
}

function addAmount(into: AmountsByCurrency, currency: string, amountMinor: number): void {
  const next = (into.amount[currency] ?? 0) + amountMinor;
  assertSafeInteger(next, 'report amount');
  into.amount[currency] = next;
  into.count += 1;
}

/** Processor-side failure: the outage's doing, not the customer's bank saying no. */
const isOutageFailure = (a: Attempt) => a.status === 'failed_retryable' || a.status === 'unknown';
/** Still in flight: being called, or an unknown outcome that recovery has not settled yet. */
const isOpen = (a: Attempt) =>
  a.status === 'pending' || (a.status === 'unknown' && a.resolution === null);

interface Window {
  scope: Scope;
  connector: string | null;
  fromMs: number;
  toMs: number;
}

export function createReportBuilder(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  function attemptsIn(w: Window) {
    let q = db
      .selectFrom('payment_attempts')
      .select(ATTEMPT_COLUMNS)
      .where('account_id', '=', w.scope.accountId)
      .where('livemode', '=', livemodeFlag(w.scope));
    if (w.connector !== null) q = q.where('connector', '=', w.connector);
    return q;
  }

  async function failedAttempts(w: Window): Promise<Attempt[]> {
    return attemptsIn(w)
      .where('operation', 'in', ['authorize', 'authenticate'])
      .where('created_ms', '>=', w.fromMs)
      .where('created_ms', '<=', w.toMs)
      .where((eb) =>
        eb.or([
          eb('status', 'in', ['failed_retryable', 'unknown']),
          eb('unknown_at_ms', 'is not', null),
        ]),
      )
      .orderBy('created_ms', 'asc')
      .orderBy('id', 'asc')
      .limit(LIMITS.incidentReportRowsMax + 1)
      .execute();
  }

  /** Every authorize/authenticate attempt of these intents, on any connector. */
  async function attemptsOfIntents(scope: Scope, intentIds: string[]) {
    const byIntent = new Map<string, Attempt[]>();
    for (const ids of chunks(intentIds)) {
      const rows = await attemptsIn({ scope, connector: null, fromMs: 0, toMs: 0 })
        .where('payment_intent_id', 'in', ids)
        .where('operation', 'in', ['authorize', 'authenticate'])
        .limit(ids.length * LIMITS.attemptsPerIntentMax)
        .execute();
      for (const row of rows) {
        const list = byIntent.get(row.payment_intent_id) ?? [];
        list.push(row);
        byIntent.set(row.payment_intent_id, list);
      }
    }
    return byIntent;
  }

  async function intentsById(scope: Scope, intentIds: string[]) {
    const out = new Map<
      string,
      { id: string; status: string; amount: number; currency: string; secondary: string | null }
    >();
    for (const ids of chunks(intentIds)) {
      const rows = await db
        .selectFrom('payment_intents')
        .select(['id', 'status', 'amount', 'currency', 'secondary_method as secondary'])
        .where('account_id', '=', scope.accountId)
        .where('livemode', '=', livemodeFlag(scope))
        .where('id', 'in', ids)
        .execute();
      for (const row of rows) out.set(row.id, row);
    }
    return out;
  }

  /** A later success on another connector than the one that failed: the payment was rerouted. */
  function rerouted(failed: Attempt[], all: Attempt[]): Attempt | undefined {
    return all.find(
      (s) =>
        s.operation === 'authorize' &&
        s.status === 'succeeded' &&
        failed.some((f) => f.connector !== s.connector && s.created_ms >= f.created_ms),
    );
  }

  async function secondaryOffered(w: Window, truncated: string[]): Promise<AmountsByCurrency> {
    const rows = await db
      .selectFrom('payment_intents')
      .select(['id', 'amount', 'currency', 'secondary_method'])
      .where('account_id', '=', w.scope.accountId)
      .where('livemode', '=', livemodeFlag(w.scope))
      .where('secondary_method', 'is not', null)
      .where('created', '<=', toSeconds(w.toMs))
      .orderBy('id', 'desc')
      .limit(LIMITS.incidentReportRowsMax + 1)
      .execute();
    if (rows.length > LIMITS.incidentReportRowsMax) truncated.push('payments_secondary_method');
    const result: AmountsByCurrency = { count: 0, amount: {} };
    for (const row of rows.slice(0, LIMITS.incidentReportRowsMax)) {
      const offeredAtMs = fromJson<{ offered_at_ms?: number }>(row.secondary_method)?.offered_at_ms;
      if (typeof offeredAtMs !== 'number' || offeredAtMs < w.fromMs || offeredAtMs > w.toMs)
        continue;
      addAmount(result, row.currency, row.amount);
    }
    return result;
  }

  async function unknownOutcomes(w: Window, truncated: string[]): Promise<UnknownOutcome[]> {
    const rows = await attemptsIn(w)
      .where('unknown_at_ms', '>=', w.fromMs)
      .where('unknown_at_ms', '<=', w.toMs)
      .orderBy('unknown_at_ms', 'asc')
      .orderBy('id', 'asc')
      .limit(LIMITS.incidentReportListMax + 1)
      .execute();
    if (rows.length > LIMITS.incidentReportListMax) truncated.push('unknown_outcomes');
    const kept = rows.slice(0, LIMITS.incidentReportListMax);
    const reversals = new Map<string, string>();
    for (const ids of chunks(kept.map((r) => r.id))) {
      const reverses = await db
        .selectFrom('payment_attempts')
        .select(['id', 'reverses_attempt_id'])
        .where('account_id', '=', w.scope.accountId)
        .where('reverses_attempt_id', 'in', ids)
        .execute();
      for (const r of reverses)
        if (r.reverses_attempt_id) reversals.set(r.reverses_attempt_id, r.id);
    }
    return kept.map((r) => ({
      attempt: r.id,
      payment_intent: r.payment_intent_id,
      connector: r.connector,
      unknown_at: toSeconds(r.unknown_at_ms ?? r.created_ms),
      resolved_at:
        r.resolution !== null && r.completed_ms !== null ? toSeconds(r.completed_ms) : null,
      resolution: r.resolution,
      reversed_by: reversals.get(r.id) ?? null,
    }));
  }

  /**
   * When the trouble began. An automatic incident opens once the breaker has
   * seen enough failures, so the failures that opened it came before: the
   * report counts from just after the connector's last successful call
   * (looking back at most LIMITS.incidentReportLookbackMs).
   */
  async function troubleStartMs(incident: IncidentsTable): Promise<number> {
    if (incident.source !== 'automatic' || incident.connector_id === null)
      return incident.started_ms;
    const floor = incident.started_ms - LIMITS.incidentReportLookbackMs;
    const lastGood = await db
      .selectFrom('payment_attempts')
      .select('created_ms')
      .where('connector', '=', incident.connector_id)
      .where('status', '=', 'succeeded')
      .where('created_ms', '<', incident.started_ms)
      .where('created_ms', '>=', floor)
      .orderBy('created_ms', 'desc')
      .limit(1)
      .executeTakeFirst();
    return lastGood ? lastGood.created_ms + 1 : floor;
  }

  async function build(scope: Scope, incident: IncidentsTable): Promise<IncidentReport> {
    const nowMs = clock.nowMs();
    const toMs = incident.resolved_ms ?? nowMs;
    const w: Window = {
      scope,
      connector: incident.connector_id,
      fromMs: await troubleStartMs(incident),
      toMs,
    };
    const truncated: string[] = [];

    const failedRows = await failedAttempts(w);
    if (failedRows.length > LIMITS.incidentReportRowsMax) truncated.push('attempts_failed');
    const failed = failedRows.slice(0, LIMITS.incidentReportRowsMax);
    const byCode: Record<string, number> = {};
    for (const a of failed) {
      const code = a.error_code ?? a.status;
      byCode[code] = (byCode[code] ?? 0) + 1;
    }

    const failedByIntent = new Map<string, Attempt[]>();
    for (const a of failed) {
      failedByIntent.set(a.payment_intent_id, [
        ...(failedByIntent.get(a.payment_intent_id) ?? []),
        a,
      ]);
    }
    const intentIds = [...failedByIntent.keys()];
    const attempts = await attemptsOfIntents(scope, intentIds);
    const intents = await intentsById(scope, intentIds);

    const reroutedTotals: AmountsByCurrency = { count: 0, amount: {} };
    const lost: string[] = [];
    for (const id of intentIds) {
      const all = attempts.get(id) ?? [];
      const success = rerouted(failedByIntent.get(id) ?? [], all);
      if (success) addAmount(reroutedTotals, success.currency, success.amount);
      const intent = intents.get(id);
      if (intent && isLost(intent, all)) lost.push(id);
    }
    if (lost.length > LIMITS.incidentReportListMax) truncated.push('payments_lost');

    const durationMs = toMs - incident.started_ms;
    assert(durationMs >= 0, 'incident ends before it starts');
    const updates = await updatesOf(db, [incident.id]);
    return {
      object: 'incident_report',
      incident: incident.id,
      title: incident.title,
      impact: incident.impact,
      status: incident.status,
      source: incident.source,
      connector: incident.connector_id,
      livemode: incident.livemode === 1,
      started: toSeconds(incident.started_ms),
      resolved: incident.resolved_ms === null ? null : toSeconds(incident.resolved_ms),
      duration_seconds: Math.floor(durationMs / 1000),
      attempts_failed: { count: failed.length, by_code: byCode },
      payments_rerouted: reroutedTotals,
      payments_secondary_method: await secondaryOffered(w, truncated),
      payments_lost: { count: lost.length, ids: lost.slice(0, LIMITS.incidentReportListMax) },
      unknown_outcomes: await unknownOutcomes(w, truncated),
      timeline: (updates.get(incident.id) ?? []).map(serializeUpdate),
      truncated,
      generated: toSeconds(nowMs),
    };
  }

  return { build };
}

/**
 * Lost: the outage, not a decline, left the payment without money and without
 * another way to pay: still `processing` with nothing in flight, or back to
 * `requires_payment_method` after only processor-side failures, and no
 * secondary method offered.
 */
export function isLost(
  intent: { status: string; secondary: string | null },
  attempts: Attempt[],
): boolean {
  if (intent.secondary !== null) return false;
  if (intent.status === 'processing') return !attempts.some(isOpen);
  if (intent.status === 'requires_payment_method')
    return attempts.length > 0 && attempts.every(isOutageFailure);
  return false;
}
