import { z } from 'zod';
import { DISPUTE_REASONS, DISPUTE_STATUSES } from '../types.ts';

// The psp-sim wire format (docs/psp-sim.md), as schemas: the simulator
// answers with these shapes and the connector parses them. One source of
// truth for both sides.

export const PSP_SIM_PAYMENT_METHOD_TYPES = [
  'card',
  'sepa_debit',
  'us_bank_account',
  'wallet',
] as const;

export const PspSimCardSchema = z.object({
  number: z.string().regex(/^\d{12,19}$/, 'must be 12 to 19 digits'),
  exp_month: z.number().int().min(1).max(12),
  exp_year: z.number().int().min(2000).max(2200),
  cvc: z
    .string()
    .regex(/^\d{3,4}$/, 'must be 3 or 4 digits')
    .optional(),
});

/** POST /v1/charges. */
export const PspSimChargeRequestSchema = z.object({
  reference: z.string().min(1).max(255),
  payment_reference: z.string().min(1).max(255),
  amount: z.number().int().min(1).max(99_999_999),
  currency: z.string().regex(/^[a-z]{3}$/, 'must be a lowercase ISO 4217 code'),
  capture: z.boolean(),
  payment_method_type: z.enum(PSP_SIM_PAYMENT_METHOD_TYPES).default('card'),
  /** Required when payment_method_type is card. */
  card: PspSimCardSchema.optional(),
  /** Bank debits and wallets: only the last four characters travel. */
  last4: z.string().max(4).optional(),
  authenticated: z.boolean().default(false),
  statement_descriptor: z.string().max(22).nullable().optional(),
});
export type PspSimChargeRequest = z.input<typeof PspSimChargeRequestSchema>;

/** POST /v1/charges/:id/capture and /void. */
export const PspSimCaptureRequestSchema = z.object({
  reference: z.string().min(1).max(255),
  amount: z.number().int().min(1).max(99_999_999),
});
export type PspSimCaptureRequest = z.input<typeof PspSimCaptureRequestSchema>;

export const PspSimVoidRequestSchema = z.object({
  reference: z.string().min(1).max(255),
});
export type PspSimVoidRequest = z.input<typeof PspSimVoidRequestSchema>;

/** POST /v1/refunds. */
export const PspSimRefundRequestSchema = z.object({
  reference: z.string().min(1).max(255),
  charge: z.string().min(1).max(255),
  amount: z.number().int().min(1).max(99_999_999),
});
export type PspSimRefundRequest = z.input<typeof PspSimRefundRequestSchema>;

export const PSP_SIM_CHARGE_STATUSES = [
  'requires_action',
  'authorized',
  'captured',
  'declined',
] as const;

export const PspSimChargeSchema = z.object({
  id: z.string(),
  object: z.literal('charge'),
  reference: z.string(),
  payment_reference: z.string(),
  status: z.enum(PSP_SIM_CHARGE_STATUSES),
  amount: z.number().int(),
  currency: z.string(),
  amount_captured: z.number().int(),
  amount_refunded: z.number().int(),
  voided: z.boolean(),
  payment_method_type: z.enum(PSP_SIM_PAYMENT_METHOD_TYPES),
  last4: z.string().nullable(),
  redirect_url: z.string().nullable(),
  failure_code: z.string().nullable(),
  decline_code: z.string().nullable(),
  failure_message: z.string().nullable(),
  created_ms: z.number().int(),
});
export type PspSimCharge = z.infer<typeof PspSimChargeSchema>;

/** A capture, void or refund of a charge. */
export const PspSimOperationSchema = z.object({
  id: z.string(),
  object: z.enum(['capture', 'void', 'refund']),
  reference: z.string(),
  charge: z.string(),
  amount: z.number().int(),
  status: z.literal('succeeded'),
  created_ms: z.number().int(),
});
export type PspSimOperation = z.infer<typeof PspSimOperationSchema>;

/** What GET /v1/charges?reference=... answers: whatever carries that reference. */
export const PspSimLookupSchema = z.discriminatedUnion('object', [
  PspSimChargeSchema,
  PspSimOperationSchema,
]);
export type PspSimLookup = z.infer<typeof PspSimLookupSchema>;

export const PspSimErrorSchema = z.object({
  error: z.object({
    type: z.string(),
    code: z.string(),
    decline_code: z.string().nullable().optional(),
    message: z.string(),
    param: z.string().nullable().optional(),
    /** The declined charge the simulator recorded (402 only). */
    charge: z.string().nullable().optional(),
  }),
});
export type PspSimError = z.infer<typeof PspSimErrorSchema>;

/** A signed notice (`PspSim-Signature`); the simulator itself sends none. */
export const PspSimNoticeSchema = z.object({
  reference: z.string().min(1),
  operation: z.enum(['authorize', 'capture', 'void', 'refund']),
  status: z.enum(['succeeded', 'requires_action', 'declined']),
  id: z.string().nullable().optional(),
  redirect_url: z.string().nullable().optional(),
  code: z.string().nullable().optional(),
  decline_code: z.string().nullable().optional(),
  message: z.string().nullable().optional(),
});
export type PspSimNotice = z.infer<typeof PspSimNoticeSchema>;

/**
 * A signed dispute notice, made by the simulator's control API
 * (`POST /_sim/charges/:id/dispute`) for the caller to deliver.
 */
export const PspSimDisputeNoticeSchema = z.strictObject({
  object: z.literal('dispute'),
  /** The simulator's dispute id (simdp_…), the same on every notice about it. */
  id: z.string().min(1).max(200),
  /** The disputed charge (simch_…) and the caller's reference it was made with. */
  charge: z.string().min(1).max(200),
  reference: z.string().min(1).max(200).nullable().optional(),
  status: z.enum(DISPUTE_STATUSES),
  cycle: z.union([z.literal(1), z.literal(2)]).optional(),
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[a-z]{3}$/),
  reason: z.enum(DISPUTE_REASONS).optional(),
  network_reason_code: z.string().max(200).nullable().optional(),
  /** Unix seconds. */
  evidence_due_by: z.number().int().nonnegative().nullable().optional(),
  created_ms: z.number().int().optional(),
});
export type PspSimDisputeNotice = z.infer<typeof PspSimDisputeNoticeSchema>;

export const PSP_SIM_SIGNATURE_HEADER = 'pspsim-signature';

/** The simulator's fault modes (POST /_sim/mode). */
export const PSP_SIM_MODES = [
  'up',
  'down',
  'slow',
  'errors',
  'timeout_after_charge',
  'flaky',
] as const;
export type PspSimModeName = (typeof PSP_SIM_MODES)[number];
