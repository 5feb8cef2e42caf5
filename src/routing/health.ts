import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  CountBreaker,
  circuitBreaker,
  handleWhenResult,
  type IDisposable,
} from 'cockatiel';
import { type ConnectorOutcome, FAILURE_CODES, type ProbeResult } from '../connectors/types.ts';
import { assert } from '../lib/assert.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import type {
  BreakerState,
  ConnectorHealth,
  HealthChange,
  HealthMonitor,
  HealthStatus,
} from './types.ts';

// Passive health (error rate, latency and approval rate of real calls),
// active health (probes) and one cockatiel circuit breaker per connector, all
// in memory of this process. Every window is a ring buffer and the number of
// tracked connectors is capped, so memory stays bounded whatever the traffic.
//
// Status: `down` while the breaker is open or half-open; `degraded` while it
// is closed but the approval rate or the error rate is poor; else `healthy`.
// Listeners hear every status change with the reason in words.

export interface HealthOptions {
  breakerFailureRatio: number;
  breakerWindow: number;
  breakerMinCalls: number;
  breakerHalfOpenAfterMs: number;
  healthWindowSize: number;
  successRateWindow: number;
  successRateMinSamples: number;
  degradedSuccessRate: number;
}

const DEFAULT_OPTIONS: HealthOptions = {
  breakerFailureRatio: LIMITS.breakerFailureRatio,
  breakerWindow: LIMITS.breakerWindow,
  breakerMinCalls: LIMITS.breakerMinCalls,
  breakerHalfOpenAfterMs: LIMITS.breakerHalfOpenAfterMs,
  healthWindowSize: LIMITS.healthWindowSize,
  successRateWindow: LIMITS.successRateWindow,
  successRateMinSamples: LIMITS.successRateMinSamples,
  degradedSuccessRate: LIMITS.degradedSuccessRate,
};

/** A fixed-capacity buffer keeping the most recent items. */
class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }
  /** Oldest first. */
  values(): T[] {
    if (this.items.length < this.capacity) return [...this.items];
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
  clear(): void {
    this.items.length = 0;
    this.next = 0;
  }
  get size(): number {
    return this.items.length;
  }
}

interface CallSample {
  /** failed_retryable or unknown: the processor did not do its job. */
  failed: boolean;
  /** The failure code (failed_retryable code, or `unknown`), null on success. */
  code: string | null;
  latencyMs: number;
}

type Approval = 'succeeded' | 'declined' | 'failed';

/** The outcome a probe is turned into when it runs through the breaker. */
const PROBE_FAILED = 'probe_failed';

interface Tracked {
  id: string;
  policy: CircuitBreakerPolicy;
  subscriptions: IDisposable[];
  /** Engine clock time of the last opening, for the report. */
  openedAtMs: number | null;
  /** Wall time of the last opening: cockatiel measures halfOpenAfter with Date.now(). */
  openedAtWallMs: number | null;
  calls: Ring<CallSample>;
  approvals: Map<string, Ring<Approval>>;
  lastProbe: ConnectorHealth['last_probe'];
  status: HealthStatus;
  /** Whether the call or probe running through the breaker right now is a half-open trial. */
  trialRunning: boolean;
  lastRunKind: 'call' | 'probe';
  /** Why the breaker last opened, and why it last closed (consumed by the next change). */
  openCause: string;
  closeCause: string | null;
}

