import currencyCodes from 'currency-codes';
import { LIMITS } from './limits.ts';

// ISO 4217 currencies with their minor-unit exponent, from the maintained
// `currency-codes` table. Codes are lowercase on the wire, like Stripe.
export interface Currency {
  code: string;
  exponent: number;
  name: string;
}

// Codes whose ISO 4217 minor unit is "N.A." (precious metals, bond-market
// units, SDR, testing, no currency): not payable. `currency-codes` reports
// their digits as 0, so they are listed here rather than detected.
const NO_MINOR_UNIT = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

const CURRENCIES = new Map<string, Currency>();
for (const code of currencyCodes.codes()) {
  const entry = currencyCodes.code(code);
  if (!entry || typeof entry.digits !== 'number' || NO_MINOR_UNIT.has(code)) continue;
  CURRENCIES.set(code.toLowerCase(), {
    code: code.toLowerCase(),
    exponent: entry.digits,
    name: entry.currency,
  });
}

export function findCurrency(code: string): Currency | undefined {
  return CURRENCIES.get(code.toLowerCase());
}

export function allCurrencies(): Currency[] {
  return [...CURRENCIES.values()];
}

/** Formats minor units as a decimal string in the currency's exponent (1234 usd → "12.34"). */
export function formatMinor(amountMinor: number, currency: Currency): string {
  const negative = amountMinor < 0;
  const digits = Math.abs(amountMinor)
    .toString()
    .padStart(currency.exponent + 1, '0');
  const whole = currency.exponent === 0 ? digits : digits.slice(0, -currency.exponent);
  const frac = currency.exponent === 0 ? '' : `.${digits.slice(-currency.exponent)}`;
  return `${negative ? '-' : ''}${whole}${frac}`;
}

export type AmountCheck = { ok: true } | { ok: false; message: string };

/** Checks a payment amount: positive safe integer within the engine's limit. */
export function checkAmount(amountMinor: number, currency: Currency): AmountCheck {
  if (!Number.isSafeInteger(amountMinor)) {
    return { ok: false, message: 'Amount must be an integer in the smallest currency unit.' };
  }
  if (amountMinor < 1) {
    return { ok: false, message: 'Amount must be at least 1 in the smallest currency unit.' };
  }
  if (amountMinor > LIMITS.amountMinorMax) {
    return {
      ok: false,
      message: `Amount must be no more than ${formatMinor(LIMITS.amountMinorMax, currency)} ${currency.code}.`,
    };
  }
  return { ok: true };
}
