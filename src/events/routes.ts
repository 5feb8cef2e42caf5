import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listPage, listParams } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { strField } from '../http/validation.ts';
import { notFound } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import type { EventsService } from './service.ts';

const EventListQuery = z.strictObject({
  ...listParams,
  type: strField().optional(),
  types: z.array(z.string().max(LIMITS.shortStringLengthMax)).max(20).optional(),
  delivery_success: z.string().optional(),
});

export function registerEventRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { events: EventsService },
): void {
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/events',
    summary: 'List events, newest first',
    tag: 'Events',
    query: EventListQuery,
    handler: async ({ ctx, query }) => {
      const page = await deps.events.list(ctx.scope, query);
      return listPage('/v1/events', page.data, page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/events/:id',
    summary: 'Retrieve an event',
    tag: 'Events',
    handler: async ({ ctx, params }) => {
      const event = await deps.events.retrieve(ctx.scope, params.id ?? '');
      if (!event) throw notFound('event', params.id ?? '');
      return event;
    },
  });
}
