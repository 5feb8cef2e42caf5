import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectorOutcome, FAILURE_CODES } from '../connectors/types.ts';
import { LIMITS } from '../lib/limits.ts';
import { createLogger } from '../lib/logger.ts';
import { createHealthMonitor, type HealthOptions } from './health.ts';
import type { HealthChange } from './types.ts';

const HALF_OPEN_MS = 50;

function setup(options: Partial<HealthOptions> = {}) {
  let now = 1_000_000;
  const clock = { nowMs: () => now };
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const monitor = createHealthMonitor({
    clock,
    logger,
    options: { breakerHalfOpenAfterMs: HALF_OPEN_MS, ...options },
  });
  const changes: HealthChange[] = [];
  monitor.onChange((c) => changes.push(c));
  return {
    monitor,
    changes,
    logLines,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const ok: ConnectorOutcome = { status: 'succeeded', connectorReference: 'ch_1' };
const unavailable: ConnectorOutcome = {
  status: 'failed_retryable',
  code: FAILURE_CODES.unavailable,
  message: '503',
};
const declined: ConnectorOutcome = {
  status: 'declined',
  connectorReference: 'ch_2',
  code: 'card_declined',
  declineCode: 'insufficient_funds',
  message: 'Your card has insufficient funds.',
};
const action: ConnectorOutcome = {
  status: 'requires_action',
  connectorReference: 'ch_3',
  nextAction: { type: 'redirect_to_url', url: 'https://example.test/3ds' },
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('health monitor: circuit breaker', () => {
  test('opens on sustained failures, then returns circuit_open without calling', async () => {
    const { monitor, changes } = setup();
    for (let i = 0; i < LIMITS.breakerMinCalls - 1; i++) {
      assert.deepEqual(await monitor.call('c1', 'card', async () => unavailable), unavailable);
      assert.equal(monitor.breaker('c1'), 'closed', 'not before the minimum number of calls');
    }
    await monitor.call('c1', 'card', async () => unavailable);
    assert.equal(monitor.breaker('c1'), 'open');
    let ran = false;
    const blocked = await monitor.call('c1', 'card', async () => {
      ran = true;
      return ok;
    });
    assert.equal(ran, false);
    assert.equal(blocked.status, 'failed_retryable');
    assert.equal(blocked.status === 'failed_retryable' && blocked.code, FAILURE_CODES.circuitOpen);
    const h = monitor.health('c1');
    assert.equal(h.status, 'down');
    assert.equal(h.opened_at_ms, 1_000_000);
    assert.equal(h.window_calls, 5, 'the blocked call is not in the window');
    // Degraded needs breakerMinCalls calls too, so the change goes straight to down.
    assert.deepEqual(
      changes.map((c) => `${c.from}>${c.to}`),
      ['healthy>down'],
    );
    assert.equal(
      changes[0]?.reason,
      'breaker opened: 5 of the last 5 calls failed: processor_unavailable ×5',
    );
    monitor.close();
  });

  test('half-opens after the delay and closes on a good trial call', async () => {
    const { monitor, changes } = setup();
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => unavailable);
    assert.equal(monitor.breaker('c1'), 'open');
    await sleep(HALF_OPEN_MS + 10);
    assert.equal(monitor.breaker('c1'), 'half_open', 'due for a trial');
    assert.equal(monitor.health('c1').status, 'down', 'half-open still counts as down');
    let trialSeen = 'closed';
    const outcome = await monitor.call('c1', 'card', async () => {
      trialSeen = monitor.breaker('c1');
      return ok;
    });
    assert.deepEqual(outcome, ok);
    assert.equal(trialSeen, 'half_open');
    assert.equal(monitor.breaker('c1'), 'closed');
    const h = monitor.health('c1');
    assert.equal(h.status, 'healthy');
    assert.equal(h.opened_at_ms, null);
    assert.equal(h.window_calls, 1, 'a closed breaker starts a fresh passive window');
    const last = changes.at(-1);
    assert.equal(`${last?.from}>${last?.to}`, 'down>healthy');
    assert.equal(last?.reason, 'breaker half-open: trial call succeeded');
    monitor.close();
  });

  test('a breaker that closes onto a poor approval rate reports degraded, saying both', async () => {
    const { monitor, changes } = setup({ successRateMinSamples: 5 });
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => unavailable);
    await sleep(HALF_OPEN_MS + 10);
    await monitor.call('c1', 'card', async () => ok);
    assert.equal(monitor.breaker('c1'), 'closed');
    assert.deepEqual(
      changes.map((c) => `${c.from}>${c.to}`),
      ['healthy>down', 'down>degraded'],
    );
    assert.equal(
      changes[1]?.reason,
      'breaker half-open: trial call succeeded; ' +
        'approval rate 16.7% over the last 6 card payments (below 50%)',
    );
    monitor.close();
  });

  test('a failed trial re-opens the breaker for another delay', async () => {
    const { monitor, changes } = setup();
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => unavailable);
    await sleep(HALF_OPEN_MS + 10);
    await monitor.call('c1', 'card', async () => ({ status: 'unknown', reason: 'timeout' }));
    assert.equal(monitor.breaker('c1'), 'open');
    const blocked = await monitor.call('c1', 'card', async () => ok);
    assert.equal(blocked.status === 'failed_retryable' && blocked.code, 'circuit_open');
    // Status stayed down: no new change event for the re-opening.
    assert.equal(changes.at(-1)?.to, 'down');
    assert.equal(changes.filter((c) => c.to === 'down').length, 1);
    assert.match(monitor.health('c1').status, /down/);
    monitor.close();
  });

  test('declines and 3-D Secure do not count as failures; unknown and thrown calls do', async () => {
    const { monitor } = setup();
    for (let i = 0; i < 10; i++) await monitor.call('c1', 'card', async () => declined);
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => action);
    assert.equal(monitor.breaker('c1'), 'closed');
    assert.equal(monitor.health('c1').error_rate, 0);

    const thrown = await monitor.call('c2', null, async () => {
      throw new Error('socket hang up');
    });
    assert.equal(thrown.status, 'unknown');
    assert.match(thrown.status === 'unknown' ? thrown.reason : '', /socket hang up/);
    for (let i = 0; i < 4; i++)
      await monitor.call('c2', null, async () => ({ status: 'unknown', reason: 'timeout' }));
    assert.equal(monitor.breaker('c2'), 'open');
    monitor.close();
  });

  test('breakers are per connector', async () => {
    const { monitor } = setup();
    for (let i = 0; i < 5; i++) await monitor.call('bad', 'card', async () => unavailable);
    await monitor.call('good', 'card', async () => ok);
    assert.equal(monitor.breaker('bad'), 'open');
    assert.equal(monitor.breaker('good'), 'closed');
    assert.deepEqual(monitor.known().sort(), ['bad', 'good']);
    monitor.close();
  });
});

