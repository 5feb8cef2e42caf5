import type { OpContext, Scope } from '../db/context.ts';
import { livemodeFlag } from '../db/context.ts';
import type { Db, Executor } from '../db/database.ts';
import type { LedgerAccountMappingsTable } from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import type { LedgerPurpose } from '../ledger/accounts.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { MappingListInput, MappingPutInput } from './schemas.ts';

// The merchant's chart of accounts: which QuickBooks account name and which
// Xero account code each ledger account purpose (optionally per connector)
// exports to. An entry uses, in order: the mapping for its purpose and
// connector, the mapping for its purpose on any connector, the default below.

// Typed by purpose, so a new ledger purpose cannot be left without its label.
const PURPOSE_LABELS: Record<LedgerPurpose, { name: string; xeroCode: string }> = {
  processor_receivable: { name: 'Processor receivable', xeroCode: 'PR-RECV' },
  processing_fees: { name: 'Processing fees', xeroCode: 'PR-FEES' },
  merchant_pending: { name: 'Merchant balance (pending)', xeroCode: 'PR-PEND' },
  merchant_available: { name: 'Merchant balance (available)', xeroCode: 'PR-AVAIL' },
  refunds_in_flight: { name: 'Refunds in flight', xeroCode: 'PR-REFUND' },
  disputes: { name: 'Disputes', xeroCode: 'PR-DISPUTE' },
  payouts_in_transit: { name: 'Payouts in transit', xeroCode: 'PR-PAYOUT' },
  fx_conversion: { name: 'FX conversion', xeroCode: 'PR-FX' },
  cash: { name: 'Cash', xeroCode: 'PR-CASH' },
  transfers: { name: 'Transfers', xeroCode: 'PR-XFER' },
  extra_charges: { name: 'Extra charges to reverse', xeroCode: 'PR-EXTRA' },
  bank_transfers_unapplied: { name: 'Bank transfers unapplied', xeroCode: 'PR-BTUNAP' },
};
const labelOf = (purpose: string) =>
  (PURPOSE_LABELS as Record<string, { name: string; xeroCode: string } | undefined>)[purpose];

/**
 * "Payrail - Processor receivable (conn_x)" and friends, for an unmapped
 * account. Only receivables are book accounts per connector, so only they name it.
 */
export function defaultQuickbooksAccount(purpose: string, connectorId: string | null): string {
  const label = labelOf(purpose)?.name ?? purpose;
  const perConnector = purpose === 'processor_receivable' && connectorId;
  return `Payrail - ${label}${perConnector ? ` (${connectorId})` : ''}`;
}

export function defaultXeroCode(purpose: string): string {
  return (labelOf(purpose)?.xeroCode ?? `PR-${purpose}`).slice(0, LIMITS.xeroAccountCodeLengthMax);
}

export interface ChartResolver {
  quickbooks(purpose: string, connectorId: string | null): string;
  xero(purpose: string, connectorId: string | null): string;
}

/** Loads the scope's mappings once (bounded by LIMITS.accountMappingsMax) for one export. */
export async function loadResolver(db: Executor, scope: Scope): Promise<ChartResolver> {
  const rows = await db
    .selectFrom('ledger_account_mappings')
    .selectAll()
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', livemodeFlag(scope))
    .limit(LIMITS.accountMappingsMax)
    .execute();
  const byKey = new Map(rows.map((r) => [`${r.purpose}|${r.connector_id}`, r]));
  const find = <K extends 'quickbooks_account' | 'xero_account_code'>(
    field: K,
    purpose: string,
    connectorId: string | null,
  ) =>
    (connectorId ? byKey.get(`${purpose}|${connectorId}`)?.[field] : null) ??
    byKey.get(`${purpose}|`)?.[field] ??
    null;
  return {
    quickbooks: (purpose, connectorId) =>
      find('quickbooks_account', purpose, connectorId) ??
      defaultQuickbooksAccount(purpose, connectorId),
    xero: (purpose, connectorId) =>
      find('xero_account_code', purpose, connectorId) ?? defaultXeroCode(purpose),
  };
}

