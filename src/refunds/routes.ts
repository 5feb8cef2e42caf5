import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { type BalanceTransactionLookup, expandBalanceTransaction } from '../payments/expand.ts';
import { RefundCreate, RefundListQuery, RefundRetrieveQuery, RefundUpdate } from './schemas.ts';
import { serializeRefund } from './serialize.ts';
import type { RefundsService } from './service.ts';

const tag = 'Refunds';

export function registerRefundRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { refunds: RefundsService; balanceTransactions: BalanceTransactionLookup },
): void {
  const { refunds } = deps;
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/refunds',
    summary: 'Refund a charge or payment intent, fully or partially',
    tag,
    body: RefundCreate,
    handler: ({ ctx, body }) => refunds.create(ctx, body),
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/refunds/:id',
    summary: 'Retrieve a refund (expand[]=balance_transaction)',
    tag,
    query: RefundRetrieveQuery,
    handler: async ({ ctx, params, query }) => {
      const row = await refunds.retrieve(ctx.scope, params.id ?? '');
      const input = { lookup: deps.balanceTransactions, scope: ctx.scope, expand: query.expand };
      const balanceTransaction = await expandBalanceTransaction(
        input,
        'balance_transaction',
        row.balance_transaction,
      );
      return serializeRefund(row, balanceTransaction ? { balanceTransaction } : {});
    },
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/refunds/:id',
    summary: 'Update a refund (metadata)',
    tag,
    body: RefundUpdate,
    handler: ({ ctx, params, body }) => refunds.update(ctx, params.id ?? '', body),
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/refunds',
    summary: 'List refunds, newest first',
    tag,
    query: RefundListQuery,
    handler: async ({ ctx, query }) => {
      const page = await refunds.list(ctx.scope, query);
      return listPage(
        '/v1/refunds',
        page.rows.map((r) => serializeRefund(r)),
        page.hasMore,
      );
    },
  });
}
