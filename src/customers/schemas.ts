import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  clearableStr,
  emailField,
  expandField,
  metadataField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for customers: validator, TypeScript type and OpenAPI at once.

export const AddressSchema = z.strictObject({
  line1: strField().optional(),
  line2: strField().optional(),
  city: strField().optional(),
  state: strField().optional(),
  postal_code: strField(32).optional(),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'Country must be a two-letter ISO 3166-1 code')
    .transform((c) => c.toUpperCase())
    .optional(),
});

const ShippingSchema = z.strictObject({
  name: strField(),
  phone: strField(40).optional(),
  address: AddressSchema,
});

const fields = {
  description: clearableStr(LIMITS.longStringLengthMax).optional(),
  email: z.union([z.literal('').transform(() => null), emailField()]).optional(),
  name: clearableStr().optional(),
  phone: clearableStr(40).optional(),
  address: z.union([z.literal('').transform(() => null), AddressSchema]).optional(),
  shipping: z.union([z.literal('').transform(() => null), ShippingSchema]).optional(),
  metadata: metadataField().optional(),
  expand: expandField,
};

export const CustomerCreate = z.strictObject(fields);
export const CustomerUpdate = z.strictObject(fields);
export const CustomerListQuery = z.strictObject({
  ...listParams,
  email: strField(LIMITS.emailLengthMax).optional(),
});

export type CustomerCreateInput = z.output<typeof CustomerCreate>;
export type CustomerUpdateInput = z.output<typeof CustomerUpdate>;
export type CustomerListInput = z.output<typeof CustomerListQuery>;
