import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { registerAuthenticationReturn } from './authentication-return.ts';
import {
  type BalanceTransactionLookup,
  expandBalanceTransaction,
  expandIntent,
  withLatestCharge,
} from './expand.ts';
import { respondIntent } from './result.ts';
import {
  ChargeListQuery,
  ExpandQuery,
  IntentAuthenticate,
  IntentCancel,
  IntentCapture,
  IntentConfirm,
  IntentCreate,
  IntentListQuery,
  IntentRetrieveQuery,
  IntentUpdate,
} from './schemas.ts';
import { serializeAttempt, serializeCharge, serializeIntent } from './serialize.ts';
import type { PaymentsService } from './service.ts';

const tag = 'Payment intents';

export function registerPaymentIntentRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { payments: PaymentsService; balanceTransactions: BalanceTransactionLookup },
): void {
  const { payments } = deps;
  const id = (params: Record<string, string>) => params.id ?? '';

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_intents',
    summary: 'Create a payment intent (and confirm it with confirm=true)',
    tag,
    body: IntentCreate,
    handler: ({ ctx, body }) => payments.create(ctx, body),
    respond: respondIntent,
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payment_intents/:id',
    summary: 'Retrieve a payment intent',
    tag,
    query: IntentRetrieveQuery,
    handler: async ({ ctx, params, query }) => {
      const expand = withLatestCharge(query.expand);
      const intent = await payments.retrieve(ctx.scope, id(params), expand);
      return expandIntent({ lookup: deps.balanceTransactions, scope: ctx.scope, expand }, intent);
    },
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_intents/:id',
    summary: 'Update a payment intent',
    tag,
    body: IntentUpdate,
    handler: ({ ctx, params, body }) => payments.update(ctx, id(params), body),
    respond: respondIntent,
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_intents/:id/confirm',
    summary: 'Confirm a payment intent: authorize (and capture) the payment',
    tag,
    body: IntentConfirm,
    handler: ({ ctx, params, body }) => payments.confirm(ctx, id(params), body),
    respond: respondIntent,
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_intents/:id/capture',
    summary: 'Capture an authorized payment intent, fully or partially',
    tag,
    body: IntentCapture,
    handler: ({ ctx, params, body }) => payments.capture(ctx, id(params), body),
    respond: respondIntent,
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_intents/:id/cancel',
    summary: 'Cancel a payment intent',
    tag,
    body: IntentCancel,
    handler: ({ ctx, params, body }) => payments.cancel(ctx, id(params), body),
    respond: respondIntent,
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payment_intents',
    summary: 'List payment intents, newest first',
    tag,
    query: IntentListQuery,
    handler: async ({ ctx, query }) => {
      const page = await payments.list(ctx.scope, query);
      return listPage(
        '/v1/payment_intents',
        page.rows.map((r) => serializeIntent(r)),
        page.hasMore,
      );
    },
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/payment_intents/:id/attempts',
    summary: 'List the processor attempts of a payment intent (Payrail extension)',
    tag,
    handler: async ({ ctx, params }) => {
      const rows = await payments.listAttempts(ctx.scope, id(params));
      return listPage(
        `/v1/payment_intents/${id(params)}/attempts`,
        rows.map(serializeAttempt),
        false,
      );
    },
  });
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/test_helpers/payment_intents/:id/authenticate',
    summary: 'Test mode: complete or fail the 3-D Secure challenge of a payment intent',
    tag: 'Test helpers',
    body: IntentAuthenticate,
    handler: ({ ctx, params, body }) =>
      payments.authenticate(ctx, id(params), body.result ?? 'succeed'),
    respond: respondIntent,
  });
  registerChargeRoutes(app, deps);
}

function registerChargeRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { payments: PaymentsService; balanceTransactions: BalanceTransactionLookup },
): void {
  const { payments } = deps;
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/charges/:id',
    summary: 'Retrieve a charge (expand[]=balance_transaction)',
    tag: 'Charges',
    query: ExpandQuery,
    handler: async ({ ctx, params, query }) => {
      const row = await payments.retrieveCharge(ctx.scope, params.id ?? '');
      const input = { lookup: deps.balanceTransactions, scope: ctx.scope, expand: query.expand };
      const balanceTransaction = await expandBalanceTransaction(
        input,
        'balance_transaction',
        row.balance_transaction,
      );
      return serializeCharge(row, balanceTransaction ? { balanceTransaction } : {});
    },
  });
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/charges',
    summary: 'List charges, newest first',
    tag: 'Charges',
    query: ChargeListQuery,
    handler: async ({ ctx, query }) => {
      const page = await payments.listCharges(ctx.scope, query);
      return listPage(
        '/v1/charges',
        page.rows.map((r) => serializeCharge(r)),
        page.hasMore,
      );
    },
  });
  app.get('/test_helpers/3ds/:reference', async (request, reply) => {
    const reference = String((request.params as Record<string, string>).reference ?? '').replace(
      /[^a-z0-9_]/g,
      '',
    );
    const html = `<!doctype html><title>Payrail test 3-D Secure</title><h1>Test 3-D Secure challenge</h1>
<p>Attempt ${reference}. Complete or fail it with the API:
<code>POST /v1/test_helpers/payment_intents/{id}/authenticate</code> with <code>result=succeed|fail</code>.</p>`;
    return reply.type('text/html').send(html);
  });
  registerAuthenticationReturn(app, payments);
}
