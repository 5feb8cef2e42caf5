import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Tx, toJson } from '../db/database.ts';
import type { PayoutsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { balancesOf, naturalKey } from '../ledger/accounts.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { checkAmount, findCurrency } from '../lib/money.ts';
import type { BankAccounts } from './bank-accounts.ts';
import { postPayout } from './postings.ts';
import type {
  PayoutCreateInput,
  PayoutListInput,
  PayoutUpdateInput,
  TimeRange,
} from './schemas.ts';
import { type ApiPayout, serializePayout } from './serialize.ts';
import { applyChange, findPayout, reversePayout } from './transitions.ts';

// Payouts: the merchant's available balance, sent to one of its bank
// accounts. Creating one debits merchant_available in the same database
// transaction that reads it; on PostgreSQL that read holds the row lock
// (SELECT ... FOR UPDATE) until commit and SQLite runs transactions one at a
// time, so two concurrent payouts can never together exceed the balance.

export interface PayoutsDeps {
  db: Db;
  clock: Clock;
  events: EventsService;
  bankAccounts: BankAccounts;
  postgres: boolean;
  /** Releases the scope's due pending funds (the ledger service's lazy release). */
  releaseDue(scope: Scope): Promise<void>;
}

function requireAmount(amountMinor: number, code: string) {
  const currency = findCurrency(code);
  if (!currency) {
    throw new ApiError('invalid_currency', `Invalid currency: ${code}.`, { param: 'currency' });
  }
  const check = checkAmount(amountMinor, currency);
  if (!check.ok) {
    const errorCode = amountMinor < 1 ? 'amount_too_small' : 'amount_too_large';
    throw new ApiError(errorCode, check.message, { param: 'amount' });
  }
  return currency.code;
}

export function createPayoutsService(deps: PayoutsDeps) {
  const { db, clock, events, bankAccounts } = deps;

  /** The available balance, read under the row lock that the posting will need anyway. */
  async function lockAvailable(tx: Tx, scope: Scope, currency: string): Promise<number> {
    const key = naturalKey({
      accountId: scope.accountId,
      livemode: livemodeFlag(scope),
      currency,
      purpose: 'merchant_available',
    });
    // The account row is the lock that serialises debits of the available
    // balance (payouts); credits only add to its balance slots.
    let query = tx.selectFrom('ledger_accounts').select('id').where('natural_key', '=', key);
    if (deps.postgres) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) return 0;
    // A liability: the merchant's available funds are the negated (credit) balance.
    const balances = await balancesOf(tx, [row.id]);
    return -(balances.get(row.id) ?? 0);
  }

  function newPayout(ctx: OpContext, input: PayoutCreateInput, extra: Partial<PayoutsTable>) {
    const created = unixSeconds(clock);
    const day = created - (created % 86_400);
    const row: PayoutsTable = {
      id: newId('po', clock.nowMs()),
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      amount: input.amount,
      currency: '',
      status: 'pending',
      destination: '',
      method: 'standard',
      description: input.description ?? null,
      statement_descriptor: input.statement_descriptor ?? null,
      arrival_date: day + LIMITS.payoutArrivalDelaySeconds,
      failure_code: null,
      failure_message: null,
      balance_transaction: null,
      failure_balance_transaction: null,
      export_id: null,
      metadata: toJson(mergeMetadata({}, input.metadata)),
      version: 0,
      created,
      ...extra,
    };
    return row;
  }

  async function insert(tx: Tx, ctx: OpContext, input: PayoutCreateInput, currency: string) {
    const destination = await bankAccounts.destinationFor(tx, ctx.scope, {
      id: input.destination,
      currency,
    });
    if (destination.currency !== currency) {
      throw new ApiError(
        'parameter_invalid',
        `The bank account ${destination.id} takes ${destination.currency}, not ${currency}.`,
        { param: 'destination' },
      );
    }
    const availableMinor = await lockAvailable(tx, ctx.scope, currency);
    if (input.amount > availableMinor) {
      throw new ApiError(
        'balance_insufficient',
        `You have insufficient funds in your ${currency} balance: ${availableMinor} available, ${input.amount} requested.`,
        { param: 'amount' },
      );
    }
    const txnId = newId('txn', clock.nowMs());
    const payout = newPayout(ctx, input, {
      currency,
      destination: destination.id,
      balance_transaction: txnId,
    });
    await tx.insertInto('payouts').values(payout).execute();
    await postPayout(tx, { payout, type: 'payout', nowMs: clock.nowMs(), txnId });
    const left = await lockAvailable(tx, ctx.scope, currency);
    assert(left === availableMinor - payout.amount, `payout ${payout.id} left ${left} available`);
    return payout;
  }

  async function create(ctx: OpContext, input: PayoutCreateInput): Promise<ApiPayout> {
    const currency = requireAmount(input.amount, input.currency);
    await deps.releaseDue(ctx.scope);
    return db.transaction().execute(async (tx) => {
      const payout = serializePayout(await insert(tx, ctx, input, currency));
      await events.record(tx, ctx, [{ type: 'payout.created', object: payout }]);
      await ctx.complete(tx, payout);
      return payout;
    });
  }

  const refOf = (scope: Scope, id: string) => ({
    accountId: scope.accountId,
    livemode: livemodeFlag(scope),
    payoutId: id,
  });

  async function retrieve(scope: Scope, id: string): Promise<PayoutsTable> {
    const row = await findPayout(db, refOf(scope, id));
    if (!row) throw notFound('payout', id);
    return row;
  }

  /**
   * Merges `input.metadata` into the payout's as it is now. The write is
   * conditional on the version read (applyChange), so a concurrent update
   * (another metadata change, an export, a cancel) is never overwritten: the
   * loser reads the winner's row and merges again, in the same transaction
   * (on PostgreSQL each statement sees what committed before it).
   */
  async function mergeUpdate(tx: Tx, ref: ReturnType<typeof refOf>, input: PayoutUpdateInput) {
    for (let attempt = 0; attempt < LIMITS.payoutUpdateAttemptsMax; attempt += 1) {
      const before = await findPayout(tx, ref);
      if (!before) throw notFound('payout', ref.payoutId);
      const metadata = toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata));
      const after = await applyChange(tx, before, { metadata });
      if (after) return { before, after };
    }
    throw new ApiError(
      'lock_timeout',
      `Payout ${ref.payoutId} is being changed by other requests; retry the request.`,
      { param: 'id' },
    );
  }

  async function update(ctx: OpContext, id: string, input: PayoutUpdateInput): Promise<ApiPayout> {
    return db.transaction().execute(async (tx) => {
      const { before, after } = await mergeUpdate(tx, refOf(ctx.scope, id), input);
      const { metadata } = after;
      const payout = serializePayout(after);
      if (metadata !== before.metadata) {
        const previousAttributes = { metadata: JSON.parse(before.metadata) };
        await events.record(tx, ctx, [
          { type: 'payout.updated', object: payout, previousAttributes },
        ]);
      }
      await ctx.complete(tx, payout);
      return payout;
    });
  }

  function notCancelable(payout: PayoutsTable): ApiError {
    return new ApiError(
      'payout_not_cancelable',
      `Payout ${payout.id} is ${payout.status}; only a pending payout can be canceled.`,
      { param: 'id' },
    );
  }

  async function cancel(ctx: OpContext, id: string): Promise<ApiPayout> {
    return db.transaction().execute(async (tx) => {
      const before = await findPayout(tx, refOf(ctx.scope, id));
      if (!before) throw notFound('payout', id);
      if (before.status !== 'pending') throw notCancelable(before);
      const after = await reversePayout(tx, { clock, events }, { before, to: 'canceled', ctx });
      if (!after) {
        // An export or another cancel changed it between our read and our update.
        const now = await findPayout(tx, refOf(ctx.scope, id));
        throw notCancelable(now ?? before);
      }
      const payout = serializePayout(after);
      await ctx.complete(tx, payout);
      return payout;
    });
  }

  async function list(scope: Scope, filters: PayoutListInput) {
    let query = db
      .selectFrom('payouts')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.status !== undefined) query = query.where('status', '=', filters.status);
    if (filters.destination !== undefined)
      query = query.where('destination', '=', filters.destination);
    const range: TimeRange | undefined = filters.arrival_date;
    if (typeof range === 'number') query = query.where('arrival_date', '=', range);
    else if (range) {
      if (range.gt !== undefined) query = query.where('arrival_date', '>', range.gt);
      if (range.gte !== undefined) query = query.where('arrival_date', '>=', range.gte);
      if (range.lt !== undefined) query = query.where('arrival_date', '<', range.lt);
      if (range.lte !== undefined) query = query.where('arrival_date', '<=', range.lte);
    }
    return paginate(query, filters);
  }

  return { create, retrieve, update, cancel, list };
}

export type PayoutsService = ReturnType<typeof createPayoutsService>;
