import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  boolField,
  enumField,
  expandField,
  idField,
  intField,
  metadataField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for bank accounts (Stripe's external accounts) and payouts:
// validator, TypeScript type and OpenAPI at once. IBAN, BIC and currency are
// checked by the service, which names the nested field in its error.

const holderType = enumField(['individual', 'company'] as const);

export const BankAccountCreate = z.strictObject({
  external_account: z.strictObject({
    object: enumField(['bank_account'] as const),
    country: strField(2),
    currency: strField(3),
    account_number: strField(LIMITS.paramLengthMax),
    routing_number: strField(LIMITS.paramLengthMax).optional(),
    account_holder_name: strField(LIMITS.payoutNameLengthMax).optional(),
    account_holder_type: holderType.optional(),
  }),
  default_for_currency: boolField().optional(),
  metadata: metadataField().optional(),
  expand: expandField,
});

export const BankAccountUpdate = z.strictObject({
  account_holder_name: strField(LIMITS.payoutNameLengthMax).optional(),
  account_holder_type: holderType.optional(),
  default_for_currency: boolField().optional(),
  metadata: metadataField().optional(),
  expand: expandField,
});

export const BankAccountListQuery = z.strictObject({
  ...listParams,
  object: enumField(['bank_account', 'card'] as const).optional(),
});

const timeRange = z.union([
  intField({ min: 0 }),
  z.strictObject({
    gt: intField({ min: 0 }).optional(),
    gte: intField({ min: 0 }).optional(),
    lt: intField({ min: 0 }).optional(),
    lte: intField({ min: 0 }).optional(),
  }),
]);

export const PAYOUT_STATUSES = ['pending', 'in_transit', 'paid', 'failed', 'canceled'] as const;

export const PayoutCreate = z.strictObject({
  amount: intField(),
  currency: strField(3),
  destination: idField('ba').optional(),
  description: strField(LIMITS.shortStringLengthMax).optional(),
  statement_descriptor: strField(LIMITS.payoutStatementDescriptorMax).optional(),
  method: enumField(['standard'] as const).optional(),
  metadata: metadataField().optional(),
  expand: expandField,
});

export const PayoutUpdate = z.strictObject({
  metadata: metadataField().optional(),
  expand: expandField,
});

export const PayoutCancel = z.strictObject({ expand: expandField });

export const PayoutListQuery = z.strictObject({
  ...listParams,
  status: enumField(PAYOUT_STATUSES).optional(),
  arrival_date: timeRange.optional(),
  destination: idField('ba').optional(),
});

export type BankAccountCreateInput = z.output<typeof BankAccountCreate>;
export type BankAccountUpdateInput = z.output<typeof BankAccountUpdate>;
export type BankAccountListInput = z.output<typeof BankAccountListQuery>;
export type PayoutCreateInput = z.output<typeof PayoutCreate>;
export type PayoutUpdateInput = z.output<typeof PayoutUpdate>;
export type PayoutListInput = z.output<typeof PayoutListQuery>;
export type TimeRange = z.output<typeof timeRange>;
