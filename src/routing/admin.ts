import type { ConnectorSettings } from '../connectors/types.ts';
import type { OpContext, Scope } from '../db/context.ts';
import type { Db } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import type { ListQueryInput } from '../http/pagination.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import type { EnvelopeCipher } from '../lib/crypto.ts';
import { LIMITS } from '../lib/limits.ts';
import { createRoutingConfigStore } from './config-store.ts';
import { createConnectorAccounts } from './connector-accounts.ts';
import { createMaintenanceWindows } from './maintenance.ts';
import type {
  ConnectorCreateInput,
  ConnectorListInput,
  ConnectorUpdateInput,
  MaintenanceWindowCreateInput,
  MaintenanceWindowUpdateInput,
  RoutingConfigUpdateInput,
} from './schemas.ts';
import type { RoutableConnector, RoutingConfig } from './types.ts';

// Connector accounts, routing configuration and maintenance windows: the
// admin API's services, and what the payment path reads of them on every
// payment. Reads are cached per scope for at most LIMITS.routingCacheMs and
// every write in this process drops the cache, so an API change is seen by
// the next payment at once here and within that time by other processes.

export interface ConnectorAccountSettings extends ConnectorSettings {
  accountId: string;
  livemode: boolean;
  timeoutMs: number;
  status: 'active' | 'disabled';
  deleted: boolean;
}

export interface MaintenanceWindowView {
  id: string;
  connector: string;
  starts_at: number;
  ends_at: number;
  note: string | null;
}

export interface RoutingAdmin {
  /** Active, not deleted connector accounts of the scope, in creation order (cached briefly). */
  routable(scope: Scope): Promise<RoutableConnector[]>;
  /** Decrypted settings of one connector account, deleted or not (old charges still capture and refund). */
  settings(connectorId: string): Promise<ConnectorAccountSettings | undefined>;
  /** The scope's routing configuration, or the default (cached briefly). */
  config(scope: Scope): Promise<RoutingConfig>;
  /** Scheduled windows that are on at `nowSeconds`, by connector id. */
  inMaintenance(scope: Scope, nowSeconds: number): Promise<Map<string, MaintenanceWindowView>>;
  /** Scheduled windows that have not ended by `nowSeconds`, soonest first. */
  upcomingMaintenance(scope: Scope, nowSeconds: number): Promise<MaintenanceWindowView[]>;
  /** Every active connector account of every account (for health probes). */
  allActive(): Promise<ConnectorAccountSettings[]>;
  /** The admin API's operations (routes.ts); each write drops this process's caches. */
  api: RoutingAdminApi;
}

export interface RoutingAdminDeps {
  db: Db;
  clock: Clock;
  cipher: EnvelopeCipher;
  events: EventsService;
}

/** A map whose entries expire, bounded in size (reset when full: a cache, not a store). */
class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expiresMs: number }>();
  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.clock.nowMs() >= entry.expiresMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: V): void {
    if (this.#entries.size >= LIMITS.routingCacheEntriesMax) this.#entries.clear();
    this.#entries.set(key, { value, expiresMs: this.clock.nowMs() + this.ttlMs });
  }
  delete(key: string): void {
    this.#entries.delete(key);
  }
}

const scopeKey = (scope: Scope) => `${scope.accountId}:${scope.livemode ? 1 : 0}`;

function createServices(deps: RoutingAdminDeps) {
  const connectors = createConnectorAccounts(deps);
  const maintenance = createMaintenanceWindows({ ...deps, connectors });
  const configs = createRoutingConfigStore({ ...deps, connectors });
  return { connectors, maintenance, configs, clock: deps.clock };
}

/** The admin API's operations, as routes.ts calls them. */
export type RoutingAdminApi = ReturnType<typeof createApi>;

