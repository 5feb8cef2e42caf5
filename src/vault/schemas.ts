import { z } from 'zod';
import { AddressSchema } from '../customers/schemas.ts';
import { listParams } from '../http/pagination.ts';
import {
  clearableStr,
  emailField,
  enumField,
  expandField,
  idField,
  metadataField,
} from '../http/validation.ts';
import { Secret } from '../lib/crypto.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import { abaRoutingValid, parseSepaIban } from './bank.ts';
import {
  cardNumberProblem,
  cvcLength,
  detectBrand,
  normalizeCardNumber,
  normalizeExpYear,
} from './card.ts';

// Request schemas for payment methods. Secret parts (card number, IBAN,
// account number) leave the parser already wrapped in Secret, so nothing
// downstream can log them by accident. The CVC is checked for format and
// dropped here: it is never stored anywhere.

/** The payment-method types Payrail creates (wallets are cards: see service.ts). */
export const CREATABLE_TYPES = ['card', 'sepa_debit', 'us_bank_account'] as const;
export type CreatableType = (typeof CREATABLE_TYPES)[number];

function fail(stripeCode: ErrorCode, message: string, input: unknown) {
  return { code: 'custom' as const, message, params: { stripeCode }, input };
}

const cardNumberField = z
  .any()
  .transform((value: unknown, ctx): Secret<string> => {
    // Only strings: a JSON number loses digits past 2^53.
    const digits = typeof value === 'string' ? normalizeCardNumber(value) : '';
    const problem =
      digits.length > 2 * LIMITS.cardNumberDigitsMax ? 'invalid_number' : cardNumberProblem(digits);
    if (problem === 'incorrect_number') {
      ctx.issues.push(fail('incorrect_number', 'Your card number is incorrect.', '[redacted]'));
      return z.NEVER;
    }
    if (problem) {
      ctx.issues.push(
        fail('invalid_number', 'Your card number is not a valid card number.', '[redacted]'),
      );
      return z.NEVER;
    }
    return new Secret(digits);
  })
  .meta({
    type: 'string',
    description: 'The card number, digits only (spaces and dashes ignored).',
  });

function parseSmallInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,4}$/.test(value)) return Number(value);
  return undefined;
}

export const expMonthField = z
  .any()
  .transform((value: unknown, ctx): number => {
    const n = parseSmallInt(value);
    if (n === undefined || n < 1 || n > 12) {
      ctx.issues.push(
        fail('invalid_expiry_month', "Your card's expiration month is invalid.", value),
      );
      return z.NEVER;
    }
    return n;
  })
  .meta({ type: 'integer', minimum: 1, maximum: 12 });

/** Two-digit years mean 20xx; the upper bound against today is checked by the service. */
export const expYearField = z
  .any()
  .transform((value: unknown, ctx): number => {
    const n = parseSmallInt(value);
    if (n === undefined || (n >= 100 && n < 2000)) {
      ctx.issues.push(
        fail('invalid_expiry_year', "Your card's expiration year is invalid.", value),
      );
      return z.NEVER;
    }
    return normalizeExpYear(n);
  })
  .meta({ type: 'integer', description: 'Four digits, or two meaning 20xx.' });

const cvcField = z
  .any()
  .transform((value: unknown, ctx): string => {
    if (typeof value !== 'string' || !/^\d{3,4}$/.test(value)) {
      ctx.issues.push(fail('invalid_cvc', "Your card's security code is invalid.", '[redacted]'));
      return z.NEVER;
    }
    return value;
  })
  .meta({
    type: 'string',
    description: '3 digits, 4 for American Express. Checked, never stored.',
  });

const CardCreate = z
  .strictObject({
    number: cardNumberField,
    exp_month: expMonthField,
    exp_year: expYearField,
    cvc: cvcField.optional(),
  })
  .transform((card, ctx) => {
    const brand = detectBrand(card.number.reveal());
    if (card.cvc !== undefined && card.cvc.length !== cvcLength(brand)) {
      ctx.issues.push({
        ...fail('invalid_cvc', "Your card's security code is invalid.", '[redacted]'),
        path: ['cvc'],
      });
      return z.NEVER;
    }
    // The CVC itself goes no further than this line.
    return {
      number: card.number,
      expMonth: card.exp_month,
      expYear: card.exp_year,
      brand,
      cvcProvided: card.cvc !== undefined,
    };
  });

const ibanField = z
  .any()
  .transform((value: unknown, ctx) => {
    const parsed =
      typeof value === 'string' && value.length <= 2 * LIMITS.ibanLengthMax
        ? parseSepaIban(value)
        : 'invalid';
    if (parsed === 'invalid' || parsed === 'not_sepa') {
      const message =
        parsed === 'not_sepa'
          ? 'The IBAN you provided is not from a SEPA country.'
          : 'The IBAN you provided is invalid.';
      ctx.issues.push(fail('invalid_iban', message, '[redacted]'));
      return z.NEVER;
    }
    return { ...parsed, iban: new Secret(parsed.iban) };
  })
  .meta({
    type: 'string',
    maxLength: LIMITS.ibanLengthMax,
    description: 'An IBAN of a SEPA country.',
  });

