import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import type { RouteDeps } from '../http/route.ts';
import { createLedgerService } from '../ledger/service.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import type { EnvelopeCipher } from '../lib/crypto.ts';
import { createBankAccounts } from './bank-accounts.ts';
import { registerPayoutsRoutes } from './routes.ts';
import { createPayoutsService } from './service.ts';

// Wiring of the payouts module: bank accounts, payouts and their routes.

export interface PayoutsModuleDeps {
  app: FastifyInstance;
  routeDeps: RouteDeps;
  db: Db;
  clock: Clock;
  events: EventsService;
  cipher: EnvelopeCipher;
  config: Config;
}

export function createPayoutsModule(deps: PayoutsModuleDeps) {
  const { db, clock, events, cipher, config } = deps;
  const ledger = createLedgerService({
    db,
    clock,
    availableAfterSeconds: config.fundsAvailableAfterSeconds,
    settlementCutoffSeconds: config.settlementCutoffSeconds,
  });
  const postgres = config.databaseUrl !== undefined;
  const bankAccounts = createBankAccounts({ db, clock, cipher, events, postgres });
  const payouts = createPayoutsService({
    db,
    clock,
    events,
    bankAccounts,
    postgres,
    // Funds that became due are released before the balance is read, as GET /v1/balance does.
    releaseDue: async (scope) => {
      await ledger.releaseAvailable({ nowSeconds: unixSeconds(clock), scope });
    },
  });
  registerPayoutsRoutes(deps.app, { ...deps.routeDeps, bankAccounts, payouts });
  return { bankAccounts, payouts };
}
