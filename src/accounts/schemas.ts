import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  clearableStr,
  emailField,
  enumField,
  expandField,
  metadataField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for connected accounts (Stripe Connect): validator, type and OpenAPI.

const country = strField(2)
  .refine((c) => /^[A-Za-z]{2}$/.test(c), {
    message: 'Country must be a two-letter ISO 3166-1 code',
  })
  .transform((c) => c.toUpperCase());

const businessProfile = z.strictObject({
  name: clearableStr(LIMITS.connectedBusinessNameLengthMax).optional(),
});

const email = z.union([z.literal('').transform(() => null), emailField()]);

export const AccountCreate = z.strictObject({
  // Only `custom`: Payrail has no dashboard or keys for a connected account (docs/connect.md).
  type: enumField(['custom', 'express', 'standard']).optional(),
  country: country.optional(),
  email: emailField().optional(),
  business_profile: businessProfile.optional(),
  default_currency: strField(16)
    .transform((c) => c.toLowerCase())
    .optional(),
  metadata: metadataField().optional(),
  expand: expandField,
});

export const AccountUpdate = z.strictObject({
  email: email.optional(),
  business_profile: businessProfile.optional(),
  metadata: metadataField().optional(),
  expand: expandField,
});

export const AccountRetrieveQuery = z.strictObject({ expand: expandField });

export const AccountListQuery = z.strictObject({ ...listParams });

export type AccountCreateInput = z.output<typeof AccountCreate>;
export type AccountUpdateInput = z.output<typeof AccountUpdate>;
export type AccountListInput = z.output<typeof AccountListQuery>;