const accountNumberField = z
  .any()
  .transform((value: unknown, ctx): Secret<string> => {
    const { usBankAccountDigitsMin: min, usBankAccountDigitsMax: max } = LIMITS;
    if (typeof value !== 'string' || !new RegExp(`^\\d{${min},${max}}$`).test(value)) {
      ctx.issues.push(
        fail(
          'invalid_bank_account',
          `The account number must be ${min} to ${max} digits.`,
          '[redacted]',
        ),
      );
      return z.NEVER;
    }
    return new Secret(value);
  })
  .meta({
    type: 'string',
    description: `${LIMITS.usBankAccountDigitsMin} to ${LIMITS.usBankAccountDigitsMax} digits.`,
  });

const routingNumberField = z
  .any()
  .transform((value: unknown, ctx): string => {
    if (typeof value !== 'string' || !abaRoutingValid(value)) {
      ctx.issues.push(
        fail(
          'invalid_bank_account',
          'The routing number is not a valid ABA routing number.',
          value,
        ),
      );
      return z.NEVER;
    }
    return value;
  })
  .meta({ type: 'string', description: 'A 9-digit ABA routing number.' });

const holderTypeField = enumField(['individual', 'company']);
const accountTypeField = enumField(['checking', 'savings']);

const UsBankAccountCreate = z.strictObject({
  account_number: accountNumberField,
  routing_number: routingNumberField,
  account_holder_type: holderTypeField.optional(),
  account_type: accountTypeField.optional(),
});

const BillingDetailsInput = z.strictObject({
  address: z.union([z.literal('').transform(() => null), AddressSchema]).optional(),
  email: z.union([z.literal('').transform(() => null), emailField()]).optional(),
  name: clearableStr().optional(),
  phone: clearableStr(40).optional(),
});
export type BillingDetailsInputValue = z.output<typeof BillingDetailsInput>;

const allowRedisplayField = enumField(['always', 'limited', 'unspecified']);

export const PaymentMethodCreate = z
  .strictObject({
    type: enumField(CREATABLE_TYPES),
    card: CardCreate.optional(),
    sepa_debit: z.strictObject({ iban: ibanField }).optional(),
    us_bank_account: UsBankAccountCreate.optional(),
    billing_details: BillingDetailsInput.optional(),
    metadata: metadataField().optional(),
    allow_redisplay: allowRedisplayField.optional(),
    expand: expandField,
  })
  .superRefine((input, ctx) => {
    // Exactly the hash of the chosen type, like Stripe.
    for (const type of CREATABLE_TYPES) {
      if (input.type === type && input[type] === undefined) {
        ctx.addIssue({ code: 'custom', message: `Missing required param: ${type}.`, path: [type] });
      }
      if (input.type !== type && input[type] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `${type} can only be given when type is ${type}.`,
          path: [type],
        });
      }
    }
    // Bank debits need the account holder; SEPA mandates also need an email.
    const billing = input.billing_details;
    if ((input.type === 'sepa_debit' || input.type === 'us_bank_account') && !billing?.name) {
      ctx.addIssue({
        code: 'custom',
        message: 'Missing billing_details[name].',
        path: ['billing_details', 'name'],
      });
    }
    if (input.type === 'sepa_debit' && !billing?.email) {
      ctx.addIssue({
        code: 'custom',
        message: 'Missing billing_details[email].',
        path: ['billing_details', 'email'],
      });
    }
  });

export const PaymentMethodUpdate = z.strictObject({
  billing_details: BillingDetailsInput.optional(),
  metadata: metadataField().optional(),
  card: z
    .strictObject({ exp_month: expMonthField.optional(), exp_year: expYearField.optional() })
    .optional(),
  us_bank_account: z
    .strictObject({
      account_holder_type: holderTypeField.optional(),
      account_type: accountTypeField.optional(),
    })
    .optional(),
  allow_redisplay: allowRedisplayField.optional(),
  expand: expandField,
});

export const PaymentMethodAttach = z.strictObject({
  customer: idField('cus'),
  expand: expandField,
});
export const PaymentMethodDetach = z.strictObject({ expand: expandField });

const listType = enumField(['card', 'sepa_debit', 'us_bank_account']);

/** Like Stripe, listing payment methods names the customer. */
export const PaymentMethodListQuery = z.strictObject({
  ...listParams,
  customer: idField('cus'),
  type: listType.optional(),
});
export const CustomerPaymentMethodListQuery = z.strictObject({
  ...listParams,
  type: listType.optional(),
});
export const PaymentMethodRetrieveQuery = z.strictObject({ expand: expandField });

export type PaymentMethodCreateInput = z.output<typeof PaymentMethodCreate>;
export type PaymentMethodUpdateInput = z.output<typeof PaymentMethodUpdate>;
export type PaymentMethodListInput = z.output<typeof CustomerPaymentMethodListQuery>;
export type CardCreateValue = NonNullable<PaymentMethodCreateInput['card']>;
