import type { Scope } from '../db/context.ts';
import type { Db, Tx } from '../db/database.ts';
import { insertRows, selectRow, updateRows } from '../db/insert.ts';
import { assert } from '../lib/assert.ts';
import type { Clock } from '../lib/clock.ts';
import { hmacHex, sha256Hex } from '../lib/crypto.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';

// Idempotency keys, Stripe's semantics: the first result of a request that
// started executing is stored and replayed for the same key and parameters;
// other parameters under the same key are an error; a concurrent request with
// the key gets 409. Results are kept at least LIMITS.idempotencyRetentionMs.

export interface StoredResponse {
  status: number;
  body: unknown;
}

export type BeginResult = { kind: 'execute' } | { kind: 'replay'; response: StoredResponse };

export interface KeyRef {
  scope: Scope;
  key: string;
}

export interface IdempotencyStore {
  begin(
    ref: KeyRef,
    request: { method: string; path: string; params: unknown },
  ): Promise<BeginResult>;
  complete(tx: Tx, ref: KeyRef, response: StoredResponse): Promise<void>;
  /** For operations that did not complete inside a transaction of their own (reads, deletes). */
  completeOutside(ref: KeyRef, response: StoredResponse): Promise<void>;
  checkpoint(tx: Tx, ref: KeyRef, resourceId: string): Promise<void>;
  /** After a failed execution: what the key holds now. */
  settleFailure(ref: KeyRef, error: unknown): Promise<StoredResponse | 'recovering' | 'released'>;
  completeRecovered(
    resourceId: string,
    response: (scope: Scope) => Promise<StoredResponse>,
  ): Promise<number>;
  releaseAbandoned(): Promise<number>;
  /** The fingerprint this store gives a request, for tests that build keys by hand. */
  hash(method: string, path: string, params: unknown): string;
  prune(): Promise<number>;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : 1,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The fingerprint of a request's parameters. Parameters may hold a card
 * number, so in the engine it is keyed (HMAC with a key derived from the
 * master key): a plain hash of a card number could be brute-forced from its
 * last four digits and expiry.
 */
export function requestHash(
  method: string,
  path: string,
  params: unknown,
  hashKey?: Buffer,
): string {
  const text = `${method} ${path} ${canonical(params)}`;
  return hashKey ? hmacHex(hashKey, text) : sha256Hex(text);
}

export interface IdempotencyOptions {
  /** Key for request fingerprints; see requestHash. */
  hashKey?: Buffer | undefined;
  /** Whether the engine process that holds a key is still alive (see db/instances.ts). */
  isAlive?: ((instanceId: string) => Promise<boolean>) | undefined;
}

export function createIdempotencyStore(
  db: Db,
  clock: Clock,
  instanceId: string,
  options: IdempotencyOptions = {},
): IdempotencyStore {
  const isAlive = options.isAlive ?? (async (id: string) => id === instanceId);
  const hash = (method: string, path: string, params: unknown) =>
    requestHash(method, path, params, options.hashKey);
  const where = (ref: KeyRef) => ({
    account_id: ref.scope.accountId,
    livemode: ref.scope.livemode ? (1 as const) : (0 as const),
    key: ref.key,
  });

  async function begin(
    ref: KeyRef,
    request: { method: string; path: string; params: unknown },
  ): Promise<BeginResult> {
    if (ref.key.length > LIMITS.idempotencyKeyLengthMax || ref.key.length === 0) {
      throw new ApiError(
        'idempotency_key_too_long',
        `Idempotency keys must be 1 to ${LIMITS.idempotencyKeyLengthMax} characters long.`,
      );
    }
    const requestFingerprint = hash(request.method, request.path, request.params);
    const now = clock.nowMs();
    const k = where(ref);
    const inserted = await insertRows(
      db,
      'idempotency_keys',
      [
        {
          ...k,
          request_method: request.method,
          request_path: request.path,
          request_hash: requestFingerprint,
          status: 'in_progress',
          locked_by: instanceId,
          locked_at_ms: now,
          recovery_resource: null,
          response_status: null,
          response_body: null,
          created_ms: now,
        },
      ],
      { onConflictDoNothing: true },
    );
    if (inserted === 1) return { kind: 'execute' };

    const row = await selectRow(db, 'idempotency_keys', k);
    if (!row) return begin(ref, request); // pruned in between: try once more
    if (row.request_hash !== requestFingerprint) {
      throw new ApiError(
        'idempotency_key_reused',
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${ref.key}' if you meant to execute a different request.`,
      );
    }
    if (row.status === 'done') {
      assert(row.response_status !== null && row.response_body !== null, 'done key has a response');
      return {
        kind: 'replay',
        response: { status: row.response_status, body: JSON.parse(row.response_body) },
      };
    }
    // In progress. Take it over only if nothing was committed under it and its holder is gone.
    const leaseExpired = row.locked_at_ms + LIMITS.idempotencyLeaseMs < now;
    const holderGone = row.locked_by !== instanceId && !(await isAlive(row.locked_by));
    if (row.recovery_resource === null && (leaseExpired || holderGone)) {
      const taken = await db
        .updateTable('idempotency_keys')
        .set({ locked_by: instanceId, locked_at_ms: now })
        .where('account_id', '=', k.account_id)
        .where('livemode', '=', k.livemode)
        .where('key', '=', k.key)
        .where('status', '=', 'in_progress')
        .where('locked_by', '=', row.locked_by)
        .where('locked_at_ms', '=', row.locked_at_ms)
        .where('recovery_resource', 'is', null)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 1) return { kind: 'execute' };
    }
    throw new ApiError(
      'idempotency_key_in_use',
      'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): please retry later.',
      { headers: { 'retry-after': '1' } },
    );
  }

