import {
  electronicFormatIBAN,
  extractIBAN,
  isSEPACountry,
  isValidBIC,
  isValidIBAN,
} from 'ibantools';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, type Tx, toJson } from '../db/database.ts';
import type { ExternalAccountsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { type EnvelopeCipher, Secret } from '../lib/crypto.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { findCurrency } from '../lib/money.ts';
import type {
  BankAccountCreateInput,
  BankAccountListInput,
  BankAccountUpdateInput,
} from './schemas.ts';
import {
  type ApiBankAccount,
  serializeBankAccount,
  serializeDeletedBankAccount,
} from './serialize.ts';

// Bank accounts the merchant is paid out to (Stripe's external accounts of
// type bank_account). The IBAN is checked with ibantools and stored
// envelope-encrypted, bound to its row id; the API shows last4 and a keyed
// fingerprint only. The pain.001 export is the one reader of the full IBAN.

const PARAM = (field: string) => `external_account[${field}]`;

/** The AAD that binds an encrypted IBAN to its bank account row. */
export const ibanAad = (id: string) => `external_account:${id}`;

interface CheckedBankDetails {
  iban: string;
  country: string;
  currency: string;
  bic: string | null;
}

/** Checks IBAN, BIC, country and currency; the error names the offending field. */
export function checkBankDetails(input: BankAccountCreateInput['external_account']) {
  const iban = electronicFormatIBAN(input.account_number) ?? '';
  if (!isValidIBAN(iban)) {
    throw new ApiError('invalid_iban', 'The account number is not a valid IBAN.', {
      param: PARAM('account_number'),
    });
  }
  const country = input.country.toUpperCase();
  const ibanCountry = extractIBAN(iban).countryCode ?? iban.slice(0, 2);
  if (country !== ibanCountry) {
    throw new ApiError(
      'parameter_invalid',
      `The country ${country} does not match the IBAN's country ${ibanCountry}.`,
      { param: PARAM('country') },
    );
  }
  const currency = findCurrency(input.currency);
  if (!currency) {
    throw new ApiError('invalid_currency', `Invalid currency: ${input.currency}.`, {
      param: PARAM('currency'),
    });
  }
  const bic = input.routing_number?.replace(/\s+/g, '').toUpperCase() ?? null;
  if (bic !== null && !isValidBIC(bic)) {
    throw new ApiError('invalid_bic', 'The routing number is not a valid BIC.', {
      param: PARAM('routing_number'),
    });
  }
  // Within SEPA in euros the IBAN alone routes the transfer; elsewhere the bank needs the BIC.
  if (bic === null && !(currency.code === 'eur' && isSEPACountry(country))) {
    throw new ApiError('invalid_bic', 'A BIC (routing_number) is required outside SEPA euros.', {
      param: PARAM('routing_number'),
    });
  }
  return { iban, country, currency: currency.code, bic } satisfies CheckedBankDetails;
}

/** The unique partial index of migration 0010: one default per (account, mode, currency). */
const ONE_DEFAULT_INDEX = 'external_accounts_one_default';

function isSecondDefault(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string; message?: string } | null;
  if (e?.code === '23505') return e.constraint === ONE_DEFAULT_INDEX;
  // SQLite names the columns, not the index; only that index is unique on these.
  return (
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    (e.message ?? '').includes('external_accounts.account_id')
  );
}

