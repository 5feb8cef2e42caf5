import { LIMITS } from '../lib/limits.ts';

// Pure card checks: Luhn, brand by BIN range, lengths per brand, CVC length,
// expiry. No I/O and no clock of its own: the caller passes the time.

export type CardBrand =
  | 'amex'
  | 'diners'
  | 'discover'
  | 'jcb'
  | 'mastercard'
  | 'unionpay'
  | 'visa'
  | 'unknown';

/** Stripe's `display_brand` for each brand. */
export const DISPLAY_BRAND: Record<CardBrand, string> = {
  amex: 'american_express',
  diners: 'diners_club',
  discover: 'discover',
  jcb: 'jcb',
  mastercard: 'mastercard',
  unionpay: 'union_pay',
  visa: 'visa',
  unknown: 'other',
};

interface BrandRule {
  brand: Exclude<CardBrand, 'unknown'>;
  /** Inclusive prefix ranges, compared on the first `from.length` digits. */
  ranges: ReadonlyArray<readonly [from: string, to: string]>;
  lengths: readonly number[];
  cvcLength: number;
}

// Order matters only where ranges could overlap: Discover's 6011/644-649/65
// are tested before UnionPay's 62 and 81 (they do not overlap as listed).
const BRAND_RULES: readonly BrandRule[] = [
  {
    brand: 'amex',
    ranges: [
      ['34', '34'],
      ['37', '37'],
    ],
    lengths: [15],
    cvcLength: 4,
  },
  {
    brand: 'diners',
    ranges: [
      ['300', '305'],
      ['309', '309'],
      ['36', '36'],
      ['38', '39'],
    ],
    lengths: [14, 15, 16, 17, 18, 19],
    cvcLength: 3,
  },
  {
    brand: 'discover',
    ranges: [
      ['6011', '6011'],
      ['644', '649'],
      ['65', '65'],
    ],
    lengths: [16, 17, 18, 19],
    cvcLength: 3,
  },
  { brand: 'jcb', ranges: [['3528', '3589']], lengths: [16, 17, 18, 19], cvcLength: 3 },
  {
    brand: 'mastercard',
    ranges: [
      ['51', '55'],
      ['2221', '2720'],
    ],
    lengths: [16],
    cvcLength: 3,
  },
  {
    brand: 'unionpay',
    ranges: [
      ['62', '62'],
      ['81', '81'],
    ],
    lengths: [16, 17, 18, 19],
    cvcLength: 3,
  },
  { brand: 'visa', ranges: [['4', '4']], lengths: [13, 16, 19], cvcLength: 3 },
];

/** The Luhn (mod 10) check digit test. `digits` must be only 0-9. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function matchRule(digits: string): BrandRule | undefined {
  return BRAND_RULES.find((rule) =>
    rule.ranges.some(([from, to]) => {
      const prefix = digits.slice(0, from.length);
      return prefix.length === from.length && prefix >= from && prefix <= to;
    }),
  );
}

export function detectBrand(digits: string): CardBrand {
  return matchRule(digits)?.brand ?? 'unknown';
}

/** Digits a CVC must have for this brand (4 for amex). */
export function cvcLength(brand: CardBrand): number {
  return BRAND_RULES.find((rule) => rule.brand === brand)?.cvcLength ?? 3;
}

/** Removes the spaces and dashes people type inside card numbers. */
export function normalizeCardNumber(raw: string): string {
  return raw.replace(/[\s-]/g, '');
}

export type CardNumberProblem = 'invalid_number' | 'incorrect_number';

/**
 * Why a card number cannot be a card, or null when it can. Like Stripe:
 * not digits or a length no brand uses is `invalid_number`; a failed Luhn
 * check is `incorrect_number`.
 */
export function cardNumberProblem(digits: string): CardNumberProblem | null {
  if (!/^\d+$/.test(digits)) return 'invalid_number';
  if (digits.length < LIMITS.cardNumberDigitsMin || digits.length > LIMITS.cardNumberDigitsMax) {
    return 'invalid_number';
  }
  const rule = matchRule(digits);
  if (rule && !rule.lengths.includes(digits.length)) return 'invalid_number';
  return luhnValid(digits) ? null : 'incorrect_number';
}

/** A two-digit year means 20xx, as on the card itself. */
export function normalizeExpYear(year: number): number {
  return year < 100 ? 2000 + year : year;
}

/** A card is valid through the last day of its expiry month (UTC). */
export function isExpired(options: { expMonth: number; expYear: number; nowMs: number }): boolean {
  const now = new Date(options.nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return options.expYear < year || (options.expYear === year && options.expMonth < month);
}

export function last4(digits: string): string {
  return digits.slice(-4);
}
