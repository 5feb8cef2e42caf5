import { z } from 'zod';
import { CONNECTOR_TYPES } from '../connectors/types.ts';
import { listParams } from '../http/pagination.ts';
import { clearableStr, enumField, intField, metadataField, strField } from '../http/validation.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import { findCurrency } from '../lib/money.ts';
import { RoutingConfig } from './types.ts';

// Request schemas for connector accounts, maintenance windows and the routing
// configuration: validator, TypeScript type and OpenAPI at once. Checks that
// depend on the stored state (the connector type's credential fields, names
// in use, connector ids that exist) are made by the services.

type Issue = { code: 'custom'; message: string; params: { stripeCode: ErrorCode }; input: unknown };

function issue(stripeCode: ErrorCode, message: string, input: unknown): Issue {
  return { code: 'custom', message, params: { stripeCode }, input };
}

export const PAYMENT_METHOD_TYPES = ['card', 'sepa_debit', 'us_bank_account'] as const;
export const CONNECTOR_NAME_LENGTH_MAX = 100;
export const MAINTENANCE_NOTE_LENGTH_MAX = 500;

/** Parts per million in one percent. */
const PPM_PER_PERCENT = 10_000;
const PPM_MAX = 100 * PPM_PER_PERCENT;

/**
 * A percentage with at most 4 decimals ("2.9", 2.9, "0.0125") as an integer
 * number of parts per million, read digit by digit so no float rounding is
 * involved. Undefined when the text is not such a number or is above 100.
 */
export function percentToPpm(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') return undefined;
  const match = /^(\d{1,3})(?:\.(\d{1,4}))?$/.exec(text);
  if (!match) return undefined;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(4, '0'));
  const ppm = whole * PPM_PER_PERCENT + fraction;
  return ppm <= PPM_MAX ? ppm : undefined;
}

function percentField() {
  return z
    .any()
    .transform((value: unknown, ctx): number => {
      const ppm = percentToPpm(value);
      if (ppm === undefined) {
        ctx.issues.push(
          issue(
            'parameter_invalid',
            'Must be a decimal number from 0 to 100 with at most 4 decimals, such as "2.9"',
            value,
          ),
        );
        return z.NEVER;
      }
      return ppm;
    })
    .meta({ type: 'string', pattern: '^\\d{1,3}(\\.\\d{1,4})?$' });
}

/** A processor's API base URL: http(s), no credentials in it (they go in `credentials`). */
export function baseUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'Must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return 'Must be an absolute http or https URL';
  if (url.username !== '' || url.password !== '')
    return 'Must not contain credentials; put them in `credentials`';
  if (url.hash !== '') return 'Must not contain a fragment';
  return undefined;
}

function baseUrlField() {
  return strField(LIMITS.connectorBaseUrlLengthMax)
    .transform((text, ctx): string => {
      const problem = baseUrlProblem(text);
      if (problem) {
        ctx.issues.push(issue('parameter_invalid', problem, text));
        return z.NEVER;
      }
      return text;
    })
    .meta({ type: 'string', format: 'uri', maxLength: LIMITS.connectorBaseUrlLengthMax });
}

function currencyField() {
  return strField(3)
    .transform((code, ctx): string => {
      const currency = findCurrency(code);
      if (!currency) {
        ctx.issues.push(issue('invalid_currency', `Invalid currency: ${code}`, code));
        return z.NEVER;
      }
      return currency.code.toLowerCase();
    })
    .meta({ type: 'string', description: 'A three-letter ISO 4217 code' });
}

const currenciesField = z
  .union([
    z.literal('').transform(() => null),
    z
      .array(currencyField())
      .min(1)
      .max(LIMITS.formArrayLengthMax)
      .transform((codes) => [...new Set(codes)]),
  ])
  .meta({ description: 'Currencies this connector takes; omitted or "" means every currency.' });

const paymentMethodTypesField = z
  .array(enumField(PAYMENT_METHOD_TYPES))
  .min(1)
  .max(PAYMENT_METHOD_TYPES.length)
  .transform((types) => [...new Set(types)]);

/** Credential values by field name; which names are allowed depends on `type` (service). */
const credentialsField = z
  .record(
    z.string().max(LIMITS.metadataKeyLengthMax),
    strField(LIMITS.connectorCredentialLengthMax),
  )
  .meta({ description: 'Write-only: never returned, only masked hints.' });

const feesField = z.strictObject({
  /** Percentage of the amount, as a decimal string ("2.9"). */
  percent: percentField().optional(),
  /** Fixed fee per payment, in the payment currency's minor unit. */
  fixed: intField({ min: 0, max: LIMITS.amountMinorMax }).optional(),
});

