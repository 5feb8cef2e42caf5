import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import type { BankAccounts } from './bank-accounts.ts';
import {
  BankAccountCreate,
  BankAccountListQuery,
  BankAccountUpdate,
  PayoutCancel,
  PayoutCreate,
  PayoutListQuery,
  PayoutUpdate,
} from './schemas.ts';
import { serializeBankAccount, serializePayout } from './serialize.ts';
import type { PayoutsService } from './service.ts';

// Stripe's external accounts (bank accounts) and payouts endpoints.

function registerBankAccountRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { bankAccounts: BankAccounts },
): void {
  const { bankAccounts } = deps;
  const tag = 'Bank accounts';
  const base = '/v1/accounts/:account/external_accounts';
  defineRoute(app, deps, {
    method: 'POST',
    path: base,
    summary: 'Add a bank account (IBAN) that payouts go to',
    tag,
    body: BankAccountCreate,
    handler: ({ ctx, params, body }) => bankAccounts.create(ctx, params.account ?? '', body),
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: base,
    summary: 'List bank accounts, newest first',
    tag,
    query: BankAccountListQuery,
    handler: async ({ ctx, params, query }) => {
      const account = params.account ?? '';
      const page = await bankAccounts.list(ctx.scope, account, query);
      const url = `/v1/accounts/${account}/external_accounts`;
      return listPage(url, page.rows.map(serializeBankAccount), page.hasMore);
    },
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: `${base}/:id`,
    summary: 'Retrieve a bank account',
    tag,
    handler: async ({ ctx, params }) =>
      serializeBankAccount(
        await bankAccounts.retrieve(ctx.scope, params.account ?? '', params.id ?? ''),
      ),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: `${base}/:id`,
    summary: 'Update a bank account (holder, metadata, default for its currency)',
    tag,
    body: BankAccountUpdate,
    handler: ({ ctx, params, body }) =>
      bankAccounts.update(ctx, params.account ?? '', params.id ?? '', body),
  });
  defineRoute(app, deps, {
    method: 'DELETE',
    path: `${base}/:id`,
    summary: 'Delete a bank account',
    tag,
    handler: ({ ctx, params }) => bankAccounts.remove(ctx, params.account ?? '', params.id ?? ''),
  });
}

function registerPayoutRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { payouts: PayoutsService },
): void {
  const { payouts } = deps;
  const tag = 'Payouts';
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payouts',
    summary: 'Pay out available balance to a bank account',
    tag,
    body: PayoutCreate,
    handler: ({ ctx, body }) => payouts.create(ctx, body),
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payouts',
    summary: 'List payouts, newest first',
    tag,
    query: PayoutListQuery,
    handler: async ({ ctx, query }) => {
      const page = await payouts.list(ctx.scope, query);
      return listPage('/v1/payouts', page.rows.map(serializePayout), page.hasMore);
    },
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payouts/:id',
    summary: 'Retrieve a payout',
    tag,
    handler: async ({ ctx, params }) =>
      serializePayout(await payouts.retrieve(ctx.scope, params.id ?? '')),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payouts/:id',
    summary: 'Update a payout (metadata)',
    tag,
    body: PayoutUpdate,
    handler: ({ ctx, params, body }) => payouts.update(ctx, params.id ?? '', body),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payouts/:id/cancel',
    summary: 'Cancel a pending payout; the funds return to the available balance',
    tag,
    body: PayoutCancel,
    handler: ({ ctx, params }) => payouts.cancel(ctx, params.id ?? ''),
  });
}

export function registerPayoutsRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { bankAccounts: BankAccounts; payouts: PayoutsService },
): void {
  registerBankAccountRoutes(app, deps);
  registerPayoutRoutes(app, deps);
}
