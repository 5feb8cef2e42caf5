import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { InstanceRegistry } from '../db/instances.ts';
import type { RouteDeps } from '../http/route.ts';
import { createJobStore } from '../jobs/store.ts';
import { createJobWorker } from '../jobs/worker.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { registerNotificationRoutes } from './routes.ts';
import { createSender } from './send.ts';
import { createEmailSender, createSmsSender } from './senders.ts';
import { createSettingsService } from './settings.ts';
import { createTrigger, SEND_JOB } from './trigger.ts';

// Email receipts and operator alerts (email and SMS): settings routes, the
// trigger that turns events into notifications, and a job worker that sends
// them. Sending is always a job: a payment never waits on SMTP or SMS.

export interface NotificationsDeps {
  app: FastifyInstance;
  routeDeps: RouteDeps;
  db: Db;
  clock: Clock;
  config: Config;
  logger: Logger;
  instances: InstanceRegistry;
}

export interface NotificationsModule {
  /** Starts the trigger and the send worker (called once the engine has recovered). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createNotificationsModule(deps: NotificationsDeps): NotificationsModule {
  const { db, clock, config } = deps;
  const postgres = config.databaseUrl !== undefined;
  const jobs = createJobStore({ db, clock, dialect: postgres ? 'postgres' : 'sqlite' });
  const channels = { ...config, timeoutMs: config.notificationTimeoutMs };
  // Both throw a ConfigError naming the variable when a channel is half configured.
  const email = createEmailSender(channels);
  const sms = createSmsSender(channels);
  const settings = createSettingsService({ db, clock });
  registerNotificationRoutes(deps.app, { ...deps.routeDeps, db, settings });
  const trigger = createTrigger({
    db,
    clock,
    jobs,
    postgres,
    unavailable: {
      email: email ? null : 'skipped: SMTP is not configured (PAYRAIL_SMTP_URL)',
      sms: sms ? null : 'skipped: SMS is not configured (PAYRAIL_SMS_URL)',
    },
  });
  const sender = createSender({
    db,
    clock,
    jobs,
    logger: deps.logger,
    email,
    sms,
    retryBaseMs: config.notificationRetryBaseMs,
  });
  let lastOrphanSweepMs = 0;

  const worker = createJobWorker({
    store: jobs,
    workerId: deps.instances.instanceId,
    logger: deps.logger,
    kinds: [SEND_JOB],
    concurrency: LIMITS.notificationConcurrencyMax,
    // The lease outlives the whole bounded send (three SMTP phases), so a live worker keeps it.
    leaseMs: config.notificationTimeoutMs * 3 + LIMITS.jobsLeaseMarginMs,
    pollIntervalMs: LIMITS.jobsPollIntervalMs,
    closeWaitMs: LIMITS.jobsCloseWaitMs,
    run: (job) => sender.run(job),
    beforeClaim: async () => {
      const pass = await trigger.runOnce();
      if (pass.consumed >= LIMITS.notificationTriggerBatchMax) worker.wake();
      // Finished jobs are pruned by the webhooks worker (same table, every kind).
      if (clock.nowMs() - lastOrphanSweepMs > LIMITS.jobsOrphanSweepIntervalMs) {
        lastOrphanSweepMs = clock.nowMs();
        await jobs.releaseOrphans((id) => deps.instances.isAlive(id));
      }
    },
  });

  return {
    start: async () => worker.start(),
    async close() {
      await worker.stop();
      email?.close();
    },
  };
}
