import { electronicFormatIBAN, extractIBAN, isSEPACountry, isValidIBAN } from 'ibantools';

// Pure bank-account checks: ABA routing numbers and SEPA IBANs.

const ABA_WEIGHTS = [3, 7, 1, 3, 7, 1, 3, 7, 1] as const;

/** An ABA routing transit number: 9 digits whose weighted sum (3,7,1,...) is a multiple of 10. */
export function abaRoutingValid(routing: string): boolean {
  if (!/^\d{9}$/.test(routing)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i += 1) sum += (routing.charCodeAt(i) - 48) * (ABA_WEIGHTS[i] ?? 0);
  return sum % 10 === 0;
}

/** Bank names Payrail knows by routing number; others are reported as null. */
const BANK_NAMES: Record<string, string> = {
  '110000000': 'STRIPE TEST BANK',
};

export function bankName(routing: string): string | null {
  return BANK_NAMES[routing] ?? null;
}

export interface SepaIban {
  /** Electronic format: upper case, no spaces. */
  iban: string;
  country: string;
  bankCode: string | null;
  branchCode: string | null;
  last4: string;
}

export type IbanProblem = 'invalid' | 'not_sepa';

/** Parses an IBAN typed with or without spaces; a problem when it is not a valid SEPA IBAN. */
export function parseSepaIban(raw: string): SepaIban | IbanProblem {
  const iban = electronicFormatIBAN(raw);
  if (!iban || !isValidIBAN(iban)) return 'invalid';
  const parts = extractIBAN(iban);
  const country = parts.countryCode ?? iban.slice(0, 2);
  if (!isSEPACountry(country)) return 'not_sepa';
  return {
    iban,
    country,
    bankCode: parts.bankIdentifier ?? null,
    branchCode: parts.branchIdentifier ?? null,
    last4: iban.slice(-4),
  };
}