describe('health monitor: probes', () => {
  const failedProbe = { ok: false, latencyMs: 2000, detail: 'connect ECONNREFUSED' };
  const goodProbe = { ok: true, latencyMs: 12, detail: 'ok' };

  test('failed probes count against a closed breaker and open it', async () => {
    const { monitor, changes } = setup();
    for (let i = 0; i < 5; i++) {
      monitor.recordProbe('c1', failedProbe);
      await tick();
    }
    assert.equal(monitor.breaker('c1'), 'open');
    assert.equal(changes.at(-1)?.to, 'down');
    assert.equal(
      changes.at(-1)?.reason,
      'breaker opened: health probe failed: connect ECONNREFUSED',
    );
    assert.deepEqual(monitor.health('c1').last_probe, {
      ok: false,
      latency_ms: 2000,
      detail: 'connect ECONNREFUSED',
      at_ms: 1_000_000,
    });
    assert.equal(monitor.health('c1').window_calls, 0, 'probes are not payment calls');
    monitor.close();
  });

  test('a good probe is the half-open trial and closes the breaker; not before the delay', async () => {
    const { monitor, changes } = setup();
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => unavailable);
    monitor.recordProbe('c1', goodProbe);
    await tick();
    assert.equal(monitor.breaker('c1'), 'open', 'a probe does not shorten the delay');
    await sleep(HALF_OPEN_MS + 10);
    monitor.recordProbe('c1', goodProbe);
    await tick();
    assert.equal(monitor.breaker('c1'), 'closed');
    assert.equal(changes.at(-1)?.reason, 'breaker half-open: trial probe succeeded');
    assert.equal(changes.at(-1)?.to, 'healthy');
    monitor.close();
  });

  test('a failed probe fails a due trial', async () => {
    const { monitor, changes } = setup();
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => unavailable);
    await sleep(HALF_OPEN_MS + 10);
    assert.equal(monitor.breaker('c1'), 'half_open');
    monitor.recordProbe('c1', failedProbe);
    await tick();
    assert.equal(monitor.breaker('c1'), 'open');
    assert.equal(changes.at(-1)?.to, 'down');
    monitor.close();
  });

  test('good probes do not hide failing payments while the breaker is closed', async () => {
    const { monitor } = setup();
    for (let i = 0; i < 4; i++) {
      await monitor.call('c1', 'card', async () => unavailable);
      monitor.recordProbe('c1', goodProbe);
      await tick();
    }
    await monitor.call('c1', 'card', async () => unavailable);
    assert.equal(monitor.breaker('c1'), 'open');
    monitor.close();
  });
});

