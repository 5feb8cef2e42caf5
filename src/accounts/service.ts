import { sql } from 'kysely';
import type { Scope } from '../db/context.ts';
import { type Db, dialectOf, type Executor, toJson } from '../db/database.ts';
import type { AccountsTable } from '../db/schema.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { newId, randomToken } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { createConnectService } from './connect.ts';

// Merchant accounts and their API keys. Keys are stored only as SHA-256
// hashes (they are long random tokens, so a fast hash is enough); the clear
// key is shown once, when it is made.

export type KeyKind = 'secret' | 'publishable';

export interface KeyIdentity {
  accountId: string;
  livemode: boolean;
  kind: KeyKind;
}

export interface NewKey {
  id: string;
  key: string;
  kind: KeyKind;
  livemode: boolean;
}

const KEY_TOKEN_CHARS = 32;
/** pg_advisory_xact_lock key that serialises bootstrap across engine processes. */
const BOOTSTRAP_LOCK_KEY = 0x7061_7972; // 'payr'

export function keyPrefix(kind: KeyKind, livemode: boolean): string {
  return `${kind === 'secret' ? 'sk' : 'pk'}_${livemode ? 'live' : 'test'}_`;
}

export function describeKey(key: string): { kind: KeyKind; livemode: boolean } | undefined {
  const match = /^(sk|pk)_(test|live)_[A-Za-z0-9]{24,}$/.exec(key);
  if (!match) return undefined;
  return { kind: match[1] === 'sk' ? 'secret' : 'publishable', livemode: match[2] === 'live' };
}

export function createAccountsService(db: Db, clock: Clock) {
  // Keys are looked up on every request; a bounded cache keeps that off the database.
  const cache = new Map<string, KeyIdentity | null>();

  async function createAccount(
    input: {
      businessName?: string;
      country?: string;
      defaultCurrency?: string;
      email?: string;
    } = {},
    ex: Executor = db,
  ): Promise<AccountsTable> {
    const row: AccountsTable = {
      id: newId('acct', clock.nowMs()),
      business_name: input.businessName ?? null,
      email: input.email ?? null,
      country: input.country ?? 'US',
      default_currency: input.defaultCurrency ?? 'usd',
      metadata: toJson({}),
      created: unixSeconds(clock),
    };
    await ex.insertInto('accounts').values(row).execute();
    return row;
  }

  async function createKey(
    accountId: string,
    options: { kind: KeyKind; livemode: boolean; key?: string },
    ex: Executor = db,
  ): Promise<NewKey> {
    const key =
      options.key ?? keyPrefix(options.kind, options.livemode) + randomToken(KEY_TOKEN_CHARS);
    const described = describeKey(key);
    if (!described || described.kind !== options.kind || described.livemode !== options.livemode) {
      throw new Error(
        `key does not look like a ${options.livemode ? 'live' : 'test'} ${options.kind} key`,
      );
    }
    const id = newId('key', clock.nowMs());
    await ex
      .insertInto('api_keys')
      .values({
        id,
        account_id: accountId,
        livemode: options.livemode ? 1 : 0,
        kind: options.kind,
        key_hash: sha256Hex(key),
        key_hint: `${key.slice(0, 12)}…${key.slice(-4)}`,
        created: unixSeconds(clock),
        revoked_at: null,
      })
      .execute();
    return { id, key, kind: options.kind, livemode: options.livemode };
  }

  async function revokeKey(keyId: string): Promise<void> {
    await db
      .updateTable('api_keys')
      .set({ revoked_at: unixSeconds(clock) })
      .where('id', '=', keyId)
      .execute();
    cache.clear();
  }

  async function authenticate(key: string): Promise<KeyIdentity | null> {
    if (!describeKey(key)) return null;
    const hash = sha256Hex(key);
    const cached = cache.get(hash);
    if (cached !== undefined) return cached;
    const row = await db
      .selectFrom('api_keys')
      .select(['account_id', 'livemode', 'kind', 'revoked_at'])
      .where('key_hash', '=', hash)
      .executeTakeFirst();
    const identity =
      row && row.revoked_at === null
        ? { accountId: row.account_id, livemode: row.livemode === 1, kind: row.kind }
        : null;
    if (cache.size >= LIMITS.apiKeyCacheEntriesMax) cache.clear();
    // Unknown keys are not cached, so a key made by another process works at once.
    if (identity) cache.set(hash, identity);
    return identity;
  }

  async function getAccount(scope: Scope): Promise<AccountsTable | undefined> {
    return db
      .selectFrom('accounts')
      .selectAll()
      .where('id', '=', scope.accountId)
      .executeTakeFirst();
  }

  async function firstAccount(): Promise<AccountsTable | undefined> {
    return db.selectFrom('accounts').selectAll().orderBy('id').limit(1).executeTakeFirst();
  }

  /**
   * On a new database: the default account with a test-mode secret key (the
   * configured one, or a generated one that is returned so it can be printed
   * once) and a publishable key. On an existing database: nothing.
   *
   * All or nothing, and once: engines started together on one new PostgreSQL
   * database queue on a transaction-scoped advisory lock (on SQLite the write
   * transaction itself serialises them), so exactly one makes the account, and
   * a failure leaves no account without its keys behind.
   */
  async function bootstrap(options: {
    secretKey?: string | undefined;
  }): Promise<{ account: AccountsTable; keys: NewKey[] } | null> {
    if (await firstAccount()) return null;
    return db.transaction().execute(async (tx) => {
      if (dialectOf(tx) === 'postgres') {
        await sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`.execute(tx);
      }
      const existing = await tx.selectFrom('accounts').select('id').limit(1).executeTakeFirst();
      if (existing) return null;
      const account = await createAccount({ businessName: 'Default account' }, tx);
      const keys = [
        await createKey(
          account.id,
          { kind: 'secret', livemode: false, key: options.secretKey },
          tx,
        ),
        await createKey(account.id, { kind: 'publishable', livemode: false }, tx),
      ];
      return { account, keys };
    });
  }

  return {
    createAccount,
    createKey,
    revokeKey,
    authenticate,
    getAccount,
    firstAccount,
    bootstrap,
    connect: createConnectService(db, clock),
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;
