import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { DisputeClose, DisputeListQuery, DisputeRetrieveQuery, DisputeUpdate } from './schemas.ts';
import type { DisputesService } from './service.ts';

const tag = 'Disputes';

export function registerDisputeRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { disputes: DisputesService },
): void {
  const { disputes } = deps;
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/disputes',
    summary: 'List disputes, newest first',
    tag,
    query: DisputeListQuery,
    handler: async ({ ctx, query }) => {
      const page = await disputes.list(ctx.scope, query);
      return listPage('/v1/disputes', page.data, page.hasMore);
    },
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/disputes/:id',
    summary: 'Retrieve a dispute',
    tag,
    query: DisputeRetrieveQuery,
    handler: ({ ctx, params }) => disputes.retrieve(ctx.scope, params.id ?? ''),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/disputes/:id',
    summary: 'Update a dispute: evidence (submitted unless submit=false), metadata',
    tag,
    body: DisputeUpdate,
    handler: ({ ctx, params, body }) => disputes.update(ctx, params.id ?? '', body),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/disputes/:id/close',
    summary: 'Close a dispute: accept it as lost',
    tag,
    body: DisputeClose,
    handler: ({ ctx, params }) => disputes.close(ctx, params.id ?? ''),
  });
}
