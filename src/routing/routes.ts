import type { FastifyInstance } from 'fastify';
import type { ConnectorAccountsTable, MaintenanceWindowsTable } from '../db/schema.ts';
import { ListQuery, listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import type { RoutingAdmin } from './admin.ts';
import {
  ConnectorCreate,
  ConnectorListQuery,
  ConnectorUpdate,
  MaintenanceWindowCreate,
  MaintenanceWindowListQuery,
  MaintenanceWindowUpdate,
  RoutingConfigUpdate,
} from './schemas.ts';
import {
  type StoredRoutingConfig,
  serializeConnector,
  serializeMaintenanceWindow,
  serializeRoutingConfig,
} from './serialize.ts';
import type { HealthMonitor } from './types.ts';

// /v1/connectors, /v1/connectors/:id/health, maintenance windows and
// /v1/routing. Secret key only (defineRoute's default): these configure where
// money goes and hold processor credentials.

const respondConnector = (row: ConnectorAccountsTable) => ({
  status: 200,
  body: serializeConnector(row),
});

export function registerRoutingRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { routing: RoutingAdmin; health: HealthMonitor },
): void {
  registerConnectorRoutes(app, deps);
  registerMaintenanceRoutes(app, deps);
  registerConfigRoutes(app, deps);
}

function registerConnectorRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { routing: RoutingAdmin; health: HealthMonitor },
): void {
  const { api } = deps.routing;
  const tag = 'Connectors';

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/connectors',
    summary: 'Create a connector account (a configured payment processor)',
    tag,
    body: ConnectorCreate,
    handler: ({ ctx, body }) => api.createConnector(ctx, body),
    respond: respondConnector,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/connectors/:id',
    summary: 'Retrieve a connector account (credentials as masked hints only)',
    tag,
    handler: async ({ ctx, params }) =>
      serializeConnector(await api.retrieveConnector(ctx.scope, params.id ?? '')),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/connectors/:id',
    summary: 'Update a connector account',
    tag,
    body: ConnectorUpdate,
    handler: ({ ctx, params, body }) => api.updateConnector(ctx, params.id ?? '', body),
    respond: respondConnector,
  });

  defineRoute(app, deps, {
    method: 'DELETE',
    path: '/v1/connectors/:id',
    summary: 'Delete a connector account (old payments still capture and refund through it)',
    tag,
    handler: ({ ctx, params }) => api.deleteConnector(ctx, params.id ?? ''),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/connectors',
    summary: 'List connector accounts, newest first',
    tag,
    query: ConnectorListQuery,
    handler: async ({ ctx, query }) => {
      const page = await api.listConnectors(ctx.scope, query);
      return listPage('/v1/connectors', page.rows.map(serializeConnector), page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/connectors/:id/health',
    summary: "A connector's health, circuit breaker state and maintenance windows",
    tag,
    handler: async ({ ctx, params }) => {
      const id = params.id ?? '';
      const windows = await api.connectorWindows(ctx.scope, id);
      return {
        object: 'connector_health',
        ...deps.health.health(id),
        maintenance_windows: windows,
      };
    },
  });
}

function registerMaintenanceRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { routing: RoutingAdmin },
): void {
  const { api } = deps.routing;
  const tag = 'Maintenance windows';
  // Status (scheduled, in progress, ...) is derived from the engine's clock.
  const now = () => api.nowSeconds();
  const respondWindow = (row: MaintenanceWindowsTable) => ({
    status: 200,
    body: serializeMaintenanceWindow(row, now()),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/connectors/:id/maintenance_windows',
    summary: 'Schedule a maintenance window: routing avoids the connector during it',
    tag,
    body: MaintenanceWindowCreate,
    handler: ({ ctx, params, body }) => api.createWindow(ctx, params.id ?? '', body),
    respond: respondWindow,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/connectors/:id/maintenance_windows',
    summary: "List a connector's maintenance windows, newest first",
    tag,
    query: MaintenanceWindowListQuery,
    handler: async ({ ctx, params, query }) => {
      const id = params.id ?? '';
      const page = await api.listWindows(ctx.scope, id, query);
      const at = now();
      const data = page.rows.map((row) => serializeMaintenanceWindow(row, at));
      return listPage(`/v1/connectors/${id}/maintenance_windows`, data, page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/maintenance_windows/:id',
    summary: 'Retrieve a maintenance window',
    tag,
    handler: async ({ ctx, params }) =>
      serializeMaintenanceWindow(await api.retrieveWindow(ctx.scope, params.id ?? ''), now()),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/maintenance_windows/:id',
    summary: "Update a maintenance window's start, end or note",
    tag,
    body: MaintenanceWindowUpdate,
    handler: ({ ctx, params, body }) => api.updateWindow(ctx, params.id ?? '', body),
    respond: respondWindow,
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/maintenance_windows/:id/cancel',
    summary: 'Cancel a maintenance window',
    tag,
    handler: ({ ctx, params }) => api.cancelWindow(ctx, params.id ?? ''),
    respond: respondWindow,
  });
}

function registerConfigRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { routing: RoutingAdmin },
): void {
  const { api } = deps.routing;
  const tag = 'Routing';

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/routing',
    summary: 'Retrieve the routing configuration',
    tag,
    query: ListQuery.pick({ expand: true }),
    handler: async ({ ctx }) => serializeRoutingConfig(await api.readConfig(ctx.scope)),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/routing',
    summary: 'Replace the routing configuration (strategies, failover rules, secondary method)',
    tag,
    body: RoutingConfigUpdate,
    handler: ({ ctx, body }) => api.replaceConfig(ctx, body),
    respond: (stored: StoredRoutingConfig) => ({
      status: 200,
      body: serializeRoutingConfig(stored),
    }),
  });
}
