import type { FastifyInstance } from 'fastify';
import type { PaymentMethodsTable } from '../db/schema.ts';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import {
  CustomerPaymentMethodListQuery,
  PaymentMethodAttach,
  PaymentMethodCreate,
  PaymentMethodDetach,
  PaymentMethodListQuery,
  PaymentMethodRetrieveQuery,
  PaymentMethodUpdate,
} from './schemas.ts';
import { serializePaymentMethod } from './serialize.ts';
import type { VaultApi } from './types.ts';

const respondPaymentMethod = (row: PaymentMethodsTable) => ({
  status: 200,
  body: serializePaymentMethod(row),
});
const tag = 'Payment methods';

export function registerPaymentMethodRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { vault: VaultApi },
): void {
  const { vault } = deps;

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_methods',
    summary: 'Create a payment method (publishable keys may too)',
    tag,
    auth: 'publishable',
    body: PaymentMethodCreate,
    handler: ({ ctx, body }) => vault.create(ctx, body),
    respond: respondPaymentMethod,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payment_methods/:id',
    summary: 'Retrieve a payment method (a test id such as pm_card_visa makes a new one)',
    tag,
    query: PaymentMethodRetrieveQuery,
    handler: async ({ ctx, params }) =>
      serializePaymentMethod(await vault.retrieve(ctx.scope, params.id ?? '')),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_methods/:id',
    summary: 'Update a payment method',
    tag,
    body: PaymentMethodUpdate,
    handler: ({ ctx, params, body }) => vault.update(ctx, params.id ?? '', body),
    respond: respondPaymentMethod,
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_methods/:id/attach',
    summary: 'Attach a payment method to a customer',
    tag,
    body: PaymentMethodAttach,
    handler: ({ ctx, params, body }) => vault.attach(ctx, params.id ?? '', body.customer),
    respond: respondPaymentMethod,
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_methods/:id/detach',
    summary: 'Detach a payment method from its customer',
    tag,
    body: PaymentMethodDetach,
    handler: ({ ctx, params }) => vault.detach(ctx, params.id ?? ''),
    respond: respondPaymentMethod,
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payment_methods',
    summary: "List a customer's payment methods, newest first",
    tag,
    query: PaymentMethodListQuery,
    handler: async ({ ctx, query }) => {
      const page = await vault.listForCustomer(ctx.scope, query.customer, query, 'customer');
      return listPage('/v1/payment_methods', page.rows.map(serializePaymentMethod), page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/customers/:id/payment_methods',
    summary: "List a customer's payment methods, newest first",
    tag,
    query: CustomerPaymentMethodListQuery,
    handler: async ({ ctx, params, query }) => {
      const id = params.id ?? '';
      const page = await vault.listForCustomer(ctx.scope, id, query, 'id');
      const url = `/v1/customers/${id}/payment_methods`;
      return listPage(url, page.rows.map(serializePaymentMethod), page.hasMore);
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/customers/:customer/payment_methods/:id',
    summary: "Retrieve one of a customer's payment methods",
    tag,
    query: PaymentMethodRetrieveQuery,
    handler: async ({ ctx, params }) => {
      const row = await vault.retrieveForCustomer(
        ctx.scope,
        params.customer ?? '',
        params.id ?? '',
      );
      return serializePaymentMethod(row);
    },
  });
}