export function createHealthMonitor(deps: {
  clock: Clock;
  logger: Logger;
  options?: Partial<HealthOptions>;
}): HealthMonitor {
  const options = { ...DEFAULT_OPTIONS, ...deps.options };
  checkOptions(options);
  const { clock, logger } = deps;
  const tracked = new Map<string, Tracked>();
  const listeners = new Set<(change: HealthChange) => void>();

  /** The connector's state, created on first use; recently used ones move to the end (LRU). */
  function track(connector: string): Tracked {
    const existing = tracked.get(connector);
    if (existing !== undefined) {
      tracked.delete(connector);
      tracked.set(connector, existing);
      return existing;
    }
    while (tracked.size >= LIMITS.healthConnectorsTrackedMax) {
      const oldest = tracked.keys().next().value as string;
      for (const s of tracked.get(oldest)?.subscriptions ?? []) s.dispose();
      tracked.delete(oldest);
    }
    const t = newTracked(connector);
    tracked.set(connector, t);
    return t;
  }

  function newTracked(connector: string): Tracked {
    const policy = circuitBreaker(
      handleWhenResult((r) => isFailure(r as ConnectorOutcome)),
      {
        halfOpenAfter: options.breakerHalfOpenAfterMs,
        breaker: new CountBreaker({
          threshold: options.breakerFailureRatio,
          size: options.breakerWindow,
          minimumNumberOfCalls: options.breakerMinCalls,
        }),
      },
    );
    const t: Tracked = {
      id: connector,
      policy,
      subscriptions: [],
      openedAtMs: null,
      openedAtWallMs: null,
      calls: new Ring(options.healthWindowSize),
      approvals: new Map(),
      lastProbe: null,
      status: 'healthy',
      trialRunning: false,
      lastRunKind: 'call',
      openCause: '',
      closeCause: null,
    };
    t.subscriptions.push(
      policy.onHalfOpen(() => {
        t.trialRunning = true;
      }),
      policy.onBreak((reason) => onBreak(t, reason)),
      policy.onReset(() => onReset(t)),
    );
    return t;
  }

  function onBreak(t: Tracked, reason: unknown): void {
    const wasTrial = t.trialRunning;
    t.trialRunning = false;
    t.openedAtMs = clock.nowMs();
    t.openedAtWallMs = Date.now();
    const outcome = (reason as { value?: ConnectorOutcome }).value;
    const failure = outcome === undefined ? 'failed' : describeFailure(outcome);
    if (wasTrial) t.openCause = `breaker re-opened: half-open trial ${t.lastRunKind} ${failure}`;
    else if (t.lastRunKind === 'probe') t.openCause = `breaker opened: health probe ${failure}`;
    else
      t.openCause = `breaker opened: ${summarizeFailures(lastSamples(t, options.breakerWindow))}`;
    evaluate(t);
  }

  function onReset(t: Tracked): void {
    t.trialRunning = false;
    t.openedAtMs = null;
    t.openedAtWallMs = null;
    t.closeCause = `breaker half-open: trial ${t.lastRunKind} succeeded`;
    // The outage's failures are explained by the opening; the closed breaker
    // starts a fresh passive window (keeping the trial call itself).
    const trial = t.lastRunKind === 'call' ? t.calls.values().at(-1) : undefined;
    t.calls.clear();
    if (trial !== undefined) t.calls.push(trial);
    evaluate(t);
  }

  function breakerOf(t: Tracked): BreakerState {
    switch (t.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half_open';
      default: {
        // Open: cockatiel lets the next call through as the trial once the
        // delay has passed, so routing may already offer it one.
        const since = t.openedAtWallMs === null ? 0 : Date.now() - t.openedAtWallMs;
        return since >= options.breakerHalfOpenAfterMs ? 'half_open' : 'open';
      }
    }
  }

  /** The status now, and why, in words. */
  function assess(t: Tracked): { status: HealthStatus; reason: string } {
    if (breakerOf(t) !== 'closed') return { status: 'down', reason: t.openCause };
    const problems = degradation(t);
    const prefix = t.status === 'down' && t.closeCause !== null ? `${t.closeCause}; ` : '';
    if (problems.length > 0) return { status: 'degraded', reason: prefix + problems.join('; ') };
    if (prefix !== '') return { status: 'healthy', reason: prefix.slice(0, -2) };
    return { status: 'healthy', reason: `recovered: ${summarizeFailures(t.calls.values())}` };
  }

  function degradation(t: Tracked): string[] {
    const problems: string[] = [];
    for (const [method, ring] of t.approvals) {
      const { rate, samples } = approvalRate(ring);
      if (rate === null || samples < options.successRateMinSamples) continue;
      if (rate < options.degradedSuccessRate)
        problems.push(
          `approval rate ${percent(rate)} over the last ${samples} ${method} payments ` +
            `(below ${percent(options.degradedSuccessRate)})`,
        );
    }
    const calls = t.calls.values();
    const failed = calls.filter((c) => c.failed).length;
    if (
      calls.length >= options.breakerMinCalls &&
      failed / calls.length >= options.breakerFailureRatio / 2
    )
      problems.push(summarizeFailures(calls));
    return problems;
  }

  function evaluate(t: Tracked): void {
    const next = assess(t);
    if (next.status === t.status) return;
    const change: HealthChange = {
      connector: t.id,
      from: t.status,
      to: next.status,
      reason: next.reason,
      at_ms: clock.nowMs(),
    };
    t.status = next.status;
    if (next.status !== 'down') t.closeCause = null;
    const level = next.status === 'healthy' ? 'info' : 'warn';
    logger[level]({ health: change }, `connector ${t.id} ${change.from} → ${change.to}`);
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        logger.error({ err, connector: t.id }, 'health change listener failed');
      }
    }
  }

  function record(t: Tracked, method: string | null, outcome: ConnectorOutcome, latencyMs: number) {
    const failed = isFailure(outcome);
    t.calls.push({ failed, code: failed ? failureCode(outcome) : null, latencyMs });
    if (method === null || outcome.status === 'requires_action') return;
    approvalsFor(t, method).push(
      outcome.status === 'succeeded'
        ? 'succeeded'
        : outcome.status === 'declined'
          ? 'declined'
          : 'failed',
    );
  }

  function approvalsFor(t: Tracked, method: string): Ring<Approval> {
    let ring = t.approvals.get(method);
    if (ring === undefined) {
      if (t.approvals.size >= LIMITS.healthMethodTypesTrackedMax) {
        const oldest = t.approvals.keys().next().value as string;
        t.approvals.delete(oldest);
      }
      ring = new Ring(options.successRateWindow);
      t.approvals.set(method, ring);
    }
    return ring;
  }

  function lastSamples(t: Tracked, count: number): CallSample[] {
    return t.calls.values().slice(-count);
  }

  async function call(
    connector: string,
    paymentMethodType: string | null,
    run: () => Promise<ConnectorOutcome>,
  ): Promise<ConnectorOutcome> {
    const t = track(connector);
    const measured = async (): Promise<ConnectorOutcome> => {
      t.lastRunKind = 'call';
      const startedMs = clock.nowMs();
      let outcome: ConnectorOutcome;
      try {
        outcome = await run();
      } catch (err) {
        // The contract: a call that throws is an unknown outcome, never a failure we can retry blindly.
        outcome = { status: 'unknown', reason: `connector call threw: ${errorMessage(err)}` };
      }
      record(t, paymentMethodType, outcome, Math.max(0, clock.nowMs() - startedMs));
      return outcome;
    };
    try {
      const outcome = await t.policy.execute(measured);
      evaluate(t);
      return outcome;
    } catch (err) {
      if (!(err instanceof BrokenCircuitError)) throw err;
      return {
        status: 'failed_retryable',
        code: FAILURE_CODES.circuitOpen,
        message: `Circuit breaker for connector ${connector} is open (${t.openCause}); not called.`,
      };
    }
  }

  function recordProbe(connector: string, result: ProbeResult): void {
    const t = track(connector);
    t.lastProbe = {
      ok: result.ok,
      latency_ms: result.latencyMs,
      detail: result.detail,
      at_ms: clock.nowMs(),
    };
    const state = breakerOf(t);
    // A failed probe counts against a closed breaker and fails a due trial; a
    // good probe only matters as the trial (while closed, real traffic decides).
    // While a trial is already running, or the breaker is open and not yet
    // due, the probe changes nothing but the report.
    const runs =
      state === 'closed'
        ? !result.ok
        : state === 'half_open' && t.policy.state === CircuitState.Open;
    if (!runs) return;
    const outcome: ConnectorOutcome = result.ok
      ? { status: 'succeeded', connectorReference: 'probe' }
      : { status: 'failed_retryable', code: PROBE_FAILED, message: result.detail };
    t.policy
      .execute(() => {
        t.lastRunKind = 'probe';
        return outcome;
      })
      .catch((err: unknown) => {
        if (!(err instanceof BrokenCircuitError))
          logger.error({ err, connector }, 'health probe could not run through the breaker');
      })
      .finally(() => evaluate(t));
  }

  function health(connector: string): ConnectorHealth {
    const t = tracked.get(connector);
    if (t === undefined) return emptyHealth(connector);
    const calls = t.calls.values();
    const latencies = calls.map((c) => c.latencyMs).sort((a, b) => a - b);
    const successRate: ConnectorHealth['success_rate'] = {};
    for (const [method, ring] of t.approvals) successRate[method] = approvalRate(ring);
    return {
      connector,
      status: t.status,
      breaker: breakerOf(t),
      opened_at_ms: t.openedAtMs,
      window_calls: calls.length,
      error_rate: calls.length === 0 ? 0 : calls.filter((c) => c.failed).length / calls.length,
      latency_ms: {
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
      },
      success_rate: successRate,
      last_probe: t.lastProbe,
    };
  }

  return {
    call,
    recordProbe,
    breaker: (connector) => {
      const t = tracked.get(connector);
      return t === undefined ? 'closed' : breakerOf(t);
    },
    health,
    known: () => [...tracked.keys()],
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      for (const t of tracked.values()) for (const s of t.subscriptions) s.dispose();
      tracked.clear();
    },
  };
}

