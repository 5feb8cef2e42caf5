import type { FastifyInstance } from 'fastify';
import { fromJson } from '../db/database.ts';
import type { AccountsTable } from '../db/schema.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { notFound } from '../lib/errors.ts';
import type { AccountsService } from './service.ts';

export function serializeAccount(row: AccountsTable) {
  return {
    id: row.id,
    object: 'account' as const,
    business_profile: { name: row.business_name, support_email: row.email, url: null },
    business_type: 'company',
    capabilities: { card_payments: 'active', transfers: 'inactive' },
    charges_enabled: true,
    country: row.country,
    created: row.created,
    default_currency: row.default_currency,
    details_submitted: true,
    email: row.email,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    payouts_enabled: false,
    settings: {
      dashboard: { display_name: row.business_name, timezone: 'Etc/UTC' },
      payments: { statement_descriptor: null },
    },
    type: 'standard',
  };
}

export function registerAccountRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { accounts: AccountsService },
): void {
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/account',
    summary: 'Retrieve the account that the API key belongs to',
    tag: 'Account',
    handler: async ({ ctx }) => {
      const row = await deps.accounts.getAccount(ctx.scope);
      if (!row) throw notFound('account', ctx.scope.accountId);
      return serializeAccount(row);
    },
  });
}
