import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { RefundCreate, RefundListQuery, RefundUpdate } from './schemas.ts';
import { serializeRefund } from './serialize.ts';
import type { RefundsService } from './service.ts';

const tag = 'Refunds';

export function registerRefundRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { refunds: RefundsService },
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
    summary: 'Retrieve a refund',
    tag,
    handler: async ({ ctx, params }) =>
      serializeRefund(await refunds.retrieve(ctx.scope, params.id ?? '')),
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
      return listPage('/v1/refunds', page.rows.map(serializeRefund), page.hasMore);
    },
  });
}
