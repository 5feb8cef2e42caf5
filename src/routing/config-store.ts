import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, type Tx, toJson } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import { previousAttributes } from '../events/service.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import type { ConnectorAccounts } from './connector-accounts.ts';
import type { RoutingConfigUpdateInput } from './schemas.ts';
import { type StoredRoutingConfig, serializeRoutingConfig } from './serialize.ts';
import { DEFAULT_ROUTING_CONFIG, RoutingConfig } from './types.ts';

// The routing configuration of one account and mode: one row, replaced whole
// by POST /v1/routing, with a version that goes up by one on every change
// (optimistic: a writer that read an older version loses with a 409).

/** The built-in sandbox connector, which routing may name in test mode. */
const BUILT_IN_SANDBOX = 'sandbox';

/** Every connector id the configuration names, with the parameter path that names it. */
export function connectorReferences(config: RoutingConfig): { id: string; param: string }[] {
  const refs: { id: string; param: string }[] = [];
  config.strategies.forEach((strategy, i) => {
    const base = `strategies[${i}]`;
    if (strategy.type === 'priority') {
      strategy.connectors.forEach((id, j) => {
        refs.push({ id, param: `${base}[connectors][${j}]` });
      });
    } else if (strategy.type === 'weighted') {
      strategy.weights.forEach((w, j) => {
        refs.push({ id: w.connector, param: `${base}[weights][${j}][connector]` });
      });
    } else if (strategy.type === 'rules') {
      strategy.rules.forEach((rule, k) => {
        rule.connectors.forEach((id, j) => {
          refs.push({ id, param: `${base}[rules][${k}][connectors][${j}]` });
        });
      });
    }
  });
  return refs;
}

/** The IBAN in electronic format, or a 400 naming it. */
function normalizeSecondaryMethod(config: RoutingConfig): RoutingConfig {
  const secondary = config.secondary_method;
  if (!secondary) return config;
  const iban = electronicFormatIBAN(secondary.bank_transfer.iban) ?? '';
  if (!isValidIBAN(iban)) {
    const param = 'secondary_method[bank_transfer][iban]';
    throw new ApiError('invalid_iban', `The IBAN you provided is invalid (parameter ${param}).`, {
      param,
    });
  }
  return {
    ...config,
    secondary_method: { ...secondary, bank_transfer: { ...secondary.bank_transfer, iban } },
  };
}

export function createRoutingConfigStore(deps: {
  db: Db;
  clock: Clock;
  events: EventsService;
  connectors: ConnectorAccounts;
}) {
  const { db, clock, events, connectors } = deps;

  async function read(ex: Executor, scope: Scope): Promise<StoredRoutingConfig> {
    const row = await ex
      .selectFrom('routing_configs')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    const livemode = scope.livemode;
    if (!row) return { config: DEFAULT_ROUTING_CONFIG, version: 0, updated: null, livemode };
    // Parsing again fills defaults of fields added to the schema since it was stored.
    const config = RoutingConfig.parse(JSON.parse(row.config));
    return { config, version: row.version, updated: row.updated, livemode };
  }

  async function assertReferencesExist(tx: Tx, scope: Scope, config: RoutingConfig) {
    const live = await connectors.liveIds(tx, scope);
    if (!scope.livemode) live.add(BUILT_IN_SANDBOX);
    for (const ref of connectorReferences(config)) {
      if (!live.has(ref.id)) {
        throw new ApiError(
          'parameter_invalid',
          `No such connector: '${ref.id}' (parameter ${ref.param})`,
          { param: ref.param },
        );
      }
    }
  }

  function versionMismatch(current: number): ApiError {
    return new ApiError(
      'routing_config_version_mismatch',
      `The routing configuration changed meanwhile (it is now version ${current}); read it again and retry.`,
      { param: 'version' },
    );
  }

  /** Writes version `next`; false when another writer got there first. */
  async function write(tx: Tx, scope: Scope, config: RoutingConfig, current: number, next: number) {
    const values = { config: toJson(config), version: next, updated: unixSeconds(clock) };
    if (current === 0) {
      const result = await tx
        .insertInto('routing_configs')
        .values({ account_id: scope.accountId, livemode: livemodeFlag(scope), ...values })
        .onConflict((oc) => oc.columns(['account_id', 'livemode']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    }
    const result = await tx
      .updateTable('routing_configs')
      .set(values)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('version', '=', current)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async function replace(
    ctx: OpContext,
    input: RoutingConfigUpdateInput,
  ): Promise<StoredRoutingConfig> {
    const { version: expected, ...parsed } = input;
    const config = normalizeSecondaryMethod(parsed);
    return db.transaction().execute(async (tx) => {
      const before = await read(tx, ctx.scope);
      if (expected !== undefined && expected !== before.version)
        throw versionMismatch(before.version);
      await assertReferencesExist(tx, ctx.scope, config);
      const next = before.version + 1;
      if (!(await write(tx, ctx.scope, config, before.version, next)))
        throw versionMismatch(before.version + 1);
      const after = await read(tx, ctx.scope);
      const object = serializeRoutingConfig(after);
      const changed = previousAttributes(
        serializeRoutingConfig(before) as unknown as Record<string, unknown>,
        object as unknown as Record<string, unknown>,
      );
      await events.record(tx, ctx, [
        { type: 'routing_config.updated', object, previousAttributes: changed },
      ]);
      await ctx.complete(tx, after);
      return after;
    });
  }

  return { read: (scope: Scope) => read(db, scope), replace };
}

export type RoutingConfigStore = ReturnType<typeof createRoutingConfigStore>;
