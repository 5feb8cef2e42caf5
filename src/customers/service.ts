import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, toJson } from '../db/database.ts';
import type { CustomersTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { previousAttributes } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId, randomBase36 } from '../lib/ids.ts';
import type { CustomerCreateInput, CustomerListInput, CustomerUpdateInput } from './schemas.ts';
import { serializeCustomer, serializeDeletedCustomer } from './serialize.ts';

export function createCustomersService(deps: { db: Db; clock: Clock; events: EventsService }) {
  const { db, clock, events } = deps;

  async function find(ex: Executor, scope: Scope, id: string): Promise<CustomersTable | undefined> {
    return ex
      .selectFrom('customers')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
  }

  /** A live (not deleted) customer of this scope, or a 400 naming the parameter. */
  async function requireActive(
    ex: Executor,
    scope: Scope,
    id: string,
    param = 'customer',
  ): Promise<CustomersTable> {
    const row = await find(ex, scope, id);
    if (!row) throw notFound('customer', id, param);
    if (row.deleted === 1)
      throw new ApiError('customer_deleted', `Customer ${id} has been deleted.`, { param });
    return row;
  }

  async function create(ctx: OpContext, input: CustomerCreateInput): Promise<CustomersTable> {
    const row: CustomersTable = {
      id: newId('cus', clock.nowMs()),
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      email: input.email ?? null,
      name: input.name ?? null,
      phone: input.phone ?? null,
      description: input.description ?? null,
      address: input.address ? toJson(input.address) : null,
      shipping: input.shipping ? toJson(input.shipping) : null,
      invoice_prefix: randomBase36(8).toUpperCase(),
      metadata: toJson(mergeMetadata({}, input.metadata)),
      deleted: 0,
      created: unixSeconds(clock),
    };
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('customers').values(row).execute();
      await events.record(tx, ctx, [{ type: 'customer.created', object: serializeCustomer(row) }]);
      await ctx.complete(tx, row);
    });
    return row;
  }

  async function retrieve(scope: Scope, id: string): Promise<CustomersTable> {
    const row = await find(db, scope, id);
    if (!row) throw notFound('customer', id);
    return row;
  }

  async function update(
    ctx: OpContext,
    id: string,
    input: CustomerUpdateInput,
  ): Promise<CustomersTable> {
    return db.transaction().execute(async (tx) => {
      const before = await requireActive(tx, ctx.scope, id, 'id');
      const after: CustomersTable = {
        ...before,
        email: input.email !== undefined ? input.email : before.email,
        name: input.name !== undefined ? input.name : before.name,
        phone: input.phone !== undefined ? input.phone : before.phone,
        description: input.description !== undefined ? input.description : before.description,
        address:
          input.address !== undefined
            ? input.address
              ? toJson(input.address)
              : null
            : before.address,
        shipping:
          input.shipping !== undefined
            ? input.shipping
              ? toJson(input.shipping)
              : null
            : before.shipping,
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
      };
      await tx.updateTable('customers').set(after).where('id', '=', id).execute();
      const prev = serializeCustomer(before);
      const next = serializeCustomer(after);
      const changed = previousAttributes(
        prev as unknown as Record<string, unknown>,
        next as unknown as Record<string, unknown>,
      );
      if (changed)
        await events.record(tx, ctx, [
          { type: 'customer.updated', object: next, previousAttributes: changed },
        ]);
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function remove(ctx: OpContext, id: string) {
    return db.transaction().execute(async (tx) => {
      const row = await requireActive(tx, ctx.scope, id, 'id');
      await tx.updateTable('customers').set({ deleted: 1 }).where('id', '=', id).execute();
      // Like Stripe, a deleted customer's payment methods are detached.
      await tx
        .updateTable('payment_methods')
        .set({ customer_id: null })
        .where('customer_id', '=', id)
        .execute();
      await events.record(tx, ctx, [{ type: 'customer.deleted', object: serializeCustomer(row) }]);
      const result = serializeDeletedCustomer(id);
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function list(scope: Scope, filters: CustomerListInput) {
    let query = db
      .selectFrom('customers')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0);
    if (filters.email !== undefined) query = query.where('email', '=', filters.email);
    return paginate(query, filters);
  }

  return { find, requireActive, create, retrieve, update, remove, list };
}

export type CustomersService = ReturnType<typeof createCustomersService>;