export function createBankAccounts(deps: {
  db: Db;
  clock: Clock;
  cipher: EnvelopeCipher;
  events: EventsService;
  postgres: boolean;
}) {
  const { db, clock, cipher, events } = deps;

  /**
   * Serializes the writes to one account's bank accounts: on PostgreSQL the
   * account row is locked until commit, so a concurrent create or update
   * waits here and then sees this one's rows (read committed takes a new
   * snapshot per statement): the last one to commit is the default, like
   * Stripe's. SQLite runs write transactions one at a time anyway.
   */
  async function lockAccount(tx: Tx, scope: Scope): Promise<void> {
    let query = tx.selectFrom('accounts').select('id').where('id', '=', scope.accountId);
    if (deps.postgres) query = query.forUpdate();
    await query.executeTakeFirst();
  }

  /**
   * Runs one write transaction. The lock above makes a second default
   * impossible through this service; should the unique index still refuse
   * one (a writer that bypassed the lock), the caller gets Stripe's
   * "retry" answer instead of a 500, and nothing is written.
   */
  async function write<T>(scope: Scope, work: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await db.transaction().execute(async (tx) => {
        await lockAccount(tx, scope);
        return work(tx);
      });
    } catch (error) {
      if (!isSecondDefault(error)) throw error;
      throw new ApiError(
        'lock_timeout',
        'Another request changed the default bank account of this currency at the same time; retry the request.',
        { param: 'default_for_currency' },
      );
    }
  }

  /** Only the caller's own account has external accounts here (no Connect yet). */
  function requireOwnAccount(scope: Scope, accountId: string): void {
    if (accountId !== scope.accountId) throw notFound('account', accountId, 'account');
  }

  function find(ex: Executor, scope: Scope, id: string) {
    return ex
      .selectFrom('external_accounts')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0)
      .executeTakeFirst();
  }

  async function live(ex: Executor, scope: Scope) {
    return ex
      .selectFrom('external_accounts')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0)
      .execute();
  }

  /** Makes `row` the only default of its currency. */
  async function makeDefault(tx: Tx, row: ExternalAccountsTable): Promise<void> {
    await tx
      .updateTable('external_accounts')
      .set({ default_for_currency: 0 })
      .where('account_id', '=', row.account_id)
      .where('livemode', '=', row.livemode)
      .where('currency', '=', row.currency)
      .where('id', '<>', row.id)
      .execute();
    await tx
      .updateTable('external_accounts')
      .set({ default_for_currency: 1 })
      .where('id', '=', row.id)
      .execute();
  }

  function newRow(
    scope: Scope,
    input: BankAccountCreateInput,
    details: CheckedBankDetails,
  ): ExternalAccountsTable {
    const id = newId('ba', clock.nowMs());
    const iban = new Secret(details.iban);
    const ext = input.external_account;
    return {
      id,
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
      currency: details.currency,
      country: details.country,
      account_holder_name: ext.account_holder_name ?? null,
      account_holder_type: ext.account_holder_type ?? null,
      iban_enc: cipher.encrypt(iban, ibanAad(id)),
      last4: details.iban.slice(-4),
      bic: details.bic,
      bank_name: null,
      fingerprint: cipher.fingerprint(iban, `bank_account:${scope.accountId}`),
      default_for_currency: 0,
      status: 'new',
      metadata: toJson(mergeMetadata({}, input.metadata)),
      deleted: 0,
      created: unixSeconds(clock),
    };
  }

  async function create(
    ctx: OpContext,
    accountId: string,
    input: BankAccountCreateInput,
  ): Promise<ApiBankAccount> {
    requireOwnAccount(ctx.scope, accountId);
    const details = checkBankDetails(input.external_account);
    return write(ctx.scope, async (tx) => {
      const existing = await live(tx, ctx.scope);
      if (existing.length >= LIMITS.payoutBankAccountsMax) {
        throw new ApiError(
          'parameter_invalid',
          `An account can have at most ${LIMITS.payoutBankAccountsMax} bank accounts.`,
          { param: 'external_account' },
        );
      }
      const row = newRow(ctx.scope, input, details);
      const sameCurrency = existing.filter((e) => e.currency === row.currency);
      if (sameCurrency.some((e) => e.fingerprint === row.fingerprint)) {
        throw new ApiError('bank_account_exists', 'This bank account already exists.', {
          param: PARAM('account_number'),
        });
      }
      await tx.insertInto('external_accounts').values(row).execute();
      // The first account of a currency is its default, like Stripe.
      const isDefault = input.default_for_currency === true || sameCurrency.length === 0;
      if (isDefault) await makeDefault(tx, row);
      const result = serializeBankAccount({ ...row, default_for_currency: isDefault ? 1 : 0 });
      await events.record(tx, ctx, [{ type: 'account.external_account.created', object: result }]);
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function retrieve(scope: Scope, accountId: string, id: string) {
    requireOwnAccount(scope, accountId);
    const row = await find(db, scope, id);
    if (!row) throw notFound('external account', id);
    return row;
  }

  async function update(
    ctx: OpContext,
    accountId: string,
    id: string,
    input: BankAccountUpdateInput,
  ): Promise<ApiBankAccount> {
    requireOwnAccount(ctx.scope, accountId);
    return write(ctx.scope, async (tx) => {
      const before = await find(tx, ctx.scope, id);
      if (!before) throw notFound('external account', id);
      if (input.default_for_currency === false && before.default_for_currency === 1) {
        throw new ApiError(
          'parameter_invalid',
          'To change the default, set default_for_currency=true on another bank account.',
          { param: 'default_for_currency' },
        );
      }
      const after: ExternalAccountsTable = {
        ...before,
        account_holder_name: input.account_holder_name ?? before.account_holder_name,
        account_holder_type: input.account_holder_type ?? before.account_holder_type,
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
        default_for_currency: input.default_for_currency ? 1 : before.default_for_currency,
      };
      await tx
        .updateTable('external_accounts')
        .set({
          account_holder_name: after.account_holder_name,
          account_holder_type: after.account_holder_type,
          metadata: after.metadata,
        })
        .where('id', '=', id)
        .execute();
      if (input.default_for_currency === true) await makeDefault(tx, after);
      const result = serializeBankAccount(after);
      await events.record(tx, ctx, [{ type: 'account.external_account.updated', object: result }]);
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function remove(ctx: OpContext, accountId: string, id: string) {
    requireOwnAccount(ctx.scope, accountId);
    return write(ctx.scope, async (tx) => {
      const row = await find(tx, ctx.scope, id);
      if (!row) throw notFound('external account', id);
      const others = (await live(tx, ctx.scope)).filter(
        (e) => e.currency === row.currency && e.id !== row.id,
      );
      // Like Stripe: the default of a currency goes only once another one is made default.
      if (row.default_for_currency === 1 && others.length > 0) {
        throw new ApiError(
          'parameter_invalid',
          `You cannot delete the default bank account for ${row.currency}; make another one the default first.`,
          { param: 'id' },
        );
      }
      // Soft delete: payouts already made to it still name it and still need its IBAN.
      await tx
        .updateTable('external_accounts')
        .set({ deleted: 1, default_for_currency: 0 })
        .where('id', '=', id)
        .execute();
      const result = serializeDeletedBankAccount(row);
      await events.record(tx, ctx, [
        { type: 'account.external_account.deleted', object: serializeBankAccount(row) },
      ]);
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function list(scope: Scope, accountId: string, filters: BankAccountListInput) {
    requireOwnAccount(scope, accountId);
    if (filters.object === 'card') return { rows: [], hasMore: false };
    const query = db
      .selectFrom('external_accounts')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0);
    return paginate(query, filters);
  }

  /** The bank account a payout goes to: the one named, or the currency's default. */
  async function destinationFor(tx: Tx, scope: Scope, input: { id?: string; currency: string }) {
    if (input.id !== undefined) {
      const row = await find(tx, scope, input.id);
      if (!row) throw notFound('external account', input.id, 'destination');
      return row;
    }
    const row = (await live(tx, scope)).find(
      (e) => e.currency === input.currency && e.default_for_currency === 1,
    );
    if (!row) {
      throw new ApiError(
        'parameter_missing',
        `You don't have any external accounts in that currency (${input.currency}).`,
        { param: 'destination' },
      );
    }
    return row;
  }

  return { create, retrieve, update, remove, list, destinationFor };
}

export type BankAccounts = ReturnType<typeof createBankAccounts>;
