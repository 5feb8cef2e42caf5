import type { FastifyInstance } from 'fastify';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { BankTransferReceived, type BankTransfers } from './bank-transfer.ts';
import { respondIntent } from './result.ts';

// The operator's side of the secondary method: record a bank transfer that
// arrived for an intent awaiting one (docs/bank-transfers.md). A camt.053
// import does the same for the credits it finds (src/reconciliation).
export function registerBankTransferRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { bankTransfers: BankTransfers },
): void {
  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/payment_intents/:id/bank_transfer_received',
    summary:
      'Record a bank transfer received for a payment intent awaiting one: in full it succeeds, in part amount_remaining falls (Payrail extension)',
    tag: 'Payment intents',
    body: BankTransferReceived,
    handler: ({ ctx, params, body }) =>
      deps.bankTransfers.recordReceived(ctx, params.id ?? '', body),
    respond: respondIntent,
  });
}
