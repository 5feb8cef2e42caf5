import { livemodeFlag, type Scope } from '../db/context.ts';
import type { Db } from '../db/database.ts';
import type { IncidentsTable } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import type { MaintenanceWindowView, RoutingAdmin } from '../routing/admin.ts';
import type { HealthMonitor } from '../routing/types.ts';
import { activeConnectors, type ConnectorView } from './connectors.ts';
import { toSeconds } from './serialize.ts';
import { updatesOf } from './store.ts';

// The public status page's content: what a customer needs during an outage.
// Only customer-safe facts: payment method states, incident titles and the
// operators' (or the health monitor's) messages, maintenance times and
// processor names. No credentials, no internal ids except the incident id.

export type ComponentStatus = 'operational' | 'degraded' | 'outage';

export interface StatusIncident {
  id: string;
  title: string;
  impact: string;
  status: string;
  started: number;
  resolved: number | null;
  /** Newest first. */
  updates: { kind: string; status: string; message: string; created: number }[];
}

export interface StatusPage {
  object: 'status_page';
  account: { id: string; name: string };
  livemode: boolean;
  status: ComponentStatus;
  payment_methods: { type: string; name: string; status: ComponentStatus }[];
  incidents: StatusIncident[];
  maintenance: {
    processor: string;
    starts_at: number;
    ends_at: number;
    in_progress: boolean;
    note: string | null;
  }[];
  recently_resolved: StatusIncident[];
  generated: number;
}

/** The payment method types a connector account can serve, in display order. */
export const METHOD_NAMES: Record<string, string> = {
  card: 'Cards',
  sepa_debit: 'SEPA Direct Debit',
  us_bank_account: 'US bank accounts (ACH)',
};

const RANK: Record<ComponentStatus, number> = { operational: 0, degraded: 1, outage: 2 };
const worst = (states: ComponentStatus[]): ComponentStatus =>
  states.reduce<ComponentStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'operational');

const IMPACT_STATUS: Record<string, ComponentStatus> = {
  degraded_performance: 'degraded',
  partial_outage: 'degraded',
  major_outage: 'outage',
};

export function createStatusPage(deps: {
  db: Db;
  clock: Clock;
  health: HealthMonitor;
  routing: Pick<RoutingAdmin, 'inMaintenance' | 'upcomingMaintenance'>;
}) {
  const { db, clock } = deps;

  /**
   * outage: no connector serving the type can take a payment (all down or in
   * maintenance); degraded: some are down, degraded or in maintenance;
   * operational: every one is healthy.
   */
  function methodStates(
    connectors: ConnectorView[],
    inMaintenance: Map<string, MaintenanceWindowView>,
  ): StatusPage['payment_methods'] {
    return Object.keys(METHOD_NAMES).flatMap((type) => {
      const serving = connectors.filter((c) => c.paymentMethodTypes.includes(type));
      if (serving.length === 0) return [];
      const states = serving.map((c) =>
        inMaintenance.has(c.id) ? 'maintenance' : deps.health.health(c.id).status,
      );
      const canTake = states.some((s) => s === 'healthy' || s === 'degraded');
      const status: ComponentStatus = !canTake
        ? 'outage'
        : states.every((s) => s === 'healthy')
          ? 'operational'
          : 'degraded';
      return [{ type, name: METHOD_NAMES[type] ?? type, status }];
    });
  }

  async function incidents(scope: Scope, open: boolean, sinceMs: number) {
    let q = db
      .selectFrom('incidents')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    q = open
      ? q.where('resolved_ms', 'is', null)
      : q.where('resolved_ms', 'is not', null).where('resolved_ms', '>=', sinceMs);
    const rows = await q.orderBy('id', 'desc').limit(LIMITS.statusPageIncidentsMax).execute();
    const updates = await updatesOf(
      db,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toStatusIncident(r, updates.get(r.id) ?? []));
  }

  async function build(scope: Scope, accountName: string): Promise<StatusPage> {
    const nowMs = clock.nowMs();
    const nowSeconds = toSeconds(nowMs);
    const connectors = await activeConnectors(db, scope);
    const inMaintenance = await deps.routing.inMaintenance(scope, nowSeconds);
    const upcoming = await deps.routing.upcomingMaintenance(scope, nowSeconds);
    const names = new Map(connectors.map((c) => [c.id, c.name]));
    const methods = methodStates(connectors, inMaintenance);
    const ongoing = await incidents(scope, true, 0);
    const resolvedSinceMs = nowMs - LIMITS.statusPageResolvedDays * 24 * 3600 * 1000;
    return {
      object: 'status_page',
      account: { id: scope.accountId, name: accountName },
      livemode: scope.livemode,
      status: worst([
        ...methods.map((m) => m.status),
        ...ongoing.map((i) => IMPACT_STATUS[i.impact] ?? 'degraded'),
      ]),
      payment_methods: methods,
      incidents: ongoing,
      maintenance: upcoming.slice(0, LIMITS.statusPageIncidentsMax).map((m) => ({
        processor: names.get(m.connector) ?? 'A payment processor',
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        in_progress: m.starts_at <= nowSeconds && nowSeconds < m.ends_at,
        note: m.note,
      })),
      recently_resolved: await incidents(scope, false, resolvedSinceMs),
      generated: nowSeconds,
    };
  }

  /** The account's display name, or undefined when there is no such account. */
  async function accountName(accountId: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('accounts')
      .select(['id', 'business_name'])
      .where('id', '=', accountId)
      .executeTakeFirst();
    return row ? (row.business_name ?? row.id) : undefined;
  }

  return { build, accountName };
}

function toStatusIncident(
  row: IncidentsTable,
  updates: { kind: string; status: string; message: string; created_ms: number }[],
): StatusIncident {
  return {
    id: row.id,
    title: row.title,
    impact: row.impact,
    status: row.status,
    started: toSeconds(row.started_ms),
    resolved: row.resolved_ms === null ? null : toSeconds(row.resolved_ms),
    updates: updates
      .slice(-LIMITS.statusPageUpdatesMax)
      .reverse()
      .map((u) => ({
        kind: u.kind,
        status: u.status,
        message: u.message,
        created: toSeconds(u.created_ms),
      })),
  };
}