describe('health monitor: passive windows and status', () => {
  test('degraded on error rate below the breaker threshold, healthy again when it falls', async () => {
    const { monitor, changes } = setup();
    for (const outcome of [ok, ok, unavailable, ok, ok, ok, ok, unavailable])
      await monitor.call('c1', 'card', async () => outcome);
    assert.equal(monitor.breaker('c1'), 'closed');
    assert.equal(monitor.health('c1').status, 'degraded');
    assert.equal(monitor.health('c1').error_rate, 0.25);
    assert.equal(changes.at(-1)?.reason, '2 of the last 8 calls failed: processor_unavailable ×2');
    await monitor.call('c1', 'card', async () => ok);
    assert.equal(monitor.health('c1').status, 'healthy');
    assert.equal(
      changes.at(-1)?.reason,
      'recovered: 2 of the last 9 calls failed: processor_unavailable ×2',
    );
    monitor.close();
  });

  test('degraded on a poor approval rate with enough samples', async () => {
    const { monitor, changes } = setup({ successRateMinSamples: 20 });
    for (let i = 0; i < 11; i++) await monitor.call('c1', 'card', async () => declined);
    for (let i = 0; i < 8; i++) await monitor.call('c1', 'card', async () => ok);
    assert.equal(monitor.health('c1').status, 'healthy', '19 samples are not enough');
    await monitor.call('c1', 'card', async () => ok);
    assert.equal(monitor.health('c1').status, 'degraded');
    assert.equal(
      changes.at(-1)?.reason,
      'approval rate 45% over the last 20 card payments (below 50%)',
    );
    monitor.close();
  });

  test('success rate per method over a sliding window; 3-D Secure and non-payment calls count as neither', async () => {
    const { monitor } = setup({ successRateWindow: 10 });
    for (let i = 0; i < 10; i++) await monitor.call('c1', 'card', async () => declined);
    for (let i = 0; i < 7; i++) await monitor.call('c1', 'card', async () => ok);
    await monitor.call('c1', 'card', async () => unavailable);
    await monitor.call('c1', 'card', async () => action);
    await monitor.call('c1', null, async () => ok); // a capture
    await monitor.call('c1', 'sepa_debit', async () => ok);
    const rates = monitor.health('c1').success_rate;
    // Window of 10: 2 declines, 7 approvals, 1 failure.
    assert.deepEqual(rates.card, { rate: 0.7, samples: 10 });
    assert.deepEqual(rates.sepa_debit, { rate: 1, samples: 1 });
    assert.equal(Object.keys(rates).length, 2);
    monitor.close();
  });

  test('latency percentiles over the last healthWindowSize calls', async () => {
    const { monitor, advance } = setup({ healthWindowSize: 100 });
    // 50 slow calls first, then 100 calls of 1..100 ms: only the last 100 count.
    const latencies = [...Array(50).fill(5000), ...Array.from({ length: 100 }, (_, i) => i + 1)];
    for (const ms of latencies)
      await monitor.call('c1', 'card', async () => {
        advance(ms);
        return ok;
      });
    const h = monitor.health('c1');
    assert.equal(h.window_calls, 100);
    assert.deepEqual(h.latency_ms, { p50: 50, p95: 95, p99: 99 });
    assert.deepEqual(setup().monitor.health('x').latency_ms, { p50: null, p95: null, p99: null });
    monitor.close();
  });

  test('an unseen connector is healthy and closed, and is not tracked by asking', () => {
    const { monitor } = setup();
    assert.equal(monitor.breaker('nope'), 'closed');
    assert.equal(monitor.health('nope').status, 'healthy');
    assert.deepEqual(monitor.known(), []);
    monitor.close();
  });

  test('tracks at most healthConnectorsTrackedMax connectors, dropping the least recently used', async () => {
    const { monitor } = setup();
    const max = LIMITS.healthConnectorsTrackedMax;
    await monitor.call('first', 'card', async () => ok);
    await monitor.call('second', 'card', async () => ok);
    await monitor.call('first', 'card', async () => ok); // first is now more recent than second
    for (let i = 0; i < max - 1; i++) await monitor.call(`c${i}`, null, async () => ok);
    const known = new Set(monitor.known());
    assert.equal(known.size, max);
    assert.ok(known.has('first'));
    assert.ok(!known.has('second'));
    monitor.close();
  });
});

