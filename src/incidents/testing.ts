import type { FastifyInstance } from 'fastify';
import type { AccountsService } from '../accounts/service.ts';
import type { Scope } from '../db/context.ts';
import { type Db, toJson } from '../db/database.ts';
import { createEventsService } from '../events/service.ts';
import type { IdempotencyStore } from '../http/idempotency.ts';
import { buildServer } from '../http/server.ts';
import { type Clock, systemClock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { MaintenanceWindowView, RoutingAdmin } from '../routing/admin.ts';
import type { HealthMonitor, HealthStatus } from '../routing/types.ts';
import { createIncidentsModule, type IncidentsModule } from './module.ts';

// Test support for the incidents tests (not used by the engine): a second
// incidents module on an engine's database, with a health monitor and a
// routing admin the test controls, served by its own Fastify app. It is what
// a second engine process looks like to the database.

export interface FakeHealth extends HealthMonitor {
  set(connector: string, status: HealthStatus): void;
}

export function fakeHealth(): FakeHealth {
  const statuses = new Map<string, HealthStatus>();
  return {
    set: (connector, status) => void statuses.set(connector, status),
    call: (_c, _m, run) => run(),
    recordProbe: () => {},
    breaker: (c) => (statuses.get(c) === 'down' ? 'open' : 'closed'),
    health: (connector) => {
      const status = statuses.get(connector) ?? 'healthy';
      return {
        connector,
        status,
        breaker: status === 'down' ? 'open' : 'closed',
        opened_at_ms: null,
        window_calls: 0,
        error_rate: 0,
        latency_ms: { p50: null, p95: null, p99: null },
        success_rate: {},
        last_probe: null,
      };
    },
    known: () => [...statuses.keys()],
    onChange: () => () => {},
    close: () => {},
  };
}

export interface FakeRouting extends Pick<RoutingAdmin, 'inMaintenance' | 'upcomingMaintenance'> {
  windows: MaintenanceWindowView[];
}

/** Maintenance comes from `windows`, which the test fills. */
export function fakeRouting(): FakeRouting {
  const windows: MaintenanceWindowView[] = [];
  return {
    windows,
    inMaintenance: async (_scope, now) =>
      new Map(
        windows.filter((w) => w.starts_at <= now && now < w.ends_at).map((w) => [w.connector, w]),
      ),
    upcomingMaintenance: async (_scope, now) =>
      windows.filter((w) => w.ends_at > now).sort((a, b) => a.starts_at - b.starts_at),
  };
}

export interface SideModule {
  module: IncidentsModule;
  health: FakeHealth;
  routing: FakeRouting;
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startSideModule(deps: {
  db: Db;
  accounts: AccountsService;
  idempotency: IdempotencyStore;
  logger: Logger;
  clock?: Clock;
}): Promise<SideModule> {
  const clock = deps.clock ?? systemClock;
  const health = fakeHealth();
  const routing = fakeRouting();
  const app = buildServer({ logger: deps.logger, accounts: deps.accounts });
  const module = createIncidentsModule({
    app,
    routeDeps: { idempotency: deps.idempotency },
    db: deps.db,
    clock,
    events: createEventsService(deps.db, clock),
    health,
    routing,
    logger: deps.logger,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    module,
    health,
    routing,
    app,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await module.close();
      await app.close();
    },
  };
}

/** A connector account row, as the routing admin would write it (credentials are not read here). */
export async function insertConnector(
  db: Db,
  scope: Scope,
  options: { name: string; paymentMethodTypes: string[]; status?: 'active' | 'disabled' },
): Promise<string> {
  const id = newId('conn');
  await db
    .insertInto('connector_accounts')
    .values({
      id,
      account_id: scope.accountId,
      livemode: scope.livemode ? 1 : 0,
      type: 'psp_sim',
      name: options.name,
      status: options.status ?? 'active',
      base_url: null,
      credentials_enc: 'not-read-by-incidents',
      credentials_hint: toJson({ api_key: '****SECRET' }),
      currencies: null,
      payment_method_types: toJson(options.paymentMethodTypes),
      fee_rate_ppm: 0,
      fee_fixed: 0,
      timeout_ms: 1000,
      metadata: '{}',
      deleted: 0,
      created: Math.floor(Date.now() / 1000),
    })
    .execute();
  return id;
}
