import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import type { Db, Executor, Tx } from '../db/database.ts';
import type { MaintenanceWindowsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { previousAttributes } from '../events/service.ts';
import { type ListQueryInput, paginate } from '../http/pagination.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { MaintenanceWindowView } from './admin.ts';
import type { ConnectorAccounts } from './connector-accounts.ts';
import type { MaintenanceWindowCreateInput, MaintenanceWindowUpdateInput } from './schemas.ts';
import { maintenanceStatus, serializeMaintenanceWindow } from './serialize.ts';

// Maintenance windows: a merchant announces that a processor will be down
// from `start` to `end` (unix seconds). Routing avoids the connector while a
// window is on, the status page shows windows ahead of time, and every change
// records an event so merchants hear of it through webhooks.

/** Open windows read per scope at most: every connector's open windows. */
const UPCOMING_MAX = LIMITS.connectorAccountsMax * LIMITS.maintenanceWindowsOpenPerConnectorMax;

function invalid(param: string, message: string): ApiError {
  return new ApiError('parameter_invalid', `${message} (parameter ${param})`, { param });
}

/** The rules for a window's times, checked on create and on every update. */
function checkTimes(times: { start: number; end: number; startChanged: boolean }, now: number) {
  if (times.end <= times.start) throw invalid('end', 'The window must end after it starts');
  if (times.end <= now) throw invalid('end', 'The window must end in the future');
  if (times.startChanged && times.start > now + LIMITS.maintenanceAheadMaxSeconds) {
    throw invalid(
      'start',
      `A window may start at most ${LIMITS.maintenanceAheadMaxSeconds} seconds ahead`,
    );
  }
  if (times.end - times.start > LIMITS.maintenanceLengthMaxSeconds) {
    throw invalid('end', `A window may last at most ${LIMITS.maintenanceLengthMaxSeconds} seconds`);
  }
}

export function toView(row: MaintenanceWindowsTable): MaintenanceWindowView {
  return {
    id: row.id,
    connector: row.connector_id,
    starts_at: row.starts_at,
    ends_at: row.ends_at,
    note: row.note,
  };
}

export function createMaintenanceWindows(deps: {
  db: Db;
  clock: Clock;
  events: EventsService;
  connectors: ConnectorAccounts;
}) {
  const { db, clock, events, connectors } = deps;

  const inScope = (ex: Executor, scope: Scope) =>
    ex
      .selectFrom('maintenance_windows')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));

  async function find(ex: Executor, scope: Scope, id: string): Promise<MaintenanceWindowsTable> {
    const row = await inScope(ex, scope).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('maintenance window', id);
    return row;
  }

  async function assertBelowLimit(tx: Tx, connectorId: string, now: number) {
    const { n } = await tx
      .selectFrom('maintenance_windows')
      .where('connector_id', '=', connectorId)
      .where('status', '=', 'scheduled')
      .where('ends_at', '>', now)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(n) >= LIMITS.maintenanceWindowsOpenPerConnectorMax) {
      throw new ApiError(
        'connector_limit_reached',
        `A connector can have at most ${LIMITS.maintenanceWindowsOpenPerConnectorMax} maintenance windows that have not ended.`,
      );
    }
  }

  async function create(
    ctx: OpContext,
    connectorId: string,
    input: MaintenanceWindowCreateInput,
  ): Promise<MaintenanceWindowsTable> {
    const now = unixSeconds(clock);
    const start = input.start === 'now' ? now : input.start;
    return db.transaction().execute(async (tx) => {
      await connectors.requireLive(tx, ctx.scope, connectorId);
      checkTimes({ start, end: input.end, startChanged: true }, now);
      await assertBelowLimit(tx, connectorId, now);
      const row: MaintenanceWindowsTable = {
        id: newId('mw', clock.nowMs()),
        account_id: ctx.scope.accountId,
        livemode: livemodeFlag(ctx.scope),
        connector_id: connectorId,
        starts_at: start,
        ends_at: input.end,
        note: input.note ?? null,
        status: 'scheduled',
        created: now,
      };
      await tx.insertInto('maintenance_windows').values(row).execute();
      const object = serializeMaintenanceWindow(row, now);
      await events.record(tx, ctx, [{ type: 'maintenance_window.created', object }]);
      await ctx.complete(tx, row);
      return row;
    });
  }

  /** Completed and canceled windows are history: they cannot change. */
  function assertOpen(row: MaintenanceWindowsTable, now: number, verb: string) {
    const status = maintenanceStatus(row, now);
    if (status === 'completed' || status === 'canceled') {
      throw new ApiError(
        'maintenance_window_unexpected_state',
        `This maintenance window is ${status}; it cannot be ${verb}.`,
      );
    }
  }

  async function update(
    ctx: OpContext,
    id: string,
    input: MaintenanceWindowUpdateInput,
  ): Promise<MaintenanceWindowsTable> {
    const now = unixSeconds(clock);
    return db.transaction().execute(async (tx) => {
      const before = await find(tx, ctx.scope, id);
      assertOpen(before, now, 'updated');
      const start = input.start === 'now' ? now : (input.start ?? before.starts_at);
      const end = input.end ?? before.ends_at;
      checkTimes({ start, end, startChanged: start !== before.starts_at }, now);
      const after: MaintenanceWindowsTable = {
        ...before,
        starts_at: start,
        ends_at: end,
        note: input.note !== undefined ? input.note : before.note,
      };
      await tx
        .updateTable('maintenance_windows')
        .set({ starts_at: start, ends_at: end, note: after.note })
        .where('id', '=', id)
        .execute();
      const next = serializeMaintenanceWindow(after, now);
      const changed = previousAttributes(
        serializeMaintenanceWindow(before, now) as unknown as Record<string, unknown>,
        next as unknown as Record<string, unknown>,
      );
      if (changed) {
        await events.record(tx, ctx, [
          { type: 'maintenance_window.updated', object: next, previousAttributes: changed },
        ]);
      }
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function cancel(ctx: OpContext, id: string): Promise<MaintenanceWindowsTable> {
    const now = unixSeconds(clock);
    return db.transaction().execute(async (tx) => {
      const before = await find(tx, ctx.scope, id);
      assertOpen(before, now, 'canceled');
      const after: MaintenanceWindowsTable = { ...before, status: 'canceled' };
      await tx
        .updateTable('maintenance_windows')
        .set({ status: 'canceled' })
        .where('id', '=', id)
        .execute();
      const object = serializeMaintenanceWindow(after, now);
      await events.record(tx, ctx, [{ type: 'maintenance_window.canceled', object }]);
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function retrieve(scope: Scope, id: string) {
    return find(db, scope, id);
  }

  async function list(scope: Scope, connectorId: string, filters: ListQueryInput) {
    await connectors.requireLive(db, scope, connectorId);
    return paginate(inScope(db, scope).where('connector_id', '=', connectorId), filters);
  }

  /**
   * Scheduled windows of the scope's not-deleted connectors that have not
   * ended at `nowSeconds`, soonest first.
   */
  async function upcoming(scope: Scope, nowSeconds: number): Promise<MaintenanceWindowView[]> {
    const rows = await inScope(db, scope)
      .where('status', '=', 'scheduled')
      .where('ends_at', '>', nowSeconds)
      .where('connector_id', 'in', (eb) =>
        eb
          .selectFrom('connector_accounts')
          .select('id')
          .where('account_id', '=', scope.accountId)
          .where('livemode', '=', livemodeFlag(scope))
          .where('deleted', '=', 0),
      )
      .orderBy('starts_at', 'asc')
      .orderBy('id', 'asc')
      .limit(UPCOMING_MAX)
      .execute();
    return rows.map(toView);
  }

  /** One connector's windows that have not ended, soonest first (for its health view). */
  async function openForConnector(scope: Scope, connectorId: string) {
    const now = unixSeconds(clock);
    const rows = await inScope(db, scope)
      .where('connector_id', '=', connectorId)
      .where('status', '=', 'scheduled')
      .where('ends_at', '>', now)
      .orderBy('starts_at', 'asc')
      .limit(LIMITS.maintenanceWindowsOpenPerConnectorMax)
      .execute();
    return rows.map((row) => serializeMaintenanceWindow(row, now));
  }

  return { create, update, cancel, retrieve, list, upcoming, openForConnector };
}

export type MaintenanceWindows = ReturnType<typeof createMaintenanceWindows>;
