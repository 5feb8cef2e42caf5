import type { FastifyInstance } from 'fastify';
import { listPage } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { BalanceTransactionListQuery, SettlementBatchListQuery } from './schemas.ts';
import {
  serializeBalance,
  serializeBalanceTransaction,
  serializeSettlementBatch,
} from './serialize.ts';
import type { LedgerService } from './service.ts';

const tag = 'Balance';

export function registerLedgerRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { ledger: LedgerService },
): void {
  const { ledger } = deps;

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/balance',
    summary: 'Retrieve the balance: available and pending funds per currency',
    tag,
    handler: async ({ ctx }) =>
      serializeBalance({
        balances: await ledger.balance(ctx.scope),
        defaultCurrency: await ledger.defaultCurrency(ctx.scope),
        livemode: ctx.scope.livemode,
      }),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/balance_transactions',
    summary: 'List balance transactions, newest first',
    tag,
    query: BalanceTransactionListQuery,
    handler: async ({ ctx, query }) => {
      const page = await ledger.listBalanceTransactions(ctx.scope, query);
      return listPage(
        '/v1/balance_transactions',
        page.rows.map(serializeBalanceTransaction),
        page.hasMore,
      );
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/balance_transactions/:id',
    summary: 'Retrieve a balance transaction',
    tag,
    handler: async ({ ctx, params }) =>
      serializeBalanceTransaction(
        await ledger.retrieveBalanceTransaction(ctx.scope, params.id ?? ''),
      ),
  });

  // Payrail's own API: the batches in which due funds became available.
  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/settlement_batches',
    summary: 'List settlement batches (Payrail), newest first',
    tag: 'Settlement',
    query: SettlementBatchListQuery,
    handler: async ({ ctx, query }) => {
      const page = await ledger.listSettlementBatches(ctx.scope, query);
      return listPage(
        '/v1/settlement_batches',
        page.rows.map(serializeSettlementBatch),
        page.hasMore,
      );
    },
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/settlement_batches/:id',
    summary: 'Retrieve a settlement batch (Payrail)',
    tag: 'Settlement',
    handler: async ({ ctx, params }) =>
      serializeSettlementBatch(await ledger.retrieveSettlementBatch(ctx.scope, params.id ?? '')),
  });
}
