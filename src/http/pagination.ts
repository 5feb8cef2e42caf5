import { type SelectQueryBuilder, sql } from 'kysely';
import { z } from 'zod';
import { LIMITS } from '../lib/limits.ts';
import { expandField, intField, strField } from './validation.ts';

// Stripe's cursor pagination. Ids sort by creation time (see lib/ids.ts), so
// lists run newest first by id and cursors are ids.

const createdRange = z.union([
  intField({ min: 0 }),
  z
    .strictObject({
      gt: intField({ min: 0 }).optional(),
      gte: intField({ min: 0 }).optional(),
      lt: intField({ min: 0 }).optional(),
      lte: intField({ min: 0 }).optional(),
    })
    .meta({ description: 'Filter on `created` (unix seconds).' }),
]);

export const listParams = {
  limit: intField({ min: LIMITS.pageSizeMin, max: LIMITS.pageSizeMax }).optional(),
  starting_after: strField(LIMITS.paramLengthMax).optional(),
  ending_before: strField(LIMITS.paramLengthMax).optional(),
  created: createdRange.optional(),
  expand: expandField,
};

export const ListQuery = z.strictObject(listParams);
export type ListQueryInput = z.output<typeof ListQuery>;

export interface ListPage<T> {
  object: 'list';
  url: string;
  has_more: boolean;
  data: T[];
}

type Filters = Pick<ListQueryInput, 'limit' | 'starting_after' | 'ending_before' | 'created'>;

/**
 * Applies cursor, created filter and limit to a query over a table with `id`
 * and `created` columns, runs it and returns rows in newest-first order.
 */
export async function paginate<DB, TB extends keyof DB, O extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, O>,
  filters: Filters,
): Promise<{ rows: O[]; hasMore: boolean }> {
  const limit = filters.limit ?? LIMITS.pageSizeDefault;
  // biome-ignore lint/suspicious/noExplicitAny: Kysely cannot type a column shared by every table.
  let q = query as SelectQueryBuilder<any, any, O>;
  const created = filters.created;
  if (typeof created === 'number') q = q.where('created', '=', created);
  else if (created) {
    if (created.gt !== undefined) q = q.where('created', '>', created.gt);
    if (created.gte !== undefined) q = q.where('created', '>=', created.gte);
    if (created.lt !== undefined) q = q.where('created', '<', created.lt);
    if (created.lte !== undefined) q = q.where('created', '<=', created.lte);
  }
  if (filters.ending_before !== undefined) {
    const rows = await q
      .where('id', '>', filters.ending_before)
      .orderBy(sql.ref('id'), 'asc')
      .limit(limit + 1)
      .execute();
    const hasMore = rows.length > limit;
    return { rows: rows.slice(0, limit).reverse(), hasMore };
  }
  if (filters.starting_after !== undefined) q = q.where('id', '<', filters.starting_after);
  const rows = await q
    .orderBy(sql.ref('id'), 'desc')
    .limit(limit + 1)
    .execute();
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

export function listPage<T>(url: string, data: T[], hasMore: boolean): ListPage<T> {
  return { object: 'list', url, has_more: hasMore, data };
}
