import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import type { RouteDeps } from '../http/route.ts';
import { createDisputeBooking } from '../ledger/disputes.ts';
import type { Clock } from '../lib/clock.ts';
import type { VaultService } from '../vault/types.ts';
import { registerDisputeRoutes } from './routes.ts';
import { sandboxDisputeListener } from './sandbox.ts';
import { createDisputesService, type DisputeConnectorResolver } from './service.ts';

// The disputes module (docs/disputes.md): its routes, the sandbox's dispute
// test card, the service the processors' notices go to (the connector
// webhook route, src/payments/webhook-route.ts), and evidence forwarding to
// the processor that holds a dispute.
export function createDisputesModule(deps: {
  app: FastifyInstance;
  routeDeps: RouteDeps;
  db: Db;
  clock: Clock;
  events: EventsService;
  vault: VaultService;
  config: Config;
  /** The processors that hold disputes, for forwarding submitted evidence. */
  resolveConnector?: DisputeConnectorResolver;
}) {
  const booking = createDisputeBooking({
    clock: deps.clock,
    availableAfterSeconds: deps.config.fundsAvailableAfterSeconds,
    settlementCutoffSeconds: deps.config.settlementCutoffSeconds,
  });
  const disputes = createDisputesService({
    db: deps.db,
    clock: deps.clock,
    events: deps.events,
    booking,
    ...(deps.resolveConnector ? { resolveConnector: deps.resolveConnector } : {}),
  });
  registerDisputeRoutes(deps.app, { ...deps.routeDeps, disputes });
  const stopListening = deps.events.onRecorded(
    sandboxDisputeListener({ vault: deps.vault, disputes }),
  );
  return { disputes, close: stopListening };
}

export type DisputesModule = ReturnType<typeof createDisputesModule>;
