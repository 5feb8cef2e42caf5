import { connectorDefinitions } from '../connectors/index.ts';
import type { ConnectorDefinition, ConnectorType } from '../connectors/types.ts';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, fromJson, toJson } from '../db/database.ts';
import type { ConnectorAccountsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { previousAttributes } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { type EnvelopeCipher, Secret } from '../lib/crypto.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { ConnectorAccountSettings } from './admin.ts';
import type { ConnectorCreateInput, ConnectorListInput, ConnectorUpdateInput } from './schemas.ts';
import { maskCredential, serializeConnector, serializeDeletedConnector } from './serialize.ts';
import type { RoutableConnector } from './types.ts';

// Connector accounts: a merchant's configured processors. Credentials are
// envelope-encrypted (bound to the row id) and only masked hints are ever
// returned; deleting is soft, because old charges must still capture and
// refund through the connector that made them.

// Only the static parts of the definitions are read here (credential fields,
// base URL rule); connectors are never created on the admin path.
const DEFINITIONS: Record<ConnectorType, ConnectorDefinition> = connectorDefinitions({
  latencyMs: 0,
  challengeUrl: () => '',
});

/** How many rows allActive() reads at most: every account's active connectors. */
const ALL_ACTIVE_MAX = 100_000;

const credentialsAad = (id: string) => `connector:${id}`;

/** Checks the credential fields against the type; returns them in the type's field order. */
function checkCredentials(
  definition: ConnectorDefinition,
  given: Record<string, string>,
): Record<string, string> {
  const known = [...definition.credentialFields, ...definition.optionalCredentialFields];
  for (const field of Object.keys(given)) {
    if (!known.includes(field)) {
      const param = `credentials[${field}]`;
      throw new ApiError(
        'parameter_unknown',
        `Received unknown parameter: ${param} (${definition.type} connectors take ${known.join(', ') || 'no credentials'})`,
        { param },
      );
    }
  }
  const out: Record<string, string> = {};
  for (const field of known) {
    const value = given[field];
    if (value !== undefined) out[field] = value;
    else if (definition.credentialFields.includes(field)) {
      const param = `credentials[${field}]`;
      throw new ApiError('parameter_missing', `Missing required param: ${param}.`, { param });
    }
  }
  return out;
}

/**
 * The base URL the row gets: `given` undefined keeps `current`; null unsets.
 * Whether a type needs one is in its definition.
 */
function checkBaseUrl(
  definition: ConnectorDefinition,
  given: string | null | undefined,
  current: string | null,
): string | null {
  const next = given === undefined ? current : given;
  if (definition.baseUrl === 'none' && next !== null) {
    throw new ApiError(
      'parameter_invalid',
      `${definition.type} connectors take no base_url (parameter base_url)`,
      { param: 'base_url' },
    );
  }
  if (definition.baseUrl === 'required' && next === null) {
    throw new ApiError(
      'parameter_missing',
      `Missing required param: base_url (${definition.type} connectors need one).`,
      { param: 'base_url' },
    );
  }
  return next;
}

function sealCredentials(cipher: EnvelopeCipher, id: string, credentials: Record<string, string>) {
  const hint: Record<string, string> = {};
  for (const [field, value] of Object.entries(credentials)) hint[field] = maskCredential(value);
  return {
    credentials_enc: cipher.encrypt(new Secret(JSON.stringify(credentials)), credentialsAad(id)),
    credentials_hint: toJson(hint),
  };
}

export function toRoutable(row: ConnectorAccountsTable): RoutableConnector {
  return {
    id: row.id,
    type: row.type as ConnectorType,
    name: row.name,
    currencies: fromJson<string[]>(row.currencies),
    paymentMethodTypes: fromJson<string[]>(row.payment_method_types) ?? [],
    feeRatePpm: row.fee_rate_ppm,
    feeFixed: row.fee_fixed,
    created: row.created,
  };
}

export function createConnectorAccounts(deps: {
  db: Db;
  clock: Clock;
  cipher: EnvelopeCipher;
  events: EventsService;
}) {
  const { db, clock, cipher, events } = deps;

  const inScope = (ex: Executor, scope: Scope) =>
    ex
      .selectFrom('connector_accounts')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));

  /** A not-deleted connector account of the scope, or 404 naming `param`. */
  async function requireLive(
    ex: Executor,
    scope: Scope,
    id: string,
    param = 'id',
  ): Promise<ConnectorAccountsTable> {
    const row = await inScope(ex, scope).where('id', '=', id).executeTakeFirst();
    if (!row || row.deleted === 1) throw notFound('connector', id, param);
    return row;
  }

  async function assertNameFree(ex: Executor, scope: Scope, name: string, exceptId: string) {
    const clash = await inScope(ex, scope)
      .where('name', '=', name)
      .where('deleted', '=', 0)
      .where('id', '!=', exceptId)
      .select('id')
      .executeTakeFirst();
    if (clash) {
      throw new ApiError(
        'parameter_invalid',
        `A connector named '${name}' already exists (${clash.id}); names are unique per account and mode.`,
        { param: 'name' },
      );
    }
  }

  async function assertBelowLimit(ex: Executor, scope: Scope) {
    const { n } = await ex
      .selectFrom('connector_accounts')
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('deleted', '=', 0)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(n) >= LIMITS.connectorAccountsMax) {
      throw new ApiError(
        'connector_limit_reached',
        `An account can have at most ${LIMITS.connectorAccountsMax} connectors per mode; delete one first.`,
      );
    }
  }

  function buildRow(ctx: OpContext, input: ConnectorCreateInput): ConnectorAccountsTable {
    const definition = DEFINITIONS[input.type];
    const credentials = checkCredentials(definition, input.credentials ?? {});
    const baseUrl = checkBaseUrl(definition, input.base_url, null);
    const id = newId('conn', clock.nowMs());
    return {
      id,
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      type: input.type,
      name: input.name,
      status: input.status ?? 'active',
      base_url: baseUrl,
      ...sealCredentials(cipher, id, credentials),
      currencies: input.currencies ? toJson(input.currencies) : null,
      payment_method_types: toJson(input.payment_method_types ?? ['card']),
      fee_rate_ppm: input.fees?.percent ?? 0,
      fee_fixed: input.fees?.fixed ?? 0,
      dispute_fee: input.dispute_fee ?? 0,
      settlement_currency: input.settlement_currency ?? null,
      timeout_ms: input.timeout_ms ?? LIMITS.connectorTimeoutMsDefault,
      metadata: toJson(mergeMetadata({}, input.metadata)),
      deleted: 0,
      created: unixSeconds(clock),
    };
  }

  async function create(
    ctx: OpContext,
    input: ConnectorCreateInput,
  ): Promise<ConnectorAccountsTable> {
    const row = buildRow(ctx, input);
    await db.transaction().execute(async (tx) => {
      await assertBelowLimit(tx, ctx.scope);
      await assertNameFree(tx, ctx.scope, row.name, row.id);
      await tx.insertInto('connector_accounts').values(row).execute();
      const object = serializeConnector(row);
      await events.record(tx, ctx, [{ type: 'connector.created', object }]);
      await ctx.complete(tx, row);
    });
    return row;
  }

  async function retrieve(scope: Scope, id: string): Promise<ConnectorAccountsTable> {
    return requireLive(db, scope, id);
  }

  function applyUpdate(
    before: ConnectorAccountsTable,
    input: ConnectorUpdateInput,
  ): ConnectorAccountsTable {
    if (input.type !== undefined && input.type !== before.type) {
      throw new ApiError(
        'parameter_invalid',
        `The type of a connector cannot change (it is ${before.type}); create a new connector instead.`,
        { param: 'type' },
      );
    }
    const definition = DEFINITIONS[before.type as ConnectorType];
    const sealed =
      input.credentials !== undefined
        ? sealCredentials(cipher, before.id, checkCredentials(definition, input.credentials))
        : {};
    const currencies =
      input.currencies === undefined
        ? before.currencies
        : input.currencies === null
          ? null
          : toJson(input.currencies);
    return {
      ...before,
      ...sealed,
      name: input.name ?? before.name,
      status: input.status ?? before.status,
      base_url: checkBaseUrl(definition, input.base_url, before.base_url),
      currencies,
      payment_method_types:
        input.payment_method_types !== undefined
          ? toJson(input.payment_method_types)
          : before.payment_method_types,
      fee_rate_ppm: input.fees?.percent ?? before.fee_rate_ppm,
      fee_fixed: input.fees?.fixed ?? before.fee_fixed,
      dispute_fee: input.dispute_fee ?? before.dispute_fee ?? 0,
      settlement_currency:
        input.settlement_currency === undefined
          ? (before.settlement_currency ?? null)
          : input.settlement_currency,
      timeout_ms: input.timeout_ms ?? before.timeout_ms,
      metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
    };
  }

  async function update(
    ctx: OpContext,
    id: string,
    input: ConnectorUpdateInput,
  ): Promise<ConnectorAccountsTable> {
    return db.transaction().execute(async (tx) => {
      const before = await requireLive(tx, ctx.scope, id);
      const after = applyUpdate(before, input);
      if (after.name !== before.name) await assertNameFree(tx, ctx.scope, after.name, id);
      await tx.updateTable('connector_accounts').set(after).where('id', '=', id).execute();
      const prev = serializeConnector(before) as unknown as Record<string, unknown>;
      const next = serializeConnector(after);
      const changed = previousAttributes(prev, next as unknown as Record<string, unknown>);
      // New credentials can have the same hints: still a change worth an event.
      const rotated = input.credentials !== undefined;
      if (changed || rotated) {
        await events.record(tx, ctx, [
          { type: 'connector.updated', object: next, previousAttributes: changed ?? {} },
        ]);
      }
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function remove(ctx: OpContext, id: string) {
    return db.transaction().execute(async (tx) => {
      const row = await requireLive(tx, ctx.scope, id);
      await tx.updateTable('connector_accounts').set({ deleted: 1 }).where('id', '=', id).execute();
      const object = serializeConnector({ ...row, deleted: 1 });
      await events.record(tx, ctx, [{ type: 'connector.deleted', object }]);
      const result = serializeDeletedConnector(id);
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function list(scope: Scope, filters: ConnectorListInput) {
    return paginate(inScope(db, scope).where('deleted', '=', 0), filters);
  }

  /** Active, not deleted, in creation order (ids sort by creation time). */
  async function routable(scope: Scope): Promise<RoutableConnector[]> {
    const rows = await inScope(db, scope)
      .where('deleted', '=', 0)
      .where('status', '=', 'active')
      .orderBy('id', 'asc')
      .limit(LIMITS.connectorAccountsMax)
      .execute();
    return rows.map(toRoutable);
  }

  /** Ids of the scope's connectors that are not deleted (for routing config references). */
  async function liveIds(ex: Executor, scope: Scope): Promise<Set<string>> {
    const rows = await inScope(ex, scope)
      .where('deleted', '=', 0)
      .clearSelect()
      .select('id')
      .limit(LIMITS.connectorAccountsMax)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  function decrypt(row: ConnectorAccountsTable): ConnectorAccountSettings {
    const plain = cipher.decrypt(row.credentials_enc, credentialsAad(row.id)).reveal();
    return {
      id: row.id,
      type: row.type as ConnectorType,
      baseUrl: row.base_url,
      credentials: JSON.parse(plain) as Record<string, string>,
      accountId: row.account_id,
      livemode: row.livemode === 1,
      timeoutMs: row.timeout_ms,
      status: row.status,
      deleted: row.deleted === 1,
    };
  }

  /** Any connector account by id, deleted or not, decrypted. */
  async function settings(id: string): Promise<ConnectorAccountSettings | undefined> {
    const row = await db
      .selectFrom('connector_accounts')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? decrypt(row) : undefined;
  }

  async function allActive(): Promise<ConnectorAccountSettings[]> {
    const rows = await db
      .selectFrom('connector_accounts')
      .selectAll()
      .where('deleted', '=', 0)
      .where('status', '=', 'active')
      .orderBy('id', 'asc')
      .limit(ALL_ACTIVE_MAX)
      .execute();
    return rows.map(decrypt);
  }

  return {
    requireLive,
    create,
    retrieve,
    update,
    remove,
    list,
    routable,
    liveIds,
    settings,
    allActive,
  };
}

export type ConnectorAccounts = ReturnType<typeof createConnectorAccounts>;
