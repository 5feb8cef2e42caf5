import { z } from 'zod';
import { UNIX_SECONDS_MAX } from '../exports/dates.ts';
import { listParams } from '../http/pagination.ts';
import { intField, strField } from '../http/validation.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { findCurrency } from '../lib/money.ts';
import { canonicalRate, rateProblem } from './decimal.ts';

// Request schemas for /v1/fx_rates: validator, TypeScript type and OpenAPI at once.

type Issue = { code: 'custom'; message: string; params: { stripeCode: ErrorCode }; input: unknown };

function issue(stripeCode: ErrorCode, message: string, input: unknown): Issue {
  return { code: 'custom', message, params: { stripeCode }, input };
}

export function fxCurrencyField() {
  return strField(3)
    .transform((code, ctx): string => {
      const currency = findCurrency(code);
      if (!currency) {
        ctx.issues.push(issue('invalid_currency', `Invalid currency: ${code}`, code));
        return z.NEVER;
      }
      return currency.code;
    })
    .meta({ type: 'string', description: 'A three-letter ISO 4217 code' });
}

/** A rate as a decimal string (numbers are refused: a float has already lost digits). */
export function rateField() {
  return z
    .any()
    .transform((value: unknown, ctx): string => {
      const problem = typeof value === 'string' ? rateProblem(value) : 'Must be a decimal string';
      if (problem) {
        ctx.issues.push(issue('parameter_invalid', problem, value));
        return z.NEVER;
      }
      return canonicalRate(value as string);
    })
    .meta({ type: 'string', pattern: '^\\d+(\\.\\d+)?$', description: '1 base = rate quote' });
}

export const FxRateCreate = z
  .strictObject({
    base_currency: fxCurrencyField(),
    quote_currency: fxCurrencyField(),
    rate: rateField(),
    /** Unix seconds; default: now. */
    effective_from: intField({ min: 0, max: UNIX_SECONDS_MAX }).optional(),
  })
  .refine((v) => v.base_currency !== v.quote_currency, {
    message: 'quote_currency must differ from base_currency',
    path: ['quote_currency'],
    params: { stripeCode: 'parameter_invalid' },
  });

export const FxRateListQuery = z.strictObject({
  ...listParams,
  base_currency: fxCurrencyField().optional(),
  quote_currency: fxCurrencyField().optional(),
});

export type FxRateCreateInput = z.output<typeof FxRateCreate>;
export type FxRateListInput = z.output<typeof FxRateListQuery>;
