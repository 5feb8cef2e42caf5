import { findCurrency } from '../lib/money.ts';
import { FileRejection } from './types.ts';

// Decimal strings of major units ("10.00", "-3.5") to integer minor units,
// by string arithmetic: a report's amounts never pass through a float.

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** The currency's lowercase code and exponent, or a rejection naming `where`. */
export function currencyAt(code: string, where: string): { code: string; exponent: number } {
  const currency = /^[A-Za-z]{3}$/.test(code) ? findCurrency(code) : undefined;
  if (!currency) throw new FileRejection(`${where}: unknown currency code "${code}"`);
  return { code: currency.code, exponent: currency.exponent };
}

/**
 * `text` in major units to minor units of a currency with `exponent` decimals.
 * Extra decimals are accepted only when they are zeros ("10.000" usd is 1000).
 */
export function decimalToMinor(text: string, exponent: number, where: string): number {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new FileRejection(`${where}: not a decimal amount ("${text}")`);
  const [, sign, whole = '', fraction = ''] = match;
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > exponent) {
    throw new FileRejection(
      `${where}: "${text}" has more decimal places than the currency allows (${exponent})`,
    );
  }
  const digits = whole + fraction.padEnd(exponent, '0').slice(0, exponent);
  const value = BigInt(digits) * (sign === '-' ? -1n : 1n);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new FileRejection(`${where}: amount "${text}" is too large`);
  }
  return Number(value);
}

/** Formats minor units back to a decimal string, for messages. */
export function minorToDecimal(amountMinor: number, exponent: number): string {
  const negative = amountMinor < 0;
  const digits = Math.abs(amountMinor)
    .toString()
    .padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const fraction = exponent === 0 ? '' : `.${digits.slice(-exponent)}`;
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
