import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  enumField,
  expandField,
  idField,
  intField,
  metadataField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

export const RefundCreate = z.strictObject({
  charge: idField('ch').optional(),
  payment_intent: idField('pi').optional(),
  amount: intField({ min: 1 }).optional(),
  reason: enumField(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
  metadata: metadataField().optional(),
  instructions_email: strField(LIMITS.emailLengthMax).optional(),
  expand: expandField,
});

export const RefundUpdate = z.strictObject({
  metadata: metadataField().optional(),
  expand: expandField,
});

export const RefundRetrieveQuery = z.strictObject({ expand: expandField });

export const RefundListQuery = z.strictObject({
  ...listParams,
  charge: idField('ch').optional(),
  payment_intent: idField('pi').optional(),
});

export type RefundCreateInput = z.output<typeof RefundCreate>;
export type RefundUpdateInput = z.output<typeof RefundUpdate>;
export type RefundListInput = z.output<typeof RefundListQuery>;
