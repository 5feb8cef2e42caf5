import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import type { CustomersService } from './customers/service.ts';
import type { Db } from './db/database.ts';
import type { EventsService } from './events/service.ts';
import type { IdempotencyStore } from './http/idempotency.ts';
import type { RouteDeps } from './http/route.ts';
import type { Clock } from './lib/clock.ts';
import type { EnvelopeCipher } from './lib/crypto.ts';
import type { Logger } from './lib/logger.ts';

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
}

export function wireModules(_deps: ModuleDeps) {
  return {
    recover: async () => {},
    close: async () => {},
  };
}
