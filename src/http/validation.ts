import { z } from 'zod';
import { ApiError, type ErrorCode } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';

// Field types for request schemas. Stripe's SDKs send form-encoded bodies in
// which every value is a string, so integers and booleans accept both their
// JSON form and their string form. Each helper carries its JSON Schema type in
// `meta`, so the OpenAPI document says what the client must send.

type Issue = { code: 'custom'; message: string; params: { stripeCode: ErrorCode }; input: unknown };

function issue(stripeCode: ErrorCode, message: string, input: unknown): Issue {
  return { code: 'custom', message, params: { stripeCode }, input };
}

export function intField(options: { min?: number; max?: number } = {}) {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  return z
    .any()
    .transform((value: unknown, ctx): number => {
      const n = typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
        ctx.issues.push(issue('parameter_invalid_integer', 'Invalid integer', value));
        return z.NEVER;
      }
      if (n < min || n > max) {
        ctx.issues.push(issue('parameter_invalid', `Must be between ${min} and ${max}`, value));
        return z.NEVER;
      }
      return n;
    })
    .meta({ type: 'integer', minimum: min, maximum: max });
}

export function boolField() {
  return z
    .any()
    .transform((value: unknown, ctx): boolean => {
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      ctx.issues.push(issue('parameter_invalid', 'Invalid boolean: expected true or false', value));
      return z.NEVER;
    })
    .meta({ type: 'boolean' });
}

/** A non-empty string up to `max` characters. */
export function strField(max: number = LIMITS.shortStringLengthMax) {
  return z
    .any()
    .transform((value: unknown, ctx): string => {
      if (typeof value === 'number') value = String(value);
      if (typeof value !== 'string') {
        ctx.issues.push(issue('parameter_invalid', 'Invalid string', value));
        return z.NEVER;
      }
      if (value.length === 0) {
        ctx.issues.push(
          issue(
            'parameter_invalid_empty',
            'You passed an empty string, but this parameter cannot be empty.',
            value,
          ),
        );
        return z.NEVER;
      }
      if (value.length > max) {
        ctx.issues.push(issue('parameter_invalid', `Must be at most ${max} characters`, value));
        return z.NEVER;
      }
      return value;
    })
    .meta({ type: 'string', maxLength: max });
}

/** On update, an empty string unsets the field (Stripe's convention): it becomes null. */
export function clearableStr(max: number = LIMITS.shortStringLengthMax) {
  return z.union([z.literal('').transform(() => null), strField(max)]).meta({
    type: 'string',
    maxLength: max,
    description: 'An empty string unsets the field.',
  });
}

export function emailField() {
  return strField(LIMITS.emailLengthMax).refine((v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), {
    message: 'Invalid email address',
    params: { stripeCode: 'email_invalid' },
  });
}

export function enumField<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .any()
    .transform((value: unknown, ctx): T[number] => {
      if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value;
      ctx.issues.push(
        issue('parameter_invalid', `Invalid value: must be one of ${values.join(', ')}`, value),
      );
      return z.NEVER;
    })
    .meta({ type: 'string', enum: [...values] });
}

/**
 * Metadata, with Stripe's limits. On update, a key set to "" is removed;
 * the whole metadata set to "" clears it (the value `null` after parsing).
 */
export function metadataField() {
  return z
    .any()
    .transform((value: unknown, ctx): Record<string, string> | null => {
      if (value === '') return null;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        ctx.issues.push(issue('parameter_invalid', 'Invalid metadata: expected a hash', value));
        return z.NEVER;
      }
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > LIMITS.metadataKeysMax) {
        ctx.issues.push(
          issue(
            'parameter_invalid',
            `Metadata can have at most ${LIMITS.metadataKeysMax} keys`,
            value,
          ),
        );
        return z.NEVER;
      }
      const out: Record<string, string> = {};
      for (const [key, raw] of entries) {
        const text = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
        if (key.length === 0 || key.length > LIMITS.metadataKeyLengthMax || key.includes('[')) {
          ctx.issues.push(
            issue(
              'parameter_invalid',
              `Metadata keys must be 1 to ${LIMITS.metadataKeyLengthMax} characters without square brackets`,
              key,
            ),
          );
          return z.NEVER;
        }
        if (typeof text !== 'string' || text.length > LIMITS.metadataValueLengthMax) {
          ctx.issues.push(
            issue(
              'parameter_invalid',
              `Metadata values must be strings of at most ${LIMITS.metadataValueLengthMax} characters (key ${key})`,
              raw,
            ),
          );
          return z.NEVER;
        }
        out[key] = text;
      }
      return out;
    })
    .meta({
      type: 'object',
      additionalProperties: { type: 'string', maxLength: LIMITS.metadataValueLengthMax },
      maxProperties: LIMITS.metadataKeysMax,
    });
}

