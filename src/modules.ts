import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import type { CustomersService } from './customers/service.ts';
import type { Db } from './db/database.ts';
import type { InstanceRegistry } from './db/instances.ts';
import { createDisputesModule } from './disputes/module.ts';
import type { EventsService } from './events/service.ts';
import { createMappingService } from './exports/mappings.ts';
import { registerExportRoutes } from './exports/routes.ts';
import { registerFxRoutes } from './fx/routes.ts';
import { createFxService } from './fx/service.ts';
import type { IdempotencyStore } from './http/idempotency.ts';
import type { RouteDeps } from './http/route.ts';
import { createIncidentsModule } from './incidents/module.ts';
import { createSettlementTimer } from './ledger/settle.ts';
import type { Clock } from './lib/clock.ts';
import type { EnvelopeCipher } from './lib/crypto.ts';
import { LIMITS } from './lib/limits.ts';
import type { Logger } from './lib/logger.ts';
import { createMetrics, registerMetrics } from './metrics.ts';
import { createPaymentsModule } from './payments/module.ts';
import { createPayoutsModule } from './payouts/module.ts';
import { registerReconciliationRoutes } from './reconciliation/routes.ts';
import { createReconciliationService } from './reconciliation/service.ts';
import { createRoutingAdmin } from './routing/admin.ts';
import { createHealthMonitor } from './routing/health.ts';
import { createProbes } from './routing/probes.ts';
import { registerRoutingRoutes } from './routing/routes.ts';
import { registerPaymentMethodRoutes } from './vault/routes.ts';
import { createVaultService } from './vault/service.ts';

// Wiring of the payment modules (vault, payments, refunds, connectors).
export interface ModuleDeps {
  app: FastifyInstance;
  routeDeps: RouteDeps;
  db: Db;
  clock: Clock;
  events: EventsService;
  customers: CustomersService;
  cipher: EnvelopeCipher;
  config: Config;
  idempotency: IdempotencyStore;
  logger: Logger;
  instances: InstanceRegistry;
}

export function wireModules(deps: ModuleDeps) {
  const vault = createVaultService({
    db: deps.db,
    clock: deps.clock,
    cipher: deps.cipher,
    events: deps.events,
    customers: deps.customers,
  });
  registerPaymentMethodRoutes(deps.app, { ...deps.routeDeps, vault });
  const health = createHealthMonitor({
    clock: deps.clock,
    logger: deps.logger,
    options: { breakerHalfOpenAfterMs: deps.config.breakerHalfOpenAfterMs },
  });
  const routing = createRoutingAdmin({
    db: deps.db,
    clock: deps.clock,
    cipher: deps.cipher,
    events: deps.events,
  });
  registerRoutingRoutes(deps.app, { ...deps.routeDeps, routing, health });
  const incidents = createIncidentsModule({
    app: deps.app,
    routeDeps: deps.routeDeps,
    db: deps.db,
    clock: deps.clock,
    events: deps.events,
    health,
    routing,
    logger: deps.logger,
  });
  const stopListening = health.onChange((change) => void incidents.onHealthChange(change));
  const metrics = createMetrics(health);
  // Disputes (docs/disputes.md): before payments, whose webhook route hands it processor notices.
  const disputes = createDisputesModule({
    ...deps,
    vault,
    // Called at request time, once payments (below) exists: evidence goes to the dispute's processor.
    resolveConnector: (id) => payments.connectors.resolve(id),
  });
  const payments = createPaymentsModule({
    ...deps,
    vault,
    routing,
    health,
    metrics,
    disputes: disputes.disputes,
  });
  // Due funds move pending → available in settlement batches, in the background too.
  const settlementTimer = createSettlementTimer({
    settle: (input) => payments.ledger.settle(input),
    clock: deps.clock,
    logger: deps.logger,
    intervalMs: deps.config.settlementIntervalMs,
  });
  createPayoutsModule(deps);
  // Reconciliation of processor reports and bank statements (docs/reconciliation.md).
  registerReconciliationRoutes(deps.app, {
    ...deps.routeDeps,
    reconciliation: createReconciliationService({
      db: deps.db,
      clock: deps.clock,
      events: deps.events,
      bankTransfers: payments.bankTransfers,
    }),
  });
  const probes = createProbes({
    routing,
    health,
    resolve: (id) => payments.connectors.resolve(id),
    logger: deps.logger,
    options: { intervalMs: deps.config.probeIntervalMs, timeoutMs: LIMITS.probeTimeoutMs },
  });
  registerMetrics(deps.app, metrics);
  // FX rates and accounting exports (docs/fx.md, docs/exports.md).
  const fxDeps = { db: deps.db, clock: deps.clock };
  registerFxRoutes(deps.app, { ...deps.routeDeps, fx: createFxService(fxDeps) });
  registerExportRoutes(deps.app, {
    ...deps.routeDeps,
    db: deps.db,
    mappings: createMappingService(fxDeps),
  });
  return {
    recover: async () => {
      await payments.recover();
      settlementTimer.start();
      probes.start();
    },
    probes,
    health,
    close: async () => {
      stopListening();
      disputes.close();
      await probes.close();
      await settlementTimer.close();
      await payments.close();
      await incidents.close();
      health.close();
    },
  };
}
