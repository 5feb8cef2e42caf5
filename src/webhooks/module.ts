import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { InstanceRegistry } from '../db/instances.ts';
import type { EventsService } from '../events/service.ts';
import type { RouteDeps } from '../http/route.ts';
import { createJobStore } from '../jobs/store.ts';
import { createJobWorker } from '../jobs/worker.ts';
import type { Clock } from '../lib/clock.ts';
import type { EnvelopeCipher } from '../lib/crypto.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { createDelivery } from './delivery.ts';
import { createFanout } from './fanout.ts';
import { registerWebhookRoutes } from './routes.ts';
import { createWebhooksService, DELIVER_JOB } from './service.ts';

// Webhook endpoints and their delivery worker: routes, the fan-out from the
// events outbox to delivery jobs, and a job worker that delivers them.
export interface WebhooksDeps {
  app: FastifyInstance;
  routeDeps: RouteDeps;
  db: Db;
  clock: Clock;
  events: EventsService;
  cipher: EnvelopeCipher;
  config: Config;
  logger: Logger;
  instances: InstanceRegistry;
}

export interface WebhooksModule {
  /** Starts the delivery worker (called once the engine has recovered). */
  start(): Promise<void>;
  close(): Promise<void>;
}

const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

export function createWebhooksModule(deps: WebhooksDeps): WebhooksModule {
  const { db, clock, config } = deps;
  // Same rule as openDatabase: a DATABASE_URL means PostgreSQL.
  const postgres = config.databaseUrl !== undefined;
  const jobs = createJobStore({ db, clock, dialect: postgres ? 'postgres' : 'sqlite' });
  const settings = {
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
    retryWindowMs: config.webhookRetryWindowMs,
    disableAfterMs: config.webhookDisableAfterMs,
    allowPrivateUrls: config.webhookAllowPrivateUrls,
  };
  const service = createWebhooksService({
    db,
    clock,
    cipher: deps.cipher,
    jobs,
    allowPrivateUrls: settings.allowPrivateUrls,
    onEnqueued: () => worker.wake(),
  });
  registerWebhookRoutes(deps.app, { ...deps.routeDeps, webhooks: service });
  const fanout = createFanout({ db, clock, jobs, postgres });
  const delivery = createDelivery({ ...deps, jobs, service, settings });
  let lastPruneMs = 0;
  let lastOrphanSweepMs = 0;
  const isAlive = (id: string) => deps.instances.isAlive(id);

  const worker = createJobWorker({
    store: jobs,
    workerId: deps.instances.instanceId,
    logger: deps.logger,
    kinds: [DELIVER_JOB],
    concurrency: LIMITS.webhookConcurrencyMax,
    // The lease outlives the request timeout, so a live worker never loses its job.
    leaseMs: settings.timeoutMs + LIMITS.jobsLeaseMarginMs,
    pollIntervalMs: LIMITS.jobsPollIntervalMs,
    closeWaitMs: LIMITS.jobsCloseWaitMs,
    run: (job) => delivery.run(job),
    beforeClaim: async () => {
      const consumed = await fanout.runOnce();
      if (consumed >= LIMITS.webhookFanoutBatchMax) worker.wake();
      if (clock.nowMs() - lastOrphanSweepMs > LIMITS.jobsOrphanSweepIntervalMs) {
        lastOrphanSweepMs = clock.nowMs();
        await jobs.releaseOrphans(isAlive);
      }
      if (clock.nowMs() - lastPruneMs > PRUNE_INTERVAL_MS) {
        lastPruneMs = clock.nowMs();
        await jobs.prune();
      }
    },
  });

  return {
    start: async () => worker.start(),
    close: () => worker.stop(),
  };
}
