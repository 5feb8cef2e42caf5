import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { registerRouteDoc } from '../http/openapi.ts';
import { listPage } from '../http/pagination.ts';
import { defineRoute, ensureScope, type RouteDeps } from '../http/route.ts';
import { enumField, parseWith } from '../http/validation.ts';
import { notFound } from '../lib/errors.ts';
import type { createReportBuilder } from './report.ts';
import { reportMarkdown } from './report-markdown.ts';
import {
  IncidentCreate,
  IncidentListQuery,
  IncidentReportQuery,
  IncidentResolve,
  IncidentUpdateCreate,
} from './schemas.ts';
import type { IncidentsService } from './service.ts';
import type { createStatusPage } from './status.ts';
import { notFoundHtml, statusPageHtml } from './status-html.ts';
import { findIncident } from './store.ts';

const tag = 'Incidents';

export interface IncidentRouteDeps extends RouteDeps {
  incidents: IncidentsService;
  reports: ReturnType<typeof createReportBuilder>;
  status: ReturnType<typeof createStatusPage>;
  db: Parameters<typeof findIncident>[0];
}

export function registerIncidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps): void {
  const { incidents } = deps;
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/incidents',
    summary: 'Open an incident',
    tag,
    body: IncidentCreate,
    handler: ({ ctx, body }) => incidents.create(ctx, body),
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/incidents',
    summary: 'List incidents, newest first',
    tag,
    query: IncidentListQuery,
    handler: async ({ ctx, query }) => {
      const page = await incidents.list(ctx.scope, query);
      return listPage('/v1/incidents', page.data, page.hasMore);
    },
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/incidents/:id',
    summary: 'Retrieve an incident with its timeline',
    tag,
    handler: ({ ctx, params }) => incidents.retrieve(ctx.scope, params.id ?? ''),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/incidents/:id/updates',
    summary: 'Add an update to an open incident',
    tag,
    body: IncidentUpdateCreate,
    handler: ({ ctx, params, body }) => incidents.addUpdate(ctx, params.id ?? '', body),
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/incidents/:id/resolve',
    summary: 'Resolve an incident',
    tag,
    body: IncidentResolve,
    handler: ({ ctx, params, body }) => incidents.resolve(ctx, params.id ?? '', body),
  });
  registerReportRoute(app, deps);
  registerStatusRoute(app, deps);
}

/**
 * Registered by hand rather than with defineRoute: the Markdown form is not a
 * JSON body. It is a GET (no idempotency); auth still comes from the route's
 * config, and the OpenAPI entry from registerRouteDoc.
 */
function registerReportRoute(app: FastifyInstance, deps: IncidentRouteDeps): void {
  const path = '/v1/incidents/:id/report';
  registerRouteDoc({
    method: 'GET',
    path,
    summary: 'Post-incident report (JSON, or Markdown with format=markdown)',
    tag,
    auth: 'secret',
    query: IncidentReportQuery,
  });
  app.get(path, { config: { auth: 'secret' } }, async (request, reply) => {
    const query = parseWith(IncidentReportQuery, request.query);
    const scope = ensureScope(request);
    const id = (request.params as Record<string, string>).id ?? '';
    const row = await findIncident(deps.db, scope, id);
    if (!row) throw notFound('incident', id);
    const report = await deps.reports.build(scope, row);
    if (query.format !== 'markdown') return reply.send(report);
    return reply.type('text/markdown; charset=utf-8').send(reportMarkdown(report));
  });
}

/**
 * The public status page: no key, `?mode=test` for test mode. `/status/acct_x`
 * is HTML and `/status/acct_x.json` the same content as JSON (account ids
 * never contain a dot, so the suffix is unambiguous).
 */
function registerStatusRoute(app: FastifyInstance, deps: IncidentRouteDeps): void {
  app.get('/status/:account', { config: { auth: 'none' } }, async (request, reply) => {
    const raw = (request.params as Record<string, string>).account ?? '';
    const json = raw.endsWith('.json');
    const accountId = json ? raw.slice(0, -'.json'.length) : raw;
    const { mode } = parseWith(StatusQuery, request.query);
    reply.header('cache-control', 'no-store');
    const name = await deps.status.accountName(accountId);
    if (name === undefined) {
      const error = notFound('status page', accountId, 'account');
      return json
        ? reply.code(404).send(error.toBody())
        : reply.code(404).type('text/html; charset=utf-8').send(notFoundHtml());
    }
    const page = await deps.status.build({ accountId, livemode: mode !== 'test' }, name);
    return json
      ? reply.send(page)
      : reply.type('text/html; charset=utf-8').send(statusPageHtml(page));
  });
}

const StatusQuery = z.strictObject({ mode: enumField(['live', 'test'] as const).optional() });
