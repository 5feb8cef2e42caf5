import { livemodeFlag, type Scope } from '../db/context.ts';
import { type Executor, fromJson } from '../db/database.ts';
import type { ConnectorAccountsTable } from '../db/schema.ts';
import { LIMITS } from '../lib/limits.ts';

// The connector accounts as incidents see them: read straight from the table
// (not routing's brief cache), so an incident opened a moment after a
// connector was added or disabled judges its impact on the current set.

export interface ConnectorView {
  id: string;
  accountId: string;
  livemode: boolean;
  name: string;
  type: string;
  paymentMethodTypes: string[];
}

export async function activeConnectors(ex: Executor, scope: Scope): Promise<ConnectorView[]> {
  const rows = await ex
    .selectFrom('connector_accounts')
    .select(['id', 'account_id', 'livemode', 'name', 'type', 'payment_method_types'])
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', livemodeFlag(scope))
    .where('status', '=', 'active')
    .where('deleted', '=', 0)
    .orderBy('created', 'asc')
    .orderBy('id', 'asc')
    .limit(LIMITS.connectorAccountsMax)
    .execute();
  return rows.map(toView);
}

type ConnectorRow = Pick<
  ConnectorAccountsTable,
  'id' | 'account_id' | 'livemode' | 'name' | 'type' | 'payment_method_types'
>;

function toView(row: ConnectorRow): ConnectorView {
  return {
    id: row.id,
    accountId: row.account_id,
    livemode: row.livemode === 1,
    name: row.name,
    type: row.type,
    paymentMethodTypes: fromJson<string[]>(row.payment_method_types) ?? [],
  };
}

/** Any connector account by id, deleted or not; undefined for the built-in sandbox. */
export async function connectorById(ex: Executor, id: string): Promise<ConnectorView | undefined> {
  const row = await ex
    .selectFrom('connector_accounts')
    .select(['id', 'account_id', 'livemode', 'name', 'type', 'payment_method_types'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toView(row) : undefined;
}
