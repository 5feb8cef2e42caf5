import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { registerAccountRoutes } from './accounts/routes.ts';
import { type AccountsService, createAccountsService } from './accounts/service.ts';
import type { Config } from './config.ts';
import { registerCustomerRoutes } from './customers/routes.ts';
import { createCustomersService } from './customers/service.ts';
import { type DatabaseHandle, migrate, openDatabase } from './db/database.ts';
import { createInstanceRegistry } from './db/instances.ts';
import { registerEventRoutes } from './events/routes.ts';
import { createEventsService } from './events/service.ts';
import { createIdempotencyStore, type IdempotencyStore } from './http/idempotency.ts';
import { openApiDocument } from './http/openapi.ts';
import { buildServer } from './http/server.ts';
import { type Clock, systemClock } from './lib/clock.ts';
import { EnvelopeCipher } from './lib/crypto.ts';
import { LIMITS } from './lib/limits.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { wireModules } from './modules.ts';
import { createNotificationsModule } from './notifications/module.ts';
import { loadMasterKey } from './vault/master-key.ts';
import { createWebhooksModule } from './webhooks/module.ts';

// The composition root: the only place where implementations are wired
// together. main.ts starts it; tests build it in-process.

export const VERSION = '0.1.0';

export interface Engine {
  app: FastifyInstance;
  database: DatabaseHandle;
  accounts: AccountsService;
  idempotency: IdempotencyStore;
  instanceId: string;
  logger: Logger;
  /** Runs recovery of work that a previous process left half-done. */
  recover(): Promise<void>;
  /** One pass of a background job now, without waiting for its timer (tests, drills). */
  background: { recoverPayments(): Promise<void>; probeConnectors(): Promise<void> };
  close(): Promise<void>;
}

export async function createEngine(
  config: Config,
  options: { clock?: Clock; logger?: Logger } = {},
): Promise<Engine> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const database = openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  await migrate(database);
  const instances = await createInstanceRegistry(database, config.databaseUrl);
  const instanceId = instances.instanceId;
  const { db } = database;
  const masterKey = loadMasterKey({ masterKey: config.masterKey, dataDir: config.dataDir });
  const cipher = new EnvelopeCipher(masterKey);
  const hashKey = createHmac('sha256', masterKey).update('payrail:idempotency').digest();

  const accounts = createAccountsService(db, clock);
  const events = createEventsService(db, clock);
  const customers = createCustomersService({ db, clock, events });
  const idempotency = createIdempotencyStore(db, clock, instanceId, {
    hashKey,
    isAlive: (id) => instances.isAlive(id),
  });

  const app = buildServer({ logger, accounts, shedding: { maxInflight: config.maxInflight } });
  const routeDeps = { idempotency };
  registerAccountRoutes(app, { ...routeDeps, accounts });
  registerCustomerRoutes(app, { ...routeDeps, customers });
  registerEventRoutes(app, { ...routeDeps, events });
  const modules = wireModules({
    app,
    routeDeps,
    db,
    clock,
    events,
    customers,
    cipher,
    config,
    idempotency,
    logger,
    instances,
  });

  const webhooks = createWebhooksModule({
    app,
    routeDeps,
    db,
    clock,
    events,
    cipher,
    config,
    logger,
    instances,
  });

  const notifications = createNotificationsModule({
    app,
    routeDeps,
    db,
    clock,
    config,
    logger,
    instances,
  });

  app.get('/healthz', async (_request, reply) => {
    await db.selectFrom('accounts').select('id').limit(1).execute();
    return reply.send({ status: 'ok', database: database.dialect });
  });
  app.get('/openapi.json', async () => openApiDocument(VERSION));

  const sweepKeys = async () => {
    await idempotency.releaseAbandoned();
    await idempotency.prune();
  };
  let sweeper: NodeJS.Timeout | undefined;

  return {
    app,
    database,
    accounts,
    idempotency,
    instanceId,
    logger,
    background: {
      recoverPayments: () => modules.recover(),
      probeConnectors: () => modules.probes.runOnce(),
    },
    async recover() {
      await idempotency.releaseAbandoned();
      await modules.recover();
      await idempotency.prune();
      await webhooks.start();
      await notifications.start();
      sweeper ??= setInterval(() => {
        sweepKeys().catch((err) => logger.error({ err }, 'idempotency sweep failed'));
      }, LIMITS.idempotencySweepIntervalMs);
      sweeper.unref();
    },
    async close() {
      if (sweeper) clearInterval(sweeper);
      await notifications.close();
      await webhooks.close();
      await modules.close();
      await app.close();
      await instances.close();
      await database.close();
    },
  };
}
