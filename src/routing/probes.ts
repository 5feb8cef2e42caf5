import type { Connector } from '../connectors/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { RoutingAdmin } from './admin.ts';
import type { HealthMonitor } from './types.ts';

// Active health: every interval, each active connector account answers a
// cheap probe; the result feeds the connector's health and breaker (a good
// probe is the half-open trial that closes it). Probes run one connector at a
// time per process so a slow processor cannot pile up calls.

export interface ProbeOptions {
  intervalMs: number;
  timeoutMs: number;
}

export function createProbes(deps: {
  routing: RoutingAdmin;
  health: HealthMonitor;
  resolve(connectorId: string): Promise<{ connector: Connector }>;
  logger: Logger;
  options: ProbeOptions;
}) {
  const { routing, health, logger, options } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function probeOne(connectorId: string): Promise<void> {
    const { connector } = await deps.resolve(connectorId);
    const started = Date.now();
    try {
      health.recordProbe(
        connectorId,
        await connector.probe(AbortSignal.timeout(options.timeoutMs)),
      );
    } catch (error) {
      // probe() must not throw; if one does, it is a failed probe all the same.
      const detail = error instanceof Error ? error.message : String(error);
      health.recordProbe(connectorId, { ok: false, latencyMs: Date.now() - started, detail });
    }
  }

  async function pass(): Promise<void> {
    for (const settings of await routing.allActive()) {
      await probeOne(settings.id).catch((err) =>
        logger.warn({ err, connector: settings.id }, 'health probe could not run'),
      );
    }
  }

  return {
    /** Runs one pass now (tests, drills). */
    runOnce: () => {
      running = running.then(pass).catch((err) => logger.error({ err }, 'probe pass failed'));
      return running;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        running = running.then(pass).catch((err) => logger.error({ err }, 'probe pass failed'));
      }, options.intervalMs);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