export function createMappingService(deps: { db: Db; clock: Clock }) {
  const { db, clock } = deps;

  async function assertConnectorKnown(tx: Executor, scope: Scope, connectorId: string) {
    if (connectorId === 'sandbox') return;
    const row = await tx
      .selectFrom('connector_accounts')
      .select('id')
      .where('id', '=', connectorId)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
    if (!row) throw notFound('connector', connectorId, 'connector');
  }

  async function assertBelowLimit(tx: Executor, scope: Scope) {
    const { n } = await tx
      .selectFrom('ledger_account_mappings')
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(n) >= LIMITS.accountMappingsMax) {
      throw new ApiError(
        'account_mapping_limit_reached',
        `An account can have at most ${LIMITS.accountMappingsMax} ledger account mappings per mode.`,
      );
    }
  }

  /** Creates or replaces the mapping of (purpose, connector); omitted fields keep their value. */
  async function put(ctx: OpContext, input: MappingPutInput): Promise<LedgerAccountMappingsTable> {
    const connectorId = input.connector ?? '';
    return db.transaction().execute(async (tx) => {
      if (connectorId) await assertConnectorKnown(tx, ctx.scope, connectorId);
      const before = await tx
        .selectFrom('ledger_account_mappings')
        .selectAll()
        .where('account_id', '=', ctx.scope.accountId)
        .where('livemode', '=', livemodeFlag(ctx.scope))
        .where('purpose', '=', input.purpose)
        .where('connector_id', '=', connectorId)
        .executeTakeFirst();
      const now = unixSeconds(clock);
      const row: LedgerAccountMappingsTable = {
        id: before?.id ?? newId('jmap', clock.nowMs()),
        account_id: ctx.scope.accountId,
        livemode: livemodeFlag(ctx.scope),
        purpose: input.purpose,
        connector_id: connectorId,
        quickbooks_account:
          input.quickbooks_account === undefined
            ? (before?.quickbooks_account ?? null)
            : input.quickbooks_account,
        xero_account_code:
          input.xero_account_code === undefined
            ? (before?.xero_account_code ?? null)
            : input.xero_account_code,
        created: before?.created ?? now,
        updated: now,
      };
      if (before) {
        await tx.updateTable('ledger_account_mappings').set(row).where('id', '=', row.id).execute();
      } else {
        await assertBelowLimit(tx, ctx.scope);
        // A concurrent request for the same key may have inserted first: then
        // this one updates that row instead of failing on the unique index.
        await tx
          .insertInto('ledger_account_mappings')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['account_id', 'livemode', 'purpose', 'connector_id']).doUpdateSet({
              quickbooks_account: row.quickbooks_account,
              xero_account_code: row.xero_account_code,
              updated: row.updated,
            }),
          )
          .execute();
      }
      const stored = await tx
        .selectFrom('ledger_account_mappings')
        .selectAll()
        .where('account_id', '=', row.account_id)
        .where('livemode', '=', row.livemode)
        .where('purpose', '=', row.purpose)
        .where('connector_id', '=', row.connector_id)
        .executeTakeFirstOrThrow();
      await ctx.complete(tx, stored);
      return stored;
    });
  }

  async function list(scope: Scope, filters: MappingListInput) {
    let query = db
      .selectFrom('ledger_account_mappings')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.purpose) query = query.where('purpose', '=', filters.purpose);
    return paginate(query, filters);
  }

  return { put, list };
}

export type MappingService = ReturnType<typeof createMappingService>;

export function serializeMapping(row: LedgerAccountMappingsTable) {
  return {
    id: row.id,
    object: 'ledger_account_mapping' as const,
    purpose: row.purpose,
    connector: row.connector_id === '' ? null : row.connector_id,
    quickbooks_account: row.quickbooks_account,
    xero_account_code: row.xero_account_code,
    livemode: row.livemode === 1,
    created: row.created,
    updated: row.updated,
  };
}
