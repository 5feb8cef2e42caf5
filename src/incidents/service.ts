import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, toJson } from '../db/database.ts';
import type { IncidentsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { invalidParam, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type {
  IncidentCreateInput,
  IncidentListInput,
  IncidentResolveInput,
  IncidentUpdateInput,
} from './schemas.ts';
import { type ApiIncident, serializeIncident } from './serialize.ts';
import { alreadyResolved, createIncidentStore, findIncident, updatesOf } from './store.ts';

// Operator incidents: open, update and resolve by API. Operators may also
// update and resolve the automatic ones.

const DEFAULT_RESOLUTION = 'This incident has been resolved.';

export function createIncidentsService(deps: { db: Db; clock: Clock; events: EventsService }) {
  const { db, clock } = deps;
  const store = createIncidentStore(deps);

  async function requireConnector(scope: Scope, id: string): Promise<void> {
    const row = await db
      .selectFrom('connector_accounts')
      .select('id')
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0)
      .executeTakeFirst();
    if (!row) throw invalidParam('connector', `No such connector: '${id}'`);
  }

  async function create(ctx: OpContext, input: IncidentCreateInput): Promise<ApiIncident> {
    if (input.connector !== undefined) await requireConnector(ctx.scope, input.connector);
    const nowMs = clock.nowMs();
    const status = input.status ?? 'investigating';
    const row: IncidentsTable = {
      id: newId('inc', nowMs),
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      connector_id: input.connector ?? null,
      source: 'manual',
      title: input.title,
      impact: input.impact,
      status,
      started_ms: nowMs,
      resolved_ms: null,
      metadata: toJson(mergeMetadata({}, input.metadata)),
      created: unixSeconds(clock),
    };
    return db.transaction().execute(async (tx) => {
      await store.insertIncident(tx, row, { kind: 'opened', status, message: input.message });
      const object = await store.recordEvent(tx, ctx, 'incident.created', row);
      await ctx.complete(tx, object);
      return object;
    });
  }

  async function retrieve(scope: Scope, id: string): Promise<ApiIncident> {
    const row = await findIncident(db, scope, id);
    if (!row) throw notFound('incident', id);
    const updates = await updatesOf(db, [row.id]);
    return serializeIncident(row, updates.get(row.id) ?? []);
  }

  async function addUpdate(
    ctx: OpContext,
    id: string,
    input: IncidentUpdateInput,
  ): Promise<ApiIncident> {
    return db.transaction().execute(async (tx) => {
      const row = await findIncident(tx, ctx.scope, id);
      if (!row) throw notFound('incident', id);
      if (row.resolved_ms !== null) throw alreadyResolved(id);
      const status = input.status ?? row.status;
      const after = await store.appendUpdate(
        tx,
        row,
        { kind: 'update', status, message: input.message },
        { status, ...(input.impact ? { impact: input.impact } : {}) },
        { reserveForResolution: true },
      );
      const object = await store.recordEvent(tx, ctx, 'incident.updated', after);
      await ctx.complete(tx, object);
      return object;
    });
  }

  async function resolve(
    ctx: OpContext,
    id: string,
    input: IncidentResolveInput,
  ): Promise<ApiIncident> {
    return db.transaction().execute(async (tx) => {
      const row = await findIncident(tx, ctx.scope, id);
      if (!row) throw notFound('incident', id);
      if (row.resolved_ms !== null) throw alreadyResolved(id);
      const after = await store.appendUpdate(
        tx,
        row,
        { kind: 'resolved', status: 'resolved', message: input.message ?? DEFAULT_RESOLUTION },
        { status: 'resolved', resolved_ms: clock.nowMs() },
        { reserveForResolution: false },
      );
      const object = await store.recordEvent(tx, ctx, 'incident.resolved', after);
      await ctx.complete(tx, object);
      return object;
    });
  }

  async function list(scope: Scope, filters: IncidentListInput) {
    let query = db
      .selectFrom('incidents')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.status === 'open') query = query.where('resolved_ms', 'is', null);
    if (filters.status === 'resolved') query = query.where('resolved_ms', 'is not', null);
    const page = await paginate(query, filters);
    const updates = await updatesOf(
      db,
      page.rows.map((r) => r.id),
    );
    return {
      data: page.rows.map((r) => serializeIncident(r, updates.get(r.id) ?? [])),
      hasMore: page.hasMore,
    };
  }

  return { create, retrieve, addUpdate, resolve, list };
}

export type IncidentsService = ReturnType<typeof createIncidentsService>;
