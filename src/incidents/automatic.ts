import { internalContext, type Scope } from '../db/context.ts';
import { type Db, fromJson, type Tx, toJson } from '../db/database.ts';
import type { IncidentsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import type { Clock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { HealthChange, HealthMonitor } from '../routing/types.ts';
import { activeConnectors, type ConnectorView, connectorById } from './connectors.ts';
import { type Impact, worseImpact } from './schemas.ts';
import { createIncidentStore, isUniqueViolation, type NewUpdate } from './store.ts';

// Automatic incidents: the health monitor's status changes open, update and
// resolve one incident per connector. Several engine processes may see the
// same breaker open at once; the unique index on open automatic incidents
// lets only one insert win, and the loser adds its entry to the winner's.

export interface AutomaticDeps {
  db: Db;
  clock: Clock;
  events: EventsService;
  health: HealthMonitor;
  logger: Logger;
}

const HEADLINE: Record<HealthChange['to'], string> = {
  down: 'Payments are failing',
  degraded: 'Payments are degraded',
  healthy: 'Recovered',
};

function entryMessage(change: HealthChange): string {
  return `${HEADLINE[change.to]}: ${change.reason}`;
}

export function createAutomaticIncidents(deps: AutomaticDeps) {
  const { db, clock, logger } = deps;
  const store = createIncidentStore(deps);

  /**
   * major_outage when the connector was the last working one for some payment
   * method type of its account (the only active one, or every other one is
   * down too); partial_outage otherwise; degraded_performance when degraded.
   */
  async function impactOf(connector: ConnectorView, change: HealthChange): Promise<Impact> {
    if (change.to === 'degraded') return 'degraded_performance';
    const others = (await activeConnectors(db, scopeOf(connector))).filter(
      (c) => c.id !== connector.id && deps.health.health(c.id).status !== 'down',
    );
    const orphaned = connector.paymentMethodTypes.some(
      (type) => !others.some((c) => c.paymentMethodTypes.includes(type)),
    );
    return orphaned ? 'major_outage' : 'partial_outage';
  }

  async function openIncident(
    tx: Tx,
    connector: ConnectorView,
    change: HealthChange,
    impact: Impact,
  ) {
    const row: IncidentsTable = {
      id: newId('inc', clock.nowMs()),
      account_id: connector.accountId,
      livemode: connector.livemode ? 1 : 0,
      connector_id: connector.id,
      source: 'automatic',
      title: `Payments through ${connector.name} are ${change.to === 'down' ? 'failing' : 'degraded'}`,
      impact,
      status: 'investigating',
      started_ms: change.at_ms,
      resolved_ms: null,
      metadata: toJson({ health_status: change.to }),
      created: Math.floor(clock.nowMs() / 1000),
    };
    await store.insertIncident(tx, row, {
      kind: 'opened',
      status: 'investigating',
      message: entryMessage(change),
    });
    await store.recordEvent(tx, internalContext(scopeOf(connector)), 'incident.created', row);
  }

  async function continueIncident(
    tx: Tx,
    open: IncidentsTable,
    connector: ConnectorView,
    change: HealthChange,
    impact: Impact | null,
  ) {
    const ctx = internalContext(scopeOf(connector));
    if (change.to === 'healthy') {
      const after = await store.appendUpdate(
        tx,
        open,
        { kind: 'recovered', status: 'resolved', message: entryMessage(change) },
        { status: 'resolved', resolved_ms: change.at_ms },
        { reserveForResolution: false },
      );
      await store.recordEvent(tx, ctx, 'incident.resolved', after);
      return;
    }
    const update: NewUpdate = {
      kind: change.to === 'degraded' ? 'degraded' : 'update',
      status: open.status,
      message: entryMessage(change),
    };
    const metadata = { ...(fromJson<Record<string, string>>(open.metadata) ?? {}) };
    metadata.health_status = change.to;
    await tx
      .updateTable('incidents')
      .set({ metadata: toJson(metadata) })
      .where('id', '=', open.id)
      .execute();
    const after = await store.appendUpdate(
      tx,
      { ...open, metadata: toJson(metadata) },
      update,
      impact ? { impact: worseImpact(open.impact, impact) } : {},
      { reserveForResolution: true },
    );
    await store.recordEvent(tx, ctx, 'incident.updated', after);
  }

  async function findOpen(tx: Tx, connectorId: string) {
    return tx
      .selectFrom('incidents')
      .selectAll()
      .where('connector_id', '=', connectorId)
      .where('source', '=', 'automatic')
      .where('resolved_ms', 'is', null)
      .executeTakeFirst();
  }

  async function apply(connector: ConnectorView, change: HealthChange): Promise<void> {
    const impact = change.to === 'healthy' ? null : await impactOf(connector, change);
    // Two tries: the second runs only after losing the race to open the incident.
    for (let attempt = 1; ; attempt++) {
      try {
        await db.transaction().execute(async (tx) => {
          const open = await findOpen(tx, connector.id);
          if (open) return continueIncident(tx, open, connector, change, impact);
          if (impact) return openIncident(tx, connector, change, impact);
        });
        return;
      } catch (error) {
        if (attempt >= 2 || !isUniqueViolation(error)) throw error;
      }
    }
  }

  async function onHealthChange(change: HealthChange): Promise<void> {
    try {
      const connector = await connectorById(db, change.connector);
      // The built-in sandbox (and any connector without an account) has no page to show it on.
      if (!connector) return;
      await apply(connector, change);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'incident_updates_limit') {
        logger.warn({ connector: change.connector }, 'incident timeline full; entry dropped');
        return;
      }
      logger.error({ err: error, change }, 'automatic incident update failed');
    }
  }

  return { onHealthChange };
}

function scopeOf(connector: ConnectorView): Scope {
  return { accountId: connector.accountId, livemode: connector.livemode };
}
