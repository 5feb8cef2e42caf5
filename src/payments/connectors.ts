import type {
  Connector,
  ConnectorDefinition,
  ConnectorOutcome,
  ConnectorType,
} from '../connectors/types.ts';
import type { Scope } from '../db/context.ts';
import type { Clock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Metrics } from '../metrics.ts';
import type {
  ConnectorAccountSettings,
  MaintenanceWindowView,
  RoutingAdmin,
} from '../routing/admin.ts';
import { rankCandidates } from '../routing/rank.ts';
import type {
  HealthMonitor,
  PaymentFacts,
  RoutableConnector,
  RoutingConfig,
} from '../routing/types.ts';

// Which connectors serve a payment, and how a connector is called. Routing
// state (connector accounts, configuration, maintenance windows) is read
// before the payment's transaction (`snapshot`), because on SQLite a read
// outside the open transaction would wait for it; the ranking itself is pure
// and runs inside. In test mode an account without connector accounts uses
// the built-in sandbox; in live mode it must configure one.

export const BUILTIN_SANDBOX = 'sandbox';

export interface ResolvedConnector {
  connector: Connector;
  type: ConnectorType;
  timeoutMs: number;
}

export interface RoutingSnapshot {
  connectors: RoutableConnector[];
  config: RoutingConfig;
  maintenance: Map<string, MaintenanceWindowView>;
  /** No connector accounts: the built-in sandbox serves (test mode only). */
  builtinSandbox: boolean;
}

export interface PlannedCandidate {
  connectorId: string;
  type: ConnectorType;
  reason: string;
}

export interface RoutePlan {
  candidates: PlannedCandidate[];
  /** Why connectors were left out, for the failure message and the event. */
  excluded: string[];
  config: RoutingConfig;
}

export interface CallResult {
  outcome: ConnectorOutcome;
  latencyMs: number;
}

export interface ConnectorRegistry {
  snapshot(scope: Scope): Promise<RoutingSnapshot>;
  config(scope: Scope): Promise<RoutingConfig>;
  plan(snapshot: RoutingSnapshot, facts: PaymentFacts): RoutePlan;
  /** The connector behind an id stored on an attempt or charge (deleted accounts included). */
  resolve(connectorId: string): Promise<ResolvedConnector>;
  /** One call through the connector's breaker, with its timeout; an exception is `unknown`. */
  call(
    resolved: ResolvedConnector,
    paymentMethodType: string | null,
    run: (connector: Connector, signal: AbortSignal) => Promise<ConnectorOutcome>,
  ): Promise<CallResult>;
}

export function createConnectorRegistry(deps: {
  clock: Clock;
  sandbox: Connector;
  definitions: Record<ConnectorType, ConnectorDefinition>;
  routing: RoutingAdmin;
  health: HealthMonitor;
  metrics: Pick<Metrics, 'connectorCall'>;
  random?: () => number;
}): ConnectorRegistry {
  const { clock, sandbox, definitions, routing, health } = deps;
  const random = deps.random ?? Math.random;
  const built = new Map<
    string,
    { settings: ConnectorAccountSettings; resolved: ResolvedConnector }
  >();

  async function snapshot(scope: Scope): Promise<RoutingSnapshot> {
    const connectors = await routing.routable(scope);
    if (connectors.length === 0) {
      if (scope.livemode) {
        throw new ApiError(
          'processor_not_configured',
          'No payment processor is configured for live mode; add one with POST /v1/connectors.',
        );
      }
      return {
        connectors,
        config: await routing.config(scope),
        maintenance: new Map(),
        builtinSandbox: true,
      };
    }
    const [config, maintenance] = await Promise.all([
      routing.config(scope),
      routing.inMaintenance(scope, Math.floor(clock.nowMs() / 1000)),
    ]);
    return { connectors, config, maintenance, builtinSandbox: false };
  }

  function plan(snap: RoutingSnapshot, facts: PaymentFacts): RoutePlan {
    if (snap.builtinSandbox) {
      return {
        candidates: [
          {
            connectorId: BUILTIN_SANDBOX,
            type: 'sandbox',
            reason: 'test mode without connectors: built-in sandbox',
          },
        ],
        excluded: [],
        config: snap.config,
      };
    }
    const decision = rankCandidates({
      config: snap.config,
      facts,
      connectors: snap.connectors,
      view: {
        breaker: (id) => health.breaker(id),
        maintenance: (id) => {
          const window = snap.maintenance.get(id);
          return window ? (window.note ?? `maintenance window ${window.id}`) : null;
        },
        successRate: (id, method) =>
          health.health(id).success_rate[method] ?? { rate: null, samples: 0 },
      },
      random,
    });
    return {
      candidates: decision.candidates
        .slice(0, snap.config.max_attempts)
        .map((c) => ({ connectorId: c.connector.id, type: c.connector.type, reason: c.reason })),
      excluded: decision.excluded.map((e) => `${e.connector.name}: ${e.reason}`),
      config: snap.config,
    };
  }

  async function resolve(connectorId: string): Promise<ResolvedConnector> {
    if (connectorId === BUILTIN_SANDBOX) {
      return { connector: sandbox, type: 'sandbox', timeoutMs: LIMITS.connectorTimeoutMs };
    }
    const settings = await routing.settings(connectorId);
    if (!settings) throw new Error(`connector ${connectorId} is not configured`);
    const cached = built.get(connectorId);
    if (cached && cached.settings === settings) return cached.resolved;
    const connector = definitions[settings.type].create(settings);
    const resolved = { connector, type: settings.type, timeoutMs: settings.timeoutMs };
    built.set(connectorId, { settings, resolved });
    return resolved;
  }

  async function call(
    resolved: ResolvedConnector,
    paymentMethodType: string | null,
    run: (connector: Connector, signal: AbortSignal) => Promise<ConnectorOutcome>,
  ): Promise<CallResult> {
    const started = clock.nowMs();
    const outcome = await health.call(resolved.connector.name, paymentMethodType, async () => {
      try {
        return await run(resolved.connector, AbortSignal.timeout(resolved.timeoutMs));
      } catch (error) {
        return {
          status: 'unknown',
          reason: error instanceof Error ? error.message : String(error),
        } satisfies ConnectorOutcome;
      }
    });
    const latencyMs = Math.max(0, clock.nowMs() - started);
    deps.metrics.connectorCall(resolved.connector.name, outcome.status, latencyMs);
    return { outcome, latencyMs };
  }

  return { snapshot, config: (scope) => routing.config(scope), plan, resolve, call };
}
