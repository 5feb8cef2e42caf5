import type { OpContext, Scope } from '../db/context.ts';
import { type Db, type Executor, type Tx, toJson } from '../db/database.ts';
import type { AccountsTable } from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { findCurrency } from '../lib/money.ts';
import type { AccountCreateInput, AccountListInput, AccountUpdateInput } from './schemas.ts';

// Connected accounts (Stripe Connect, destination charges only). A connected
// account is an accounts row naming its platform; it has no API keys of its
// own, so everything about it goes through the platform's key: its own
// requests (by id) or reads in its scope with the Stripe-Account header.

/** The connected account `id` of `platformId`, or undefined (unknown, or another platform's). */
export async function findConnected(ex: Executor, platformId: string, id: string) {
  return ex
    .selectFrom('accounts')
    .selectAll()
    .where('id', '=', id)
    .where('platform_account_id', '=', platformId)
    .executeTakeFirst();
}

export function createConnectService(db: Db, clock: Clock) {
  async function create(ctx: OpContext, input: AccountCreateInput): Promise<AccountsTable> {
    if (input.type !== undefined && input.type !== 'custom') {
      throw new ApiError(
        'parameter_invalid',
        `Payrail's connected accounts have no dashboard or API keys of their own, which is Stripe's custom type; type=${input.type} is not available.`,
        { param: 'type' },
      );
    }
    if (input.default_currency !== undefined && !findCurrency(input.default_currency)) {
      throw new ApiError('invalid_currency', `Invalid currency: ${input.default_currency}.`, {
        param: 'default_currency',
      });
    }
    return db.transaction().execute(async (tx) => {
      await lockPlatform(tx, ctx.scope.accountId);
      const platform = await tx
        .selectFrom('accounts')
        .selectAll()
        .where('id', '=', ctx.scope.accountId)
        .executeTakeFirstOrThrow();
      await checkCount(tx, platform.id);
      const row: AccountsTable = {
        id: newId('acct', clock.nowMs()),
        business_name: input.business_profile?.name ?? null,
        email: input.email ?? null,
        country: input.country ?? platform.country,
        default_currency: input.default_currency ?? platform.default_currency,
        metadata: toJson(mergeMetadata({}, input.metadata)),
        created: unixSeconds(clock),
        platform_account_id: platform.id,
      };
      await tx.insertInto('accounts').values(row).execute();
      await ctx.complete(tx, row);
      return row;
    });
  }

  /**
   * Holds the platform row's lock until commit, so concurrent creates for one
   * platform count one after the other and cannot together pass the limit.
   * A no-op UPDATE takes the row lock on PostgreSQL (the count that follows
   * then sees every create committed before it) and is a plain write on
   * SQLite, which runs write transactions one at a time; this service does
   * not know which database it runs on, and needs not.
   */
  async function lockPlatform(tx: Tx, platformId: string): Promise<void> {
    await tx
      .updateTable('accounts')
      .set((eb) => ({ platform_account_id: eb.ref('platform_account_id') }))
      .where('id', '=', platformId)
      .execute();
  }

  async function checkCount(ex: Executor, platformId: string): Promise<void> {
    const { n } = await ex
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('platform_account_id', '=', platformId)
      .executeTakeFirstOrThrow();
    if (Number(n) >= LIMITS.connectedAccountsPerPlatformMax) {
      throw new ApiError(
        'parameter_invalid',
        `This platform already has ${LIMITS.connectedAccountsPerPlatformMax} connected accounts.`,
        { param: 'account' },
      );
    }
  }

  /** The caller itself, or one of its connected accounts; 404 for anything else. */
  async function retrieve(ex: Executor, scope: Scope, id: string): Promise<AccountsTable> {
    const row =
      id === scope.accountId
        ? await ex.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()
        : await findConnected(ex, scope.accountId, id);
    if (!row) throw notFound('account', id, 'account');
    return row;
  }

  async function update(
    ctx: OpContext,
    id: string,
    input: AccountUpdateInput,
  ): Promise<AccountsTable> {
    return db.transaction().execute(async (tx) => {
      const before = await retrieve(tx, ctx.scope, id);
      const name = input.business_profile?.name;
      const after: AccountsTable = {
        ...before,
        email: input.email !== undefined ? input.email : before.email,
        business_name: name !== undefined ? name : before.business_name,
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
      };
      await tx
        .updateTable('accounts')
        .set({ email: after.email, business_name: after.business_name, metadata: after.metadata })
        .where('id', '=', id)
        .execute();
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function list(scope: Scope, filters: AccountListInput) {
    const query = db
      .selectFrom('accounts')
      .selectAll()
      .where('platform_account_id', '=', scope.accountId);
    return paginate(query, filters);
  }

  /**
   * The scope a request acts in when it names an account in the
   * Stripe-Account header: the connected account, same mode as the key, when
   * the caller is its platform. Unknown and other platforms' accounts get the
   * same refusal, so the header cannot probe which account ids exist.
   */
  async function actingScope(scope: Scope, accountId: string): Promise<Scope> {
    if (accountId === scope.accountId) return scope;
    const row = /^acct_[A-Za-z0-9]{1,64}$/.test(accountId)
      ? await findConnected(db, scope.accountId, accountId)
      : undefined;
    if (!row) {
      throw new ApiError(
        'account_invalid',
        `The provided key does not have access to account '${accountId.slice(0, 80)}' (or that account does not exist).`,
        { param: 'Stripe-Account' },
      );
    }
    return { accountId: row.id, livemode: scope.livemode };
  }

  return {
    create,
    retrieve: (scope: Scope, id: string) => retrieve(db, scope, id),
    update,
    list,
    actingScope,
  };
}

export type ConnectService = ReturnType<typeof createConnectService>;
