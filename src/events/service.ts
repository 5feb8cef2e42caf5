import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, fromJson, type Tx, toJson } from '../db/database.ts';
import { insertRows } from '../db/insert.ts';
import type { EventsTable } from '../db/schema.ts';
import { type ListQueryInput, paginate } from '../http/pagination.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';

// The event store. Every state change records its event in the same
// transaction as the change (an outbox), so events are complete and in commit
// order; webhook delivery reads from here.

export const API_VERSION = '2025-09-30.clover';

export interface ApiEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: unknown; previous_attributes?: Record<string, unknown> };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

export interface NewEvent {
  type: string;
  object: unknown;
  previousAttributes?: Record<string, unknown> | undefined;
}

export function serializeEvent(row: Omit<EventsTable, 'seq'>): ApiEvent {
  const previous = fromJson<Record<string, unknown>>(row.previous_attributes);
  return {
    id: row.id,
    object: 'event',
    api_version: row.api_version,
    created: row.created,
    data: previous
      ? { object: JSON.parse(row.data_object), previous_attributes: previous }
      : { object: JSON.parse(row.data_object) },
    livemode: row.livemode === 1,
    pending_webhooks: 0,
    request: { id: row.request_id, idempotency_key: row.idempotency_key },
    type: row.type,
  };
}

/** Only the attributes that changed, with their old values: Stripe's `previous_attributes`. */
export function previousAttributes(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const changed: Record<string, unknown> = {};
  for (const key of Object.keys(after)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changed[key] = before[key] ?? null;
  }
  return Object.keys(changed).length > 0 ? changed : undefined;
}

/** Context of a recorded batch of events: whose they are and which request made them. */
export type RecordContext = Pick<OpContext, 'scope' | 'requestId' | 'idempotencyKey'>;

/**
 * Runs in the transaction that recorded `events`, after them: a module that
 * reacts to another's state change (the sandbox's dispute card reacts to a
 * captured charge) without that module calling it. Must stay cheap for the
 * events it ignores; what it writes commits or rolls back with the cause.
 */
export type RecordedListener = (tx: Tx, ctx: RecordContext, events: NewEvent[]) => Promise<void>;

export function createEventsService(db: Db, clock: Clock) {
  const listeners: RecordedListener[] = [];

  function onRecorded(listener: RecordedListener): () => void {
    listeners.push(listener);
    return () => {
      const index = listeners.indexOf(listener);
      if (index >= 0) listeners.splice(index, 1);
    };
  }

  async function record(
    tx: Tx,
    ctx: Pick<OpContext, 'scope' | 'requestId' | 'idempotencyKey'>,
    events: NewEvent[],
  ): Promise<void> {
    if (events.length === 0) return;
    // One statement for all of them; rows take their `seq` in list order.
    const rows = events.map((event) => ({
      id: newId('evt', clock.nowMs()),
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      type: event.type,
      api_version: API_VERSION,
      data_object: toJson(event.object),
      previous_attributes: event.previousAttributes ? toJson(event.previousAttributes) : null,
      request_id: ctx.requestId,
      idempotency_key: ctx.idempotencyKey,
      created: unixSeconds(clock),
    }));
    await insertRows(tx, 'events', rows);
    for (const listener of listeners) await listener(tx, ctx, events);
  }

  async function retrieve(scope: Scope, id: string): Promise<ApiEvent | undefined> {
    const row = await db
      .selectFrom('events')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    return row ? serializeEvent(row) : undefined;
  }

  async function list(
    scope: Scope,
    filters: ListQueryInput & { type?: string | undefined; types?: string[] | undefined },
  ) {
    let query = db
      .selectFrom('events')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.type !== undefined) {
      query = filters.type.endsWith('.*')
        ? query.where('type', 'like', `${filters.type.slice(0, -1)}%`)
        : query.where('type', '=', filters.type);
    }
    if (filters.types !== undefined) query = query.where('type', 'in', filters.types);
    const { rows, hasMore } = await paginate(query, filters);
    return { data: rows.map(serializeEvent), hasMore };
  }

  return { record, retrieve, list, onRecorded };
}

export type EventsService = ReturnType<typeof createEventsService>;
