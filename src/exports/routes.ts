import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/database.ts';
import { registerRouteDoc } from '../http/openapi.ts';
import { listPage } from '../http/pagination.ts';
import { defineRoute, ensureScope, type RouteDeps } from '../http/route.ts';
import { parseWith } from '../http/validation.ts';
import type { MappingService } from './mappings.ts';
import { serializeMapping } from './mappings.ts';
import { ExportQuery, MappingListQuery, MappingPut } from './schemas.ts';
import { exportJournal } from './service.ts';

// /v1/ledger/account_mappings and /v1/ledger/exports: Payrail's own API.
// Secret key only: the books are the merchant's private data.

const tag = 'Accounting exports';

export function registerExportRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { db: Db; mappings: MappingService },
): void {
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/ledger/account_mappings',
    summary: 'Map a ledger account purpose (optionally per connector) to your chart of accounts',
    tag,
    body: MappingPut,
    handler: ({ ctx, body }) => deps.mappings.put(ctx, body),
    respond: (row) => ({ status: 200, body: serializeMapping(row) }),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/ledger/account_mappings',
    summary: 'List the ledger account mappings',
    tag,
    query: MappingListQuery,
    handler: async ({ ctx, query }) => {
      const page = await deps.mappings.list(ctx.scope, query);
      return listPage('/v1/ledger/account_mappings', page.rows.map(serializeMapping), page.hasMore);
    },
  });

  registerExportRoute(app, deps.db);
}

/** Registered by hand: the response is a CSV file, not a JSON body. A GET: no idempotency. */
function registerExportRoute(app: FastifyInstance, db: Db): void {
  const path = '/v1/ledger/exports';
  registerRouteDoc({
    method: 'GET',
    path,
    summary: 'Export the journal of a date range as CSV (generic, QuickBooks Online or Xero)',
    tag,
    auth: 'secret',
    query: ExportQuery,
  });
  app.get(path, { config: { auth: 'secret' } }, async (request, reply) => {
    const query = parseWith(ExportQuery, request.query);
    const scope = ensureScope(request);
    const file = await exportJournal(db, scope, {
      format: query.format,
      from: query.from,
      to: query.to,
      currency: query.currency,
      taxRate: query.tax_rate,
    });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${file.filename}"`)
      .header('cache-control', 'no-store')
      .send(file.csv);
  });
}
