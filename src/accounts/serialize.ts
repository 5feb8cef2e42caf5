import { fromJson } from '../db/database.ts';
import type { AccountsTable } from '../db/schema.ts';

// Stripe's account object, for the platform (GET /v1/account) and for the
// accounts it connected (GET /v1/accounts/:id).

export function serializeAccount(row: AccountsTable) {
  const connected = isConnected(row);
  return {
    id: row.id,
    object: 'account' as const,
    business_profile: { name: row.business_name, support_email: row.email, url: null },
    business_type: 'company',
    capabilities: {
      card_payments: 'active',
      // A connected account receives destination charges: transfers are active for it.
      transfers: connected ? 'active' : 'inactive',
    },
    charges_enabled: true,
    controller: connected
      ? { type: 'application', is_controller: true, stripe_dashboard: { type: 'none' } }
      : { type: 'account' },
    country: row.country,
    created: row.created,
    default_currency: row.default_currency,
    details_submitted: true,
    email: row.email,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    payouts_enabled: connected,
    settings: {
      dashboard: { display_name: row.business_name, timezone: 'Etc/UTC' },
      payments: { statement_descriptor: null },
    },
    type: connected ? ('custom' as const) : ('standard' as const),
  };
}

export function isConnected(row: AccountsTable): boolean {
  return row.platform_account_id !== null && row.platform_account_id !== undefined;
}