function checkOptions(o: HealthOptions): void {
  // CountBreaker's own bounds: ratio strictly between 0 and 1, min calls ≤ window.
  assert(o.breakerFailureRatio > 0 && o.breakerFailureRatio < 1, 'breakerFailureRatio in (0, 1)');
  for (const key of [
    'breakerWindow',
    'breakerMinCalls',
    'healthWindowSize',
    'successRateWindow',
    'successRateMinSamples',
  ] as const)
    assert(Number.isSafeInteger(o[key]) && o[key] >= 1, `${key} must be a positive integer`);
  assert(o.breakerMinCalls <= o.breakerWindow, 'breakerMinCalls must not exceed breakerWindow');
  assert(o.breakerHalfOpenAfterMs >= 0, 'breakerHalfOpenAfterMs must not be negative');
  assert(o.degradedSuccessRate >= 0 && o.degradedSuccessRate <= 1, 'degradedSuccessRate in [0, 1]');
}

function isFailure(outcome: ConnectorOutcome): boolean {
  return outcome.status === 'failed_retryable' || outcome.status === 'unknown';
}

function failureCode(outcome: ConnectorOutcome): string {
  return outcome.status === 'failed_retryable' ? outcome.code : outcome.status;
}

function describeFailure(outcome: ConnectorOutcome): string {
  if (outcome.status === 'failed_retryable')
    return outcome.code === PROBE_FAILED ? `failed: ${outcome.message}` : `failed: ${outcome.code}`;
  if (outcome.status === 'unknown') return `had an unknown outcome: ${outcome.reason}`;
  return outcome.status;
}

/** "6 of the last 10 calls failed: processor_unavailable ×4, unknown ×2". */
function summarizeFailures(samples: CallSample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) if (s.code !== null) counts.set(s.code, (counts.get(s.code) ?? 0) + 1);
  const failed = samples.filter((s) => s.failed).length;
  const noun = samples.length === 1 ? 'call' : 'calls';
  const base = `${failed} of the last ${samples.length} ${noun} failed`;
  if (failed === 0) return base;
  const byCode = [...counts].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ×${n}`);
  return `${base}: ${byCode.join(', ')}`;
}

function approvalRate(ring: Ring<Approval>): { rate: number | null; samples: number } {
  const values = ring.values();
  if (values.length === 0) return { rate: null, samples: 0 };
  const approved = values.filter((v) => v === 'succeeded').length;
  return { rate: approved / values.length, samples: values.length };
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function emptyHealth(connector: string): ConnectorHealth {
  return {
    connector,
    status: 'healthy',
    breaker: 'closed',
    opened_at_ms: null,
    window_calls: 0,
    error_rate: 0,
    latency_ms: { p50: null, p95: null, p99: null },
    success_rate: {},
    last_probe: null,
  };
}
