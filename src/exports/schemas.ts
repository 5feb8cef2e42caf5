import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import { clearableStr, enumField, strField } from '../http/validation.ts';
import { LEDGER_PURPOSES } from '../ledger/accounts.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import { findCurrency } from '../lib/money.ts';
import { parseTimeInput, TIME_INPUT_HINT } from './dates.ts';

// Request schemas for account mappings and journal exports.

type Issue = { code: 'custom'; message: string; params: { stripeCode: ErrorCode }; input: unknown };

function issue(stripeCode: ErrorCode, message: string, input: unknown): Issue {
  return { code: 'custom', message, params: { stripeCode }, input };
}

export const EXPORT_FORMATS = ['generic', 'quickbooks', 'xero'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Xero's tax rate name when the request names none (Xero's US/global "no tax" rate). */
export const XERO_TAX_RATE_DEFAULT = 'Tax Exempt';

export const MappingPut = z
  .strictObject({
    purpose: enumField(LEDGER_PURPOSES),
    /** A conn_ id (or `sandbox`): the mapping applies to that connector only. */
    connector: strField(LIMITS.paramLengthMax).optional(),
    quickbooks_account: clearableStr(LIMITS.quickbooksAccountNameLengthMax).optional(),
    xero_account_code: clearableStr(LIMITS.xeroAccountCodeLengthMax).optional(),
  })
  .refine((v) => v.quickbooks_account !== undefined || v.xero_account_code !== undefined, {
    message: 'Give quickbooks_account, xero_account_code or both',
    path: ['quickbooks_account'],
    params: { stripeCode: 'parameter_missing' },
  });

export const MappingListQuery = z.strictObject({
  ...listParams,
  purpose: enumField(LEDGER_PURPOSES).optional(),
});

function timeField(options: { endOfDay: boolean }) {
  return strField(64)
    .transform((text, ctx): number => {
      const seconds = parseTimeInput(text, options);
      if (seconds === undefined) {
        ctx.issues.push(issue('parameter_invalid', `Must be ${TIME_INPUT_HINT}`, text));
        return z.NEVER;
      }
      return seconds;
    })
    .meta({ type: 'string', description: TIME_INPUT_HINT });
}

export const ExportQuery = z
  .strictObject({
    format: enumField(EXPORT_FORMATS),
    /** Inclusive; a date means its first second (UTC). */
    from: timeField({ endOfDay: false }),
    /** Inclusive; a date means its last second (UTC). */
    to: timeField({ endOfDay: true }),
    currency: strField(3)
      .transform((code, ctx): string => {
        const currency = findCurrency(code);
        if (!currency) {
          ctx.issues.push(issue('invalid_currency', `Invalid currency: ${code}`, code));
          return z.NEVER;
        }
        return currency.code;
      })
      .optional(),
    /** Xero only: the tax rate name on every line. */
    tax_rate: strField(LIMITS.xeroTaxRateLengthMax).optional(),
  })
  .refine((v) => v.from <= v.to, {
    message: '`to` must not be before `from`',
    path: ['to'],
    params: { stripeCode: 'parameter_invalid' },
  });

export type MappingPutInput = z.output<typeof MappingPut>;
export type MappingListInput = z.output<typeof MappingListQuery>;
export type ExportInput = z.output<typeof ExportQuery>;
