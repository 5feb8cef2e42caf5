import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { HealthMonitor } from './routing/types.ts';

// Prometheus metrics at /metrics: connector calls and latencies as they
// happen, breaker state and health read from the health monitor at scrape
// time, plus the process defaults (memory, event loop lag). Labels are
// connector ids and outcome statuses only: bounded sets, never amounts or ids
// of payments.

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
const STATUS_VALUE = { healthy: 0, degraded: 1, down: 2 } as const;

export function createMetrics(health: HealthMonitor) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'payrail_process_' });
  const calls = new Counter({
    name: 'payrail_connector_calls_total',
    help: 'Calls to payment processors, by connector and outcome status.',
    labelNames: ['connector', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'payrail_connector_call_seconds',
    help: 'Latency of calls to payment processors.',
    labelNames: ['connector'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'payrail_connector_breaker_state',
    help: 'Circuit breaker per connector: 0 closed, 1 half-open, 2 open.',
    labelNames: ['connector'],
    registers: [registry],
    collect() {
      for (const id of health.known())
        this.set({ connector: id }, BREAKER_VALUE[health.breaker(id)]);
    },
  });
  new Gauge({
    name: 'payrail_connector_health_status',
    help: 'Health per connector: 0 healthy, 1 degraded, 2 down.',
    labelNames: ['connector'],
    registers: [registry],
    collect() {
      for (const id of health.known())
        this.set({ connector: id }, STATUS_VALUE[health.health(id).status]);
    },
  });
  new Gauge({
    name: 'payrail_connector_error_rate',
    help: 'Share of processor-side failures over the recent window, per connector.',
    labelNames: ['connector'],
    registers: [registry],
    collect() {
      for (const id of health.known()) this.set({ connector: id }, health.health(id).error_rate);
    },
  });
  return {
    registry,
    connectorCall(connector: string, status: string, latencyMs: number): void {
      calls.inc({ connector, status });
      latency.observe({ connector }, latencyMs / 1000);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { auth: 'none' } }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
}
