import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { FxRateCreate, FxRateListQuery } from './schemas.ts';
import { serializeFxRate } from './serialize.ts';
import type { FxService } from './service.ts';

// /v1/fx_rates: Payrail's own API (Stripe has no equivalent). Secret key only.

const tag = 'FX rates';

export function registerFxRoutes(app: FastifyInstance, deps: RouteDeps & { fx: FxService }) {
  const { fx } = deps;

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/fx_rates',
    summary: 'Record an FX rate (1 base = rate quote from effective_from on)',
    tag,
    body: FxRateCreate,
    handler: ({ ctx, body }) => fx.create(ctx, body),
    respond: (row) => ({ status: 200, body: serializeFxRate(row) }),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/fx_rates',
    summary: 'List FX rates, newest first',
    tag,
    query: FxRateListQuery,
    handler: async ({ ctx, query }) => {
      const page = await fx.list(ctx.scope, query);
      return listPage('/v1/fx_rates', page.rows.map(serializeFxRate), page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/fx_rates/:id',
    summary: 'Retrieve an FX rate',
    tag,
    handler: async ({ ctx, params }) =>
      serializeFxRate(await fx.retrieve(ctx.scope, params.id ?? '')),
  });
}
