import type { OpContext, Scope } from '../db/context.ts';
import { livemodeFlag } from '../db/context.ts';
import type { Db, Tx } from '../db/database.ts';
import type { FxRatesTable } from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type { FxRateCreateInput, FxRateListInput } from './schemas.ts';

// FX rates: 1 unit of base = rate units of quote from effective_from on.
// Rates are never edited or deleted: the books record which rate (fxr_) a
// conversion used. A rate for an existing (pair, effective_from) is accepted
// again when it is the same rate (so loading a file twice changes nothing)
// and refused when it differs.

export interface RateInput {
  base: string;
  quote: string;
  /** Canonical decimal string. */
  rate: string;
  effectiveFrom: number;
}

export type PutResult =
  | { kind: 'inserted'; row: FxRatesTable }
  | { kind: 'unchanged'; row: FxRatesTable }
  | { kind: 'conflict'; existing: FxRatesTable };

export function createFxService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  /** Inserts one rate in `tx`, or reports the row already holding its (pair, effective_from). */
  async function putRate(
    tx: Tx,
    scope: Scope,
    input: RateInput,
    source: FxRatesTable['source'],
  ): Promise<PutResult> {
    const existing = await tx
      .selectFrom('fx_rates')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('base_currency', '=', input.base)
      .where('quote_currency', '=', input.quote)
      .where('effective_from', '=', input.effectiveFrom)
      .executeTakeFirst();
    if (existing) {
      return existing.rate === input.rate
        ? { kind: 'unchanged', row: existing }
        : { kind: 'conflict', existing };
    }
    const row: FxRatesTable = {
      id: newId('fxr', clock.nowMs()),
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
      base_currency: input.base,
      quote_currency: input.quote,
      rate: input.rate,
      effective_from: input.effectiveFrom,
      source,
      created: unixSeconds(clock),
    };
    // A concurrent request may insert the same key between the read and this
    // insert: then answer from its row instead of failing on the unique index.
    const inserted = await tx
      .insertInto('fx_rates')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['account_id', 'livemode', 'base_currency', 'quote_currency', 'effective_from'])
          .doNothing(),
      )
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0)
      return putRate(tx, scope, input, source);
    return { kind: 'inserted', row };
  }

  async function create(ctx: OpContext, input: FxRateCreateInput): Promise<FxRatesTable> {
    const rate: RateInput = {
      base: input.base_currency,
      quote: input.quote_currency,
      rate: input.rate,
      effectiveFrom: input.effective_from ?? unixSeconds(clock),
    };
    return db.transaction().execute(async (tx) => {
      const result = await putRate(tx, ctx.scope, rate, 'api');
      if (result.kind === 'conflict') throw conflictError(rate, result.existing);
      await ctx.complete(tx, result.row);
      return result.row;
    });
  }

  async function list(scope: Scope, filters: FxRateListInput) {
    let query = db
      .selectFrom('fx_rates')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.base_currency) query = query.where('base_currency', '=', filters.base_currency);
    if (filters.quote_currency) query = query.where('quote_currency', '=', filters.quote_currency);
    return paginate(query, filters);
  }

  async function retrieve(scope: Scope, id: string): Promise<FxRatesTable> {
    const row = await db
      .selectFrom('fx_rates')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    if (!row) throw notFound('fx_rate', id);
    return row;
  }

  return { putRate, create, list, retrieve };
}

export type FxService = ReturnType<typeof createFxService>;

export function conflictError(input: RateInput, existing: FxRatesTable): ApiError {
  return new ApiError(
    'fx_rate_conflict',
    `A ${input.base}/${input.quote} rate effective from ${input.effectiveFrom} already exists (${existing.id}, rate ${existing.rate}); rates are never changed: use another effective_from.`,
    { param: 'rate' },
  );
}
