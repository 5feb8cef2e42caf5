import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import { enumField, strField } from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for the balance API: validator, TypeScript type and OpenAPI at once.

export const BalanceTransactionListQuery = z.strictObject({
  ...listParams,
  type: enumField(['charge', 'refund'] as const).optional(),
  source: strField(LIMITS.paramLengthMax).optional(),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'Currency must be a three-letter ISO 4217 code')
    .transform((c) => c.toLowerCase())
    .optional(),
  /** Accepted for compatibility; payouts are not built yet, so it matches nothing else. */
  payout: strField(LIMITS.paramLengthMax).optional(),
});

export type BalanceTransactionListInput = z.output<typeof BalanceTransactionListQuery>;
