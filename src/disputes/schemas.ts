import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  boolField,
  clearableStr,
  expandField,
  idField,
  metadataField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for disputes: validator, TypeScript type and OpenAPI at once.

/** Stripe's evidence fields (text and file ids alike are strings); "" unsets one. */
export const EVIDENCE_FIELDS = [
  'access_activity_log',
  'billing_address',
  'cancellation_policy',
  'cancellation_policy_disclosure',
  'cancellation_rebuttal',
  'customer_communication',
  'customer_email_address',
  'customer_name',
  'customer_purchase_ip',
  'customer_signature',
  'duplicate_charge_documentation',
  'duplicate_charge_explanation',
  'duplicate_charge_id',
  'product_description',
  'receipt',
  'refund_policy',
  'refund_policy_disclosure',
  'refund_refusal_explanation',
  'service_date',
  'service_documentation',
  'shipping_address',
  'shipping_carrier',
  'shipping_date',
  'shipping_documentation',
  'shipping_tracking_number',
  'uncategorized_file',
  'uncategorized_text',
] as const;
export type EvidenceField = (typeof EVIDENCE_FIELDS)[number];
export type Evidence = Record<EvidenceField, string | null>;

const evidenceShape = Object.fromEntries(
  EVIDENCE_FIELDS.map((field) => [
    field,
    clearableStr(LIMITS.disputeEvidenceFieldLengthMax).optional(),
  ]),
) as Record<EvidenceField, z.ZodOptional<ReturnType<typeof clearableStr>>>;

export const DisputeUpdate = z.strictObject({
  evidence: z.strictObject(evidenceShape).optional(),
  metadata: metadataField().optional(),
  /** Submit the evidence now (Stripe's default when evidence is given); false only stages it. */
  submit: boolField().optional(),
  expand: expandField,
});

export const DisputeClose = z.strictObject({ expand: expandField });

export const DisputeRetrieveQuery = z.strictObject({ expand: expandField });

export const DisputeListQuery = z.strictObject({
  ...listParams,
  charge: idField('ch').optional(),
  payment_intent: idField('pi').optional(),
});

export type DisputeUpdateInput = z.output<typeof DisputeUpdate>;
export type DisputeListInput = z.output<typeof DisputeListQuery>;
