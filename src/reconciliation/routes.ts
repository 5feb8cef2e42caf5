import type { FastifyInstance, FastifyRequest } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { ApiError } from '../lib/errors.ts';
import {
  ImportBody,
  ImportQuery,
  LineListQuery,
  ReconciliationListQuery,
  ResolveBody,
} from './schemas.ts';
import { serializeLine, serializeReconciliation } from './serialize.ts';
import type { ReconciliationService } from './service.ts';
import type { ReconciliationType } from './types.ts';

const tag = 'Reconciliation';

/** The secret key of the request (Bearer or Basic), to name who resolved a line. */
function requestKey(request: FastifyRequest): string | null {
  const [scheme, value] = (request.headers.authorization ?? '').split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    return Buffer.from(value, 'base64').toString('utf8').split(':')[0] ?? null;
  }
  return null;
}

export function registerReconciliationRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { reconciliation: ReconciliationService },
): void {
  const { reconciliation } = deps;
  const id = (params: Record<string, string>) => params.id ?? '';

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/reconciliations',
    summary:
      'Import a settlement report or bank statement (multipart `file` + `type`); the same file again returns the first import',
    tag,
    body: ImportBody,
    query: ImportQuery,
    handler: async ({ ctx, body, query }) => {
      const type = body.type ?? query.type;
      if (!type) {
        throw new ApiError('parameter_missing', 'Missing required param: type.', { param: 'type' });
      }
      const result = await reconciliation.importFile(ctx.scope, {
        type: type as ReconciliationType,
        connectorId: body.connector ?? query.connector ?? null,
        fileName: body.file.filename,
        content: body.file.content,
      });
      return serializeReconciliation(result.reconciliation);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/reconciliations',
    summary: 'List reconciliations, newest first',
    tag,
    query: ReconciliationListQuery,
    handler: async ({ ctx, query }) => {
      const page = await reconciliation.list(ctx.scope, query);
      const data = page.rows.map((r) => serializeReconciliation(r));
      return listPage('/v1/reconciliations', data, page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/reconciliations/:id',
    summary: 'Retrieve a reconciliation with its current counts and totals',
    tag,
    handler: async ({ ctx, params }) => {
      const { row, summary } = await reconciliation.retrieve(ctx.scope, id(params));
      return serializeReconciliation(row, summary);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/reconciliations/:id/lines',
    summary: 'List the lines of a reconciliation in file order (filter by status, kind, resolved)',
    tag,
    query: LineListQuery,
    handler: async ({ ctx, params, query }) => {
      const page = await reconciliation.lines(ctx.scope, id(params), query);
      const url = `/v1/reconciliations/${id(params)}/lines`;
      return listPage(url, page.rows.map(serializeLine), page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/reconciliation_lines/:id/resolve',
    summary: 'Resolve an exception (a mismatch or an unmatched line) with a note',
    tag,
    body: ResolveBody,
    handler: async ({ ctx, params, body, request }) => {
      const key = requestKey(request);
      const resolvedBy = (key ? await reconciliation.keyIdOf(key) : null) ?? 'api';
      const line = await reconciliation.resolve(ctx.scope, id(params), {
        note: body.note,
        resolvedBy,
      });
      return serializeLine(line);
    },
  });
}
