import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  boolField,
  clearableStr,
  emailField,
  enumField,
  expandField,
  idField,
  intField,
  metadataField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for payment intents and charges: validator, type and OpenAPI.

const amount = intField({ min: 0, max: Number.MAX_SAFE_INTEGER });
const currency = strField(16).transform((c) => c.toLowerCase());
const captureMethod = enumField(['automatic', 'automatic_async', 'manual']);
const paymentMethodData = z.record(z.string(), z.unknown()).meta({ type: 'object' });
const paymentMethodTypes = z.array(strField(64)).min(1).max(20);
const returnUrl = strField(LIMITS.longStringLengthMax).refine(
  (v) => /^https?:\/\//i.test(v) && URL.canParse(v),
  { message: 'Invalid URL: must be an absolute http:// or https:// URL' },
);
const statementDescriptor = strField(LIMITS.statementDescriptorLengthMax);
const setupFutureUsage = enumField(['off_session', 'on_session']);
const passthrough = z.unknown().optional();
// Splits (Stripe destination charges): the platform keeps the application fee,
// the connected account named in transfer_data[destination] gets the rest.
const applicationFeeAmount = intField({ min: 0, max: Number.MAX_SAFE_INTEGER });
const transferData = z.strictObject({ destination: idField('acct') });

const common = {
  customer: idField('cus').optional(),
  description: strField(LIMITS.longStringLengthMax).optional(),
  metadata: metadataField().optional(),
  payment_method: idField('pm').optional(),
  payment_method_data: paymentMethodData.optional(),
  payment_method_types: paymentMethodTypes.optional(),
  receipt_email: emailField().optional(),
  setup_future_usage: setupFutureUsage.optional(),
  statement_descriptor: statementDescriptor.optional(),
  statement_descriptor_suffix: statementDescriptor.optional(),
  shipping: passthrough,
  payment_method_options: passthrough,
  expand: expandField,
};

export const IntentCreate = z.strictObject({
  ...common,
  amount,
  currency,
  capture_method: captureMethod.optional(),
  confirmation_method: enumField(['automatic', 'manual']).optional(),
  confirm: boolField().optional(),
  return_url: returnUrl.optional(),
  off_session: z.union([boolField(), enumField(['one_off', 'recurring'])]).optional(),
  automatic_payment_methods: passthrough,
  error_on_requires_action: boolField().optional(),
  use_stripe_sdk: boolField().optional(),
  mandate_data: passthrough,
  application_fee_amount: applicationFeeAmount.optional(),
  transfer_data: transferData.optional(),
});

export const IntentUpdate = z.strictObject({
  ...common,
  amount: amount.optional(),
  // "" unsets the fee (Stripe's convention).
  application_fee_amount: z
    .union([z.literal('').transform(() => null), applicationFeeAmount])
    .optional(),
  transfer_data: transferData.optional(),
  currency: currency.optional(),
  capture_method: captureMethod.optional(),
  description: clearableStr(LIMITS.longStringLengthMax).optional(),
  receipt_email: z.union([z.literal('').transform(() => null), emailField()]).optional(),
});

export const IntentConfirm = z.strictObject({
  payment_method: idField('pm').optional(),
  payment_method_data: paymentMethodData.optional(),
  payment_method_types: paymentMethodTypes.optional(),
  receipt_email: emailField().optional(),
  return_url: returnUrl.optional(),
  setup_future_usage: setupFutureUsage.optional(),
  capture_method: captureMethod.optional(),
  off_session: z.union([boolField(), enumField(['one_off', 'recurring'])]).optional(),
  error_on_requires_action: boolField().optional(),
  use_stripe_sdk: boolField().optional(),
  mandate_data: passthrough,
  shipping: passthrough,
  payment_method_options: passthrough,
  expand: expandField,
});

export const IntentCapture = z.strictObject({
  amount_to_capture: intField({ min: 1 }).optional(),
  application_fee_amount: applicationFeeAmount.optional(),
  final_capture: boolField().optional(),
  metadata: metadataField().optional(),
  statement_descriptor: statementDescriptor.optional(),
  expand: expandField,
});

export const IntentCancel = z.strictObject({
  cancellation_reason: enumField([
    'duplicate',
    'fraudulent',
    'requested_by_customer',
    'abandoned',
  ]).optional(),
  expand: expandField,
});

export const IntentAuthenticate = z.strictObject({
  result: enumField(['succeed', 'fail']).optional(),
});

export const IntentRetrieveQuery = z.strictObject({
  client_secret: strField(LIMITS.paramLengthMax).optional(),
  expand: expandField,
});

export const IntentListQuery = z.strictObject({
  ...listParams,
  customer: idField('cus').optional(),
});

export const ChargeListQuery = z.strictObject({
  ...listParams,
  customer: idField('cus').optional(),
  payment_intent: idField('pi').optional(),
});

export const ExpandQuery = z.strictObject({ expand: expandField });

export type IntentCreateInput = z.output<typeof IntentCreate>;
export type IntentUpdateInput = z.output<typeof IntentUpdate>;
export type IntentConfirmInput = z.output<typeof IntentConfirm>;
export type IntentCaptureInput = z.output<typeof IntentCapture>;
export type IntentCancelInput = z.output<typeof IntentCancel>;
export type IntentListInput = z.output<typeof IntentListQuery>;
export type ChargeListInput = z.output<typeof ChargeListQuery>;
