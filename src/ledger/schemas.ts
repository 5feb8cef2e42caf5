import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import { enumField, strField } from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for the balance API: validator, TypeScript type and OpenAPI at once.

const currencyFilter = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'Currency must be a three-letter ISO 4217 code')
  .transform((c) => c.toLowerCase());

export const BalanceTransactionListQuery = z.strictObject({
  ...listParams,
  type: enumField([
    'charge',
    'refund',
    'transfer',
    'payment',
    'transfer_refund',
    'payment_refund',
    'payout',
    'payout_cancel',
    'payout_failure',
    // Dispute withdrawals and reinstatements (Stripe's type for them).
    'adjustment',
  ] as const).optional(),
  source: strField(LIMITS.paramLengthMax).optional(),
  currency: currencyFilter.optional(),
  /** The po_ whose balance transactions to list (the payout, its cancellation or failure). */
  payout: strField(LIMITS.paramLengthMax).optional(),
});

export type BalanceTransactionListInput = z.output<typeof BalanceTransactionListQuery>;

/** Payrail's own: settlement batches of one connector and currency. */
export const SettlementBatchListQuery = z.strictObject({
  ...listParams,
  connector: strField(LIMITS.paramLengthMax).optional(),
  currency: currencyFilter.optional(),
});

export type SettlementBatchListInput = z.output<typeof SettlementBatchListQuery>;
