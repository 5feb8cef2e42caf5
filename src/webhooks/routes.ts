import type { FastifyInstance } from 'fastify';
import type { WebhookEndpointsTable } from '../db/schema.ts';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import {
  DeliveryListQuery,
  EndpointCreate,
  EndpointListQuery,
  EndpointUpdate,
  Replay,
  Resend,
  RollSecret,
} from './schemas.ts';
import { serializeDelivery, serializeEndpoint } from './serialize.ts';
import type { WebhooksService } from './service.ts';

const tag = 'Webhook endpoints';
const withSecret = (r: { row: WebhookEndpointsTable; secret: string }) => ({
  status: 200,
  body: serializeEndpoint(r.row, r.secret),
});
const plain = (row: WebhookEndpointsTable) => ({ status: 200, body: serializeEndpoint(row) });

export function registerWebhookRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { webhooks: WebhooksService },
): void {
  const { webhooks } = deps;
  const id = (params: Record<string, string>) => params.id ?? '';

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/webhook_endpoints',
    summary: 'Create a webhook endpoint (the signing secret is returned only here)',
    tag,
    body: EndpointCreate,
    handler: ({ ctx, body }) => webhooks.create(ctx, body),
    respond: withSecret,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/webhook_endpoints/:id',
    summary: 'Retrieve a webhook endpoint',
    tag,
    handler: async ({ ctx, params }) =>
      serializeEndpoint(await webhooks.find(undefined, ctx.scope, id(params))),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/webhook_endpoints/:id',
    summary:
      'Update a webhook endpoint (status=enabled after an automatic disable replays missed events)',
    tag,
    body: EndpointUpdate,
    handler: ({ ctx, params, body }) => webhooks.update(ctx, id(params), body),
    respond: plain,
  });

  defineRoute(app, deps, {
    method: 'DELETE',
    path: '/v1/webhook_endpoints/:id',
    summary: 'Delete a webhook endpoint',
    tag,
    handler: ({ ctx, params }) => webhooks.remove(ctx, id(params)),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/webhook_endpoints',
    summary: 'List webhook endpoints, newest first',
    tag,
    query: EndpointListQuery,
    handler: async ({ ctx, query }) => {
      const page = await webhooks.listEndpoints(ctx.scope, query);
      return listPage(
        '/v1/webhook_endpoints',
        page.rows.map((r) => serializeEndpoint(r)),
        page.hasMore,
      );
    },
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/webhook_endpoints/:id/roll_secret',
    summary: 'Roll the signing secret; the previous one keeps signing for expires_in seconds',
    tag,
    body: RollSecret,
    handler: ({ ctx, params, body }) => webhooks.rollSecret(ctx, id(params), body.expires_in),
    respond: withSecret,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/webhook_endpoints/:id/deliveries',
    summary: 'List delivery attempts to this endpoint, newest first',
    tag,
    query: DeliveryListQuery,
    handler: async ({ ctx, params, query }) => {
      const page = await webhooks.listDeliveries(ctx.scope, id(params), query);
      const url = `/v1/webhook_endpoints/${id(params)}/deliveries`;
      return listPage(url, page.rows.map(serializeDelivery), page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/webhook_endpoints/:id/resend',
    summary: 'Send one event to this endpoint again',
    tag,
    body: Resend,
    handler: ({ ctx, params, body }) => webhooks.resend(ctx, id(params), body.event),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/webhook_endpoints/:id/replay',
    summary: 'Send again every matching event created since a time (unix seconds)',
    tag,
    body: Replay,
    handler: ({ ctx, params, body }) => webhooks.replay(ctx, id(params), body.since),
  });
}
