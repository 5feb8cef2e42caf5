import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import type { CustomersService } from './customers/service.ts';
import type { Db } from './db/database.ts';
import type { InstanceRegistry } from './db/instances.ts';
import type { EventsService } from './events/service.ts';
import type { IdempotencyStore } from './http/idempotency.ts';
import type { RouteDeps } from './http/route.ts';
import type { Clock } from './lib/clock.ts';
import type { EnvelopeCipher } from './lib/crypto.ts';
import type { Logger } from './lib/logger.ts';
import { createPaymentsModule } from './payments/module.ts';
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
  const payments = createPaymentsModule({ ...deps, vault });
  return {
    recover: () => payments.recover(),
    close: () => payments.close(),
  };
}
