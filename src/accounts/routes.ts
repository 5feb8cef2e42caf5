import type { FastifyInstance } from 'fastify';
import type { AccountsTable } from '../db/schema.ts';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { notFound } from '../lib/errors.ts';
import type { ConnectService } from './connect.ts';
import { AccountCreate, AccountListQuery, AccountRetrieveQuery, AccountUpdate } from './schemas.ts';
import { serializeAccount } from './serialize.ts';
import type { AccountsService } from './service.ts';

export { serializeAccount } from './serialize.ts';

const respondAccount = (row: AccountsTable) => ({ status: 200, body: serializeAccount(row) });
const tag = 'Account';

export function registerAccountRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { accounts: AccountsService },
): void {
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/account',
    summary: 'Retrieve the account that the API key belongs to',
    tag,
    handler: async ({ ctx }) => {
      const row = await deps.accounts.getAccount(ctx.scope);
      if (!row) throw notFound('account', ctx.scope.accountId);
      return serializeAccount(row);
    },
  });
  registerConnectRoutes(app, { ...deps, connect: deps.accounts.connect });
}

function registerConnectRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { connect: ConnectService },
): void {
  const { connect } = deps;
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/accounts',
    summary: 'Create a connected account (Connect: the destination of split payments)',
    tag,
    body: AccountCreate,
    handler: ({ ctx, body }) => connect.create(ctx, body),
    respond: respondAccount,
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/accounts/:id',
    summary: 'Retrieve a connected account (or the caller itself)',
    tag,
    query: AccountRetrieveQuery,
    handler: async ({ ctx, params }) =>
      serializeAccount(await connect.retrieve(ctx.scope, params.id ?? '')),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/accounts/:id',
    summary: 'Update a connected account: email, business name, metadata',
    tag,
    body: AccountUpdate,
    handler: ({ ctx, params, body }) => connect.update(ctx, params.id ?? '', body),
    respond: respondAccount,
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/accounts',
    summary: 'List connected accounts, newest first',
    tag,
    query: AccountListQuery,
    handler: async ({ ctx, query }) => {
      const page = await connect.list(ctx.scope, query);
      return listPage('/v1/accounts', page.rows.map(serializeAccount), page.hasMore);
    },
  });
}
