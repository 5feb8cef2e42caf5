import { assert, assertSafeInteger } from '../lib/assert.ts';
import { LIMITS } from '../lib/limits.ts';

// Exact decimal arithmetic for FX rates: a rate is a decimal string read into
// a BigInt coefficient and a power-of-ten scale, so no float ever touches an
// amount. `1.0834` is { coefficient: 10834n, scale: 4 }.

export interface Decimal {
  coefficient: bigint;
  scale: number;
}

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/** Reads a non-negative decimal string (no sign, no exponent); undefined when it is not one. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL_RE.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  return { coefficient: BigInt(`${match[1]}${fraction}`), scale: fraction.length };
}

/** Why `text` is not an acceptable rate, or undefined when it is. */
export function rateProblem(text: string): string | undefined {
  const match = DECIMAL_RE.exec(text);
  const intMax = LIMITS.fxRateIntegerDigitsMax;
  const decMax = LIMITS.fxRateDecimalsMax;
  const shape = `a decimal string greater than 0 with at most ${intMax} integer digits and ${decMax} decimals, such as "1.0834"`;
  if (!match) return `Must be ${shape}`;
  const whole = (match[1] ?? '').replace(/^0+(?=\d)/, '');
  if (whole.length > intMax || (match[2] ?? '').length > decMax) return `Must be ${shape}`;
  const parsed = parseDecimal(text);
  if (!parsed || parsed.coefficient === 0n) return `Must be ${shape}`;
  return undefined;
}

/** The canonical text of a decimal: no leading zeros, no trailing fractional zeros ("01.50" → "1.5"). */
export function formatDecimal(value: Decimal): string {
  let { coefficient, scale } = value;
  while (scale > 0 && coefficient % 10n === 0n) {
    coefficient /= 10n;
    scale -= 1;
  }
  const digits = coefficient.toString().padStart(scale + 1, '0');
  if (scale === 0) return digits;
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

export function canonicalRate(text: string): string {
  const parsed = parseDecimal(text);
  assert(parsed !== undefined, `not a decimal rate: ${text}`);
  return formatDecimal(parsed);
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** num / den rounded half away from zero (den > 0). */
export function divRoundHalfAway(num: bigint, den: bigint): bigint {
  assert(den > 0n, 'divisor must be positive');
  const negative = num < 0n;
  const abs = negative ? -num : num;
  let q = abs / den;
  if ((abs % den) * 2n >= den) q += 1n;
  return negative ? -q : q;
}

/**
 * amountMinor (in a currency of exponent fromExponent) × rate, in minor units
 * of a currency of exponent toExponent, rounded half away from zero. Undefined
 * when the result is not a safe integer.
 */
export function convertMinor(input: {
  amountMinor: number;
  rate: Decimal;
  fromExponent: number;
  toExponent: number;
}): number | undefined {
  assertSafeInteger(input.amountMinor, 'amountMinor');
  // amount/10^from × c/10^s × 10^to = amount × c × 10^to / 10^(s + from)
  const num = BigInt(input.amountMinor) * input.rate.coefficient * pow10(input.toExponent);
  const den = pow10(input.rate.scale + input.fromExponent);
  const result = divRoundHalfAway(num, den);
  const asNumber = Number(result);
  return Number.isSafeInteger(asNumber) ? asNumber : undefined;
}

function digitCount(n: bigint): number {
  return n.toString().length;
}

/**
 * num/den (both > 0) rounded half away from zero to `significant` significant
 * digits, as a canonical decimal string. Used for inverse rates (1/rate).
 */
export function roundSignificant(num: bigint, den: bigint, significant: number): string {
  assert(num > 0n && den > 0n, 'roundSignificant takes positive numbers');
  // Find e with 10^(sig-1) ≤ num×10^e/den < 10^sig; the digit counts give it to within one.
  let e = significant - (digitCount(num) - digitCount(den)) - 1;
  const scaled = (k: number) => (k >= 0 ? (num * pow10(k)) / den : num / (den * pow10(-k)));
  if (scaled(e) >= pow10(significant)) e -= 1;
  if (scaled(e) < pow10(significant - 1)) e += 1;
  let q = k(e);
  if (q === pow10(significant)) {
    q /= 10n;
    e -= 1;
  }
  if (e <= 0) return formatDecimal({ coefficient: q * pow10(-e), scale: 0 });
  return formatDecimal({ coefficient: q, scale: e });

  function k(exp: number): bigint {
    return exp >= 0
      ? divRoundHalfAway(num * pow10(exp), den)
      : divRoundHalfAway(num, den * pow10(-exp));
  }
}

/** 1/rate to LIMITS.fxInverseSignificantDigits significant digits. */
export function invertRate(rate: string): string {
  const parsed = parseDecimal(rate);
  assert(parsed !== undefined && parsed.coefficient > 0n, `cannot invert rate ${rate}`);
  return roundSignificant(
    pow10(parsed.scale),
    parsed.coefficient,
    LIMITS.fxInverseSignificantDigits,
  );
}