const updatable = {
  name: strField(CONNECTOR_NAME_LENGTH_MAX).optional(),
  credentials: credentialsField.optional(),
  base_url: z.union([z.literal('').transform(() => null), baseUrlField()]).optional(),
  currencies: currenciesField.optional(),
  payment_method_types: paymentMethodTypesField.optional(),
  fees: feesField.optional(),
  /** Fixed fee the processor keeps per dispute, in the settlement currency's minor unit (docs/disputes.md). */
  dispute_fee: intField({ min: 0, max: LIMITS.amountMinorMax }).optional(),
  /** The currency the processor pays out in (FX, docs/fx.md); "" unsets it (the presentment currency). */
  settlement_currency: z
    .any()
    .transform((value: unknown, ctx): string | null => {
      if (value === '') return null;
      const parsed = currencyField().safeParse(value);
      if (parsed.success) return parsed.data;
      ctx.issues.push(issue('invalid_currency', `Invalid currency: ${String(value)}`, value));
      return z.NEVER;
    })
    .meta({ type: 'string', description: 'ISO 4217 code, or "" to unset' })
    .optional(),
  timeout_ms: intField({
    min: LIMITS.connectorTimeoutMsMin,
    max: LIMITS.connectorTimeoutMsMax,
  }).optional(),
  status: enumField(['active', 'disabled']).optional(),
  metadata: metadataField().optional(),
};

export const ConnectorCreate = z.strictObject({
  ...updatable,
  type: enumField(CONNECTOR_TYPES),
  name: strField(CONNECTOR_NAME_LENGTH_MAX),
});
/** `type` is accepted only to say clearly that it cannot change. */
export const ConnectorUpdate = z.strictObject({
  ...updatable,
  type: enumField(CONNECTOR_TYPES).optional(),
});
export const ConnectorListQuery = z.strictObject({ ...listParams });

export type ConnectorCreateInput = z.output<typeof ConnectorCreate>;
export type ConnectorUpdateInput = z.output<typeof ConnectorUpdate>;
export type ConnectorListInput = z.output<typeof ConnectorListQuery>;

// ---------------------------------------------------------------- maintenance

/** Unix seconds up to the year 9999. */
const UNIX_SECONDS_MAX = 253_402_300_799;
const unixSecondsField = () => intField({ min: 0, max: UNIX_SECONDS_MAX });

/** Unix seconds, or "now" (the engine's clock, when the request is served). */
function startField() {
  const seconds = unixSecondsField();
  return z
    .any()
    .transform((value: unknown, ctx): number | 'now' => {
      if (value === 'now') return 'now';
      const parsed = seconds.safeParse(value);
      if (parsed.success) return parsed.data;
      ctx.issues.push(
        issue('parameter_invalid_integer', 'Must be unix seconds (an integer) or "now"', value),
      );
      return z.NEVER;
    })
    .meta({
      anyOf: [
        { type: 'integer', minimum: 0, maximum: UNIX_SECONDS_MAX },
        { type: 'string', enum: ['now'] },
      ],
    });
}

export const MaintenanceWindowCreate = z.strictObject({
  /** Unix seconds, or "now". */
  start: startField(),
  end: unixSecondsField(),
  note: strField(MAINTENANCE_NOTE_LENGTH_MAX).optional(),
});
export const MaintenanceWindowUpdate = z.strictObject({
  start: startField().optional(),
  end: unixSecondsField().optional(),
  note: clearableStr(MAINTENANCE_NOTE_LENGTH_MAX).optional(),
});
export const MaintenanceWindowListQuery = z.strictObject({ ...listParams });

export type MaintenanceWindowCreateInput = z.output<typeof MaintenanceWindowCreate>;
export type MaintenanceWindowUpdateInput = z.output<typeof MaintenanceWindowUpdate>;

// ---------------------------------------------------------------- routing config

/**
 * Form bodies cannot send an empty list or null: "" stands for them, as in
 * Stripe's API ("" unsets a field).
 */
function formEmptiesToValues(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const body = { ...(input as Record<string, unknown>) };
  for (const key of ['strategies', 'failover_rules'] as const) if (body[key] === '') body[key] = [];
  if (body.secondary_method === '') body.secondary_method = null;
  return body;
}

/** The whole configuration (it replaces the stored one) plus an optional expected version. */
export const RoutingConfigUpdate = z.preprocess(
  formEmptiesToValues,
  RoutingConfig.extend({
    /** If given, the update applies only if this is still the current version (else 409). */
    version: intField({ min: 0 }).optional(),
  }),
);
export type RoutingConfigUpdateInput = z.output<typeof RoutingConfigUpdate>;