describe('health monitor: listeners', () => {
  test('a throwing listener is logged and does not stop the others; unsubscribe and close stop events', async () => {
    const { monitor, changes, logLines } = setup();
    monitor.onChange(() => {
      throw new Error('listener bug');
    });
    const seen: string[] = [];
    const unsubscribe = monitor.onChange((c) => seen.push(c.to));
    for (let i = 0; i < 5; i++) await monitor.call('c1', 'card', async () => unavailable);
    assert.deepEqual(seen, ['down']);
    assert.equal(changes.length, 1);
    assert.ok(
      logLines.some(
        (l) => l.includes('health change listener failed') && l.includes('listener bug'),
      ),
    );
    unsubscribe();
    for (let i = 0; i < 5; i++) await monitor.call('c2', 'card', async () => unavailable);
    assert.deepEqual(seen, ['down']);
    assert.equal(changes.length, 2);
    monitor.close();
    for (let i = 0; i < 5; i++) await monitor.call('c3', 'card', async () => unavailable);
    assert.equal(changes.length, 2);
  });

  test('change events carry connector, states and the clock time', async () => {
    const { monitor, changes, advance } = setup();
    advance(500);
    for (let i = 0; i < 5; i++) await monitor.call('c9', 'card', async () => unavailable);
    assert.deepEqual(
      changes.map(({ connector, from, to, at_ms }) => ({ connector, from, to, at_ms })),
      [{ connector: 'c9', from: 'healthy', to: 'down', at_ms: 1_000_500 }],
    );
    monitor.close();
  });

  test('rejects options the breaker cannot work with', () => {
    assert.throws(() => setup({ breakerFailureRatio: 1 }), /breakerFailureRatio/);
    assert.throws(() => setup({ breakerMinCalls: 30, breakerWindow: 20 }), /breakerMinCalls/);
    assert.throws(() => setup({ healthWindowSize: 0 }), /healthWindowSize/);
  });
});