  async function complete(tx: Tx, ref: KeyRef, response: StoredResponse): Promise<void> {
    const updated = await updateRows(
      tx,
      'idempotency_keys',
      {
        status: 'done',
        response_status: response.status,
        response_body: JSON.stringify(response.body),
      },
      { ...where(ref), locked_by: instanceId, status: 'in_progress' },
    );
    // If another process took the key over, this transaction must not commit.
    assert(updated === 1, `idempotency key ${ref.key} is no longer held`);
  }

  async function checkpoint(tx: Tx, ref: KeyRef, resourceId: string): Promise<void> {
    const updated = await updateRows(
      tx,
      'idempotency_keys',
      { recovery_resource: resourceId },
      { ...where(ref), locked_by: instanceId, status: 'in_progress' },
    );
    assert(updated === 1, `idempotency key ${ref.key} is no longer held`);
  }

  async function settleFailure(
    ref: KeyRef,
    error: unknown,
  ): Promise<StoredResponse | 'recovering' | 'released'> {
    const k = where(ref);
    const row = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('account_id', '=', k.account_id)
      .where('livemode', '=', k.livemode)
      .where('key', '=', k.key)
      .executeTakeFirst();
    if (!row || row.locked_by !== instanceId) return 'released';
    if (row.status === 'done' && row.response_status !== null && row.response_body !== null) {
      return { status: row.response_status, body: JSON.parse(row.response_body) };
    }
    if (row.recovery_resource !== null) return 'recovering';
    if (error instanceof ApiError) {
      // An expected error after execution started is the request's result.
      const response = { status: error.status, body: error.toBody() };
      await completeOutside(ref, response);
      return response;
    }
    // A bug before anything was committed: let a retry execute again.
    await db
      .deleteFrom('idempotency_keys')
      .where('account_id', '=', k.account_id)
      .where('livemode', '=', k.livemode)
      .where('key', '=', k.key)
      .where('locked_by', '=', instanceId)
      .where('status', '=', 'in_progress')
      .execute();
    return 'released';
  }

  async function completeRecovered(
    resourceId: string,
    response: (scope: Scope) => Promise<StoredResponse>,
  ): Promise<number> {
    const rows = await db
      .selectFrom('idempotency_keys')
      .select(['account_id', 'livemode', 'key'])
      .where('recovery_resource', '=', resourceId)
      .where('status', '=', 'in_progress')
      .execute();
    for (const row of rows) {
      const scope = { accountId: row.account_id, livemode: row.livemode === 1 };
      const stored = await response(scope);
      await db
        .updateTable('idempotency_keys')
        .set({
          status: 'done',
          response_status: stored.status,
          response_body: JSON.stringify(stored.body),
        })
        .where('account_id', '=', row.account_id)
        .where('livemode', '=', row.livemode)
        .where('key', '=', row.key)
        .where('status', '=', 'in_progress')
        .execute();
    }
    return rows.length;
  }

  /** Frees keys whose holder died before committing anything (or whose lease ran out). */
  async function releaseAbandoned(): Promise<number> {
    const holders = await db
      .selectFrom('idempotency_keys')
      .select('locked_by')
      .distinct()
      .where('status', '=', 'in_progress')
      .where('recovery_resource', 'is', null)
      .where('locked_by', '!=', instanceId)
      .execute();
    let released = 0;
    for (const { locked_by: holder } of holders) {
      let query = db
        .deleteFrom('idempotency_keys')
        .where('status', '=', 'in_progress')
        .where('recovery_resource', 'is', null)
        .where('locked_by', '=', holder);
      if (await isAlive(holder)) {
        query = query.where('locked_at_ms', '<', clock.nowMs() - LIMITS.idempotencyLeaseMs);
      }
      const result = await query.executeTakeFirst();
      released += Number(result.numDeletedRows);
    }
    return released;
  }

  async function prune(): Promise<number> {
    const result = await db
      .deleteFrom('idempotency_keys')
      .where('status', '=', 'done')
      .where('created_ms', '<', clock.nowMs() - LIMITS.idempotencyRetentionMs)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async function completeOutside(ref: KeyRef, response: StoredResponse): Promise<void> {
    await db.transaction().execute((tx) => complete(tx, ref, response));
  }

  return {
    hash,
    begin,
    complete,
    completeOutside,
    checkpoint,
    settleFailure,
    completeRecovered,
    releaseAbandoned,
    prune,
  };
}
