import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import type { Executor, Tx } from '../db/database.ts';
import type { IncidentsTable, IncidentUpdatesTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import type { Clock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { type ApiIncident, serializeIncident } from './serialize.ts';

// Queries and writes shared by operator incidents (service.ts) and automatic
// ones (automatic.ts). Every write records its event in the same transaction.

export type IncidentEventType = 'incident.created' | 'incident.updated' | 'incident.resolved';

export interface NewUpdate {
  kind: 'opened' | 'update' | 'degraded' | 'recovered' | 'resolved';
  status: string;
  message: string;
}

/** Ids sort by time, so ordering by id is the timeline's order. */
export async function updatesOf(ex: Executor, incidentIds: string[]) {
  const byIncident = new Map<string, IncidentUpdatesTable[]>();
  if (incidentIds.length === 0) return byIncident;
  const rows = await ex
    .selectFrom('incident_updates')
    .selectAll()
    .where('incident_id', 'in', incidentIds)
    .orderBy('id', 'asc')
    .limit(incidentIds.length * LIMITS.incidentUpdatesMax)
    .execute();
  for (const row of rows) {
    const list = byIncident.get(row.incident_id) ?? [];
    list.push(row);
    byIncident.set(row.incident_id, list);
  }
  return byIncident;
}

export async function findIncident(
  ex: Executor,
  scope: Scope,
  id: string,
): Promise<IncidentsTable | undefined> {
  return ex
    .selectFrom('incidents')
    .selectAll()
    .where('id', '=', id)
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', livemodeFlag(scope))
    .executeTakeFirst();
}

export async function expandIncident(ex: Executor, row: IncidentsTable): Promise<ApiIncident> {
  const updates = await updatesOf(ex, [row.id]);
  return serializeIncident(row, updates.get(row.id) ?? []);
}

export function createIncidentStore(deps: { clock: Clock; events: EventsService }) {
  const { clock, events } = deps;

  async function recordEvent(
    tx: Tx,
    ctx: Pick<OpContext, 'scope' | 'requestId' | 'idempotencyKey'>,
    type: IncidentEventType,
    row: IncidentsTable,
  ): Promise<ApiIncident> {
    const object = await expandIncident(tx, row);
    await events.record(tx, ctx, [{ type, object }]);
    return object;
  }

  async function insertUpdate(tx: Tx, incidentId: string, update: NewUpdate): Promise<void> {
    const nowMs = clock.nowMs();
    await tx
      .insertInto('incident_updates')
      .values({ id: newId('iu', nowMs), incident_id: incidentId, created_ms: nowMs, ...update })
      .execute();
  }

  /** Inserts an incident with its first timeline entry. May raise the open-automatic unique violation. */
  async function insertIncident(tx: Tx, row: IncidentsTable, first: NewUpdate): Promise<void> {
    await tx.insertInto('incidents').values(row).execute();
    await insertUpdate(tx, row.id, first);
  }

  /**
   * Adds one timeline entry to an open incident and applies the changes to the
   * incident row. The row update comes first: on PostgreSQL it locks the row,
   * so concurrent writers count updates one at a time, and it fails if the
   * incident was resolved in the meantime.
   */
  async function appendUpdate(
    tx: Tx,
    incident: IncidentsTable,
    update: NewUpdate,
    changes: Partial<Pick<IncidentsTable, 'status' | 'impact' | 'resolved_ms'>>,
    options: { reserveForResolution: boolean },
  ): Promise<IncidentsTable> {
    const result = await tx
      .updateTable('incidents')
      .set({ status: changes.status ?? incident.status, ...changes })
      .where('id', '=', incident.id)
      .where('resolved_ms', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw alreadyResolved(incident.id);
    const count = await tx
      .selectFrom('incident_updates')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('incident_id', '=', incident.id)
      .executeTakeFirstOrThrow();
    // The last slot is kept for the resolution, so an incident can always be closed.
    const max = options.reserveForResolution
      ? LIMITS.incidentUpdatesMax - 1
      : LIMITS.incidentUpdatesMax;
    if (Number(count.n) >= max) {
      throw new ApiError(
        'incident_updates_limit',
        `Incident ${incident.id} already has ${Number(count.n)} updates; at most ${LIMITS.incidentUpdatesMax} are kept (the last for its resolution).`,
      );
    }
    await insertUpdate(tx, incident.id, update);
    return { ...incident, status: changes.status ?? incident.status, ...changes };
  }

  return { recordEvent, insertIncident, appendUpdate };
}

export type IncidentStore = ReturnType<typeof createIncidentStore>;

export function alreadyResolved(id: string): ApiError {
  return new ApiError('incident_already_resolved', `Incident ${id} is already resolved.`, {
    param: 'id',
  });
}

/** The open-automatic-incident unique index fired: another writer opened it first. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown } | null;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