export function idField(prefix: string) {
  return strField(LIMITS.paramLengthMax).meta({ type: 'string', description: `A ${prefix}_ id` });
}

/** Stripe's `expand[]`: accepted everywhere; objects are returned expanded where supported. */
export const expandField = z.array(z.string().max(LIMITS.shortStringLengthMax)).max(20).optional();

/** Merges metadata on update: "" removes a key, null clears all. */
export function mergeMetadata(
  current: Record<string, string>,
  update: Record<string, string> | null | undefined,
): Record<string, string> {
  if (update === undefined) return current;
  if (update === null) return {};
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (value === '') delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > LIMITS.metadataKeysMax) {
    throw new ApiError(
      'parameter_invalid',
      `Metadata can have at most ${LIMITS.metadataKeysMax} keys`,
      { param: 'metadata' },
    );
  }
  return next;
}

/** `a.b.c` → `a[b][c]`, the way Stripe names nested parameters. */
export function paramName(path: ReadonlyArray<PropertyKey>): string {
  const [head, ...rest] = path.map(String);
  return (head ?? '') + rest.map((p) => `[${p}]`).join('');
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

type ZodIssue = z.core.$ZodIssue;

/**
 * A union (`'' | {...}`) reports one issue for the whole field; the useful one
 * is inside the branch that got furthest, such as `shipping[address]` missing.
 * Returns that issue with its path from the root of the input.
 */
function innermostIssue(issue: ZodIssue): ZodIssue {
  let current = issue;
  for (
    let depth = 0;
    depth < LIMITS.formDepthMax * 2 && current.code === 'invalid_union';
    depth++
  ) {
    let best: ZodIssue | undefined;
    for (const branch of current.errors) {
      const candidate = branch[0];
      if (
        candidate &&
        candidate.path.length > 0 &&
        (!best || candidate.path.length > best.path.length)
      )
        best = candidate;
    }
    if (!best) break;
    current = { ...best, path: [...current.path, ...best.path] } as ZodIssue;
  }
  return current;
}

/** Parses input with a schema, or throws the first problem as Stripe would report it. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  paramPrefix: string[] = [],
): z.output<S> {
  // An absent body is no parameters; a JSON `null` body is not an object of parameters.
  const result = schema.safeParse(input === undefined ? {} : input);
  if (result.success) return result.data;
  const top = result.error.issues[0];
  if (!top) throw new ApiError('invalid_request_body', 'Invalid request');
  const first = innermostIssue(top);
  const path = [...paramPrefix, ...first.path];
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0] ?? '';
    const param = paramName([...path, key]);
    throw new ApiError('parameter_unknown', `Received unknown parameter: ${param}`, { param });
  }
  const param = paramName(path);
  if (path.length > 0 && valueAt(input, first.path) === undefined) {
    throw new ApiError('parameter_missing', `Missing required param: ${param}.`, { param });
  }
  if (first.code === 'invalid_type' && path.length === 0) {
    throw new ApiError('invalid_request_body', 'The request body must be an object of parameters.');
  }
  const stripeCode = (first as { params?: { stripeCode?: ErrorCode } }).params?.stripeCode;
  const message = param ? `${first.message} (parameter ${param})` : first.message;
  throw new ApiError(stripeCode ?? 'parameter_invalid', message, { param: param || undefined });
}