function createApi(services: ReturnType<typeof createServices>, afterWrite: AfterWrite) {
  const { connectors, maintenance, configs } = services;
  return {
    /** Now in unix seconds on the engine's clock (maintenance window status). */
    nowSeconds: () => unixSeconds(services.clock),
    createConnector: (ctx: OpContext, input: ConnectorCreateInput) =>
      afterWrite(ctx.scope, null, () => connectors.create(ctx, input)),
    retrieveConnector: connectors.retrieve,
    updateConnector: (ctx: OpContext, id: string, input: ConnectorUpdateInput) =>
      afterWrite(ctx.scope, id, () => connectors.update(ctx, id, input)),
    deleteConnector: (ctx: OpContext, id: string) =>
      afterWrite(ctx.scope, id, () => connectors.remove(ctx, id)),
    listConnectors: (scope: Scope, filters: ConnectorListInput) => connectors.list(scope, filters),
    /** The connector's windows that have not ended (404 if the connector is not live). */
    connectorWindows: async (scope: Scope, id: string) => {
      await connectors.retrieve(scope, id);
      return maintenance.openForConnector(scope, id);
    },
    createWindow: (ctx: OpContext, connectorId: string, input: MaintenanceWindowCreateInput) =>
      afterWrite(ctx.scope, null, () => maintenance.create(ctx, connectorId, input)),
    updateWindow: (ctx: OpContext, id: string, input: MaintenanceWindowUpdateInput) =>
      afterWrite(ctx.scope, null, () => maintenance.update(ctx, id, input)),
    cancelWindow: (ctx: OpContext, id: string) =>
      afterWrite(ctx.scope, null, () => maintenance.cancel(ctx, id)),
    retrieveWindow: maintenance.retrieve,
    listWindows: (scope: Scope, connectorId: string, filters: ListQueryInput) =>
      maintenance.list(scope, connectorId, filters),
    readConfig: configs.read,
    replaceConfig: (ctx: OpContext, input: RoutingConfigUpdateInput) =>
      afterWrite(ctx.scope, null, () => configs.replace(ctx, input)),
  };
}

type AfterWrite = <T>(
  scope: Scope,
  connectorId: string | null,
  run: () => Promise<T>,
) => Promise<T>;

export function createRoutingAdmin(deps: RoutingAdminDeps): RoutingAdmin {
  const services = createServices(deps);
  const ttlMs = LIMITS.routingCacheMs;
  const routableCache = new ExpiringCache<RoutableConnector[]>(deps.clock, ttlMs);
  const configCache = new ExpiringCache<RoutingConfig>(deps.clock, ttlMs);
  const windowsCache = new ExpiringCache<MaintenanceWindowView[]>(deps.clock, ttlMs);
  const settingsCache = new ExpiringCache<ConnectorAccountSettings>(deps.clock, ttlMs);
  // Bumped by every write: a read that began before a write does not put what
  // it read (possibly older than the write) back into the cache.
  let generation = 0;

  async function cached<V>(cache: ExpiringCache<V>, key: string, load: () => Promise<V>) {
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const started = generation;
    const value = await load();
    if (generation === started) cache.set(key, value);
    return value;
  }

  const afterWrite: AfterWrite = async (scope, connectorId, run) => {
    try {
      return await run();
    } finally {
      // Also after a failure: the transaction may have committed before it.
      generation += 1;
      routableCache.delete(scopeKey(scope));
      configCache.delete(scopeKey(scope));
      windowsCache.delete(scopeKey(scope));
      if (connectorId) settingsCache.delete(connectorId);
    }
  };

  /** Scheduled windows of the scope that have not ended (cached), filtered at `nowSeconds`. */
  async function openWindows(scope: Scope, nowSeconds: number) {
    const all = await cached(windowsCache, scopeKey(scope), () =>
      services.maintenance.upcoming(scope, nowSeconds),
    );
    return all.filter((w) => w.ends_at > nowSeconds);
  }

  return {
    routable: (scope) =>
      cached(routableCache, scopeKey(scope), () => services.connectors.routable(scope)),
    config: (scope) =>
      cached(configCache, scopeKey(scope), async () => (await services.configs.read(scope)).config),
    settings: async (id) => {
      const hit = settingsCache.get(id);
      if (hit) return hit;
      const started = generation;
      const found = await services.connectors.settings(id);
      if (found && generation === started) settingsCache.set(id, found);
      return found;
    },
    inMaintenance: async (scope, nowSeconds) => {
      const on = new Map<string, MaintenanceWindowView>();
      for (const w of await openWindows(scope, nowSeconds)) {
        if (w.starts_at <= nowSeconds && !on.has(w.connector)) on.set(w.connector, w);
      }
      return on;
    },
    upcomingMaintenance: openWindows,
    allActive: () => services.connectors.allActive(),
    api: createApi(services, afterWrite),
  };
}
