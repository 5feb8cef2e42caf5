import type { FastifyInstance } from 'fastify';
import type { CustomersTable } from '../db/schema.ts';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { CustomerCreate, CustomerListQuery, CustomerUpdate } from './schemas.ts';
import { serializeCustomer, serializeDeletedCustomer } from './serialize.ts';
import type { CustomersService } from './service.ts';

const respondCustomer = (row: CustomersTable) => ({ status: 200, body: serializeCustomer(row) });
const tag = 'Customers';

export function registerCustomerRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { customers: CustomersService },
): void {
  const { customers } = deps;

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/customers',
    summary: 'Create a customer',
    tag,
    body: CustomerCreate,
    handler: ({ ctx, body }) => customers.create(ctx, body),
    respond: respondCustomer,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/customers/:id',
    summary: 'Retrieve a customer',
    tag,
    handler: async ({ ctx, params }) => {
      const row = await customers.retrieve(ctx.scope, params.id ?? '');
      return row.deleted === 1 ? serializeDeletedCustomer(row.id) : serializeCustomer(row);
    },
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/customers/:id',
    summary: 'Update a customer',
    tag,
    body: CustomerUpdate,
    handler: ({ ctx, params, body }) => customers.update(ctx, params.id ?? '', body),
    respond: respondCustomer,
  });

  defineRoute(app, deps, {
    method: 'DELETE',
    path: '/v1/customers/:id',
    summary: 'Delete a customer',
    tag,
    handler: ({ ctx, params }) => customers.remove(ctx, params.id ?? ''),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/customers',
    summary: 'List customers, newest first',
    tag,
    query: CustomerListQuery,
    handler: async ({ ctx, query }) => {
      const page = await customers.list(ctx.scope, query);
      return listPage('/v1/customers', page.rows.map(serializeCustomer), page.hasMore);
    },
  });
}
