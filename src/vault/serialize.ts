import type { PaymentMethodsTable } from '../db/schema.ts';
import { assert } from '../lib/assert.ts';
import { type CardBrand, DISPLAY_BRAND } from './card.ts';

// What a payment_methods row holds in `details` (public parts only) and how
// it becomes Stripe's objects. No secret is ever read here.

export type CheckResult = 'pass' | 'fail' | 'unavailable' | 'unchecked' | null;

export interface CardChecks {
  address_line1_check: CheckResult;
  address_postal_code_check: CheckResult;
  cvc_check: CheckResult;
}

export type WalletType = 'apple_pay' | 'google_pay';

export interface CardDetails {
  brand: CardBrand;
  checks: CardChecks;
  country: string | null;
  exp_month: number;
  exp_year: number;
  funding: string;
  last4: string;
  wallet: WalletType | null;
}

export interface SepaDebitDetails {
  bank_code: string | null;
  branch_code: string | null;
  country: string;
  last4: string;
}

export interface UsBankAccountDetails {
  account_holder_type: 'individual' | 'company';
  account_type: 'checking' | 'savings';
  bank_name: string | null;
  last4: string;
  routing_number: string;
}

export interface Address {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface BillingDetails {
  address: Address;
  email: string | null;
  name: string | null;
  phone: string | null;
}

export const EMPTY_ADDRESS: Address = {
  city: null,
  country: null,
  line1: null,
  line2: null,
  postal_code: null,
  state: null,
};

export function cardDetails(row: PaymentMethodsTable): CardDetails {
  assert(row.type === 'card', `payment method ${row.id} is not a card`);
  return JSON.parse(row.details) as CardDetails;
}

export function sepaDetails(row: PaymentMethodsTable): SepaDebitDetails {
  assert(row.type === 'sepa_debit', `payment method ${row.id} is not sepa_debit`);
  return JSON.parse(row.details) as SepaDebitDetails;
}

export function usBankDetails(row: PaymentMethodsTable): UsBankAccountDetails {
  assert(row.type === 'us_bank_account', `payment method ${row.id} is not us_bank_account`);
  return JSON.parse(row.details) as UsBankAccountDetails;
}

function walletHash(card: CardDetails): Record<string, unknown> | null {
  if (!card.wallet) return null;
  return { [card.wallet]: {}, dynamic_last4: card.last4, type: card.wallet };
}

function cardHash(row: PaymentMethodsTable): Record<string, unknown> {
  const card = cardDetails(row);
  return {
    brand: card.brand,
    checks: card.checks,
    country: card.country,
    display_brand: DISPLAY_BRAND[card.brand],
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    fingerprint: row.fingerprint,
    funding: card.funding,
    generated_from: null,
    last4: card.last4,
    networks: { available: [card.brand], preferred: null },
    regulated_status: 'unregulated',
    three_d_secure_usage: { supported: true },
    wallet: walletHash(card),
  };
}

function sepaHash(row: PaymentMethodsTable): Record<string, unknown> {
  const sepa = sepaDetails(row);
  return {
    bank_code: sepa.bank_code,
    branch_code: sepa.branch_code,
    country: sepa.country,
    fingerprint: row.fingerprint,
    generated_from: { charge: null, setup_attempt: null },
    last4: sepa.last4,
  };
}

function usBankHash(row: PaymentMethodsTable): Record<string, unknown> {
  const bank = usBankDetails(row);
  return {
    account_holder_type: bank.account_holder_type,
    account_type: bank.account_type,
    bank_name: bank.bank_name,
    financial_connections_account: null,
    fingerprint: row.fingerprint,
    last4: bank.last4,
    networks: { preferred: 'ach', supported: ['ach'] },
    routing_number: bank.routing_number,
    status_details: null,
  };
}

/** The type-specific hash (`card`, `sepa_debit`, ...) of a payment method. */
export function typeHash(row: PaymentMethodsTable): Record<string, unknown> {
  switch (row.type) {
    case 'card':
      return cardHash(row);
    case 'sepa_debit':
      return sepaHash(row);
    case 'us_bank_account':
      return usBankHash(row);
    default:
      throw new Error(`payment method ${row.id} has unknown type ${row.type}`);
  }
}

/** Stripe's `payment_method` object. */
export function serializePaymentMethod(row: PaymentMethodsTable): Record<string, unknown> {
  return {
    id: row.id,
    object: 'payment_method',
    allow_redisplay: row.allow_redisplay,
    billing_details: JSON.parse(row.billing_details) as BillingDetails,
    created: row.created,
    customer: row.customer_id,
    livemode: row.livemode === 1,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    type: row.type,
    [row.type]: typeHash(row),
  };
}

/** Stripe's `payment_method_details` on a charge: public parts only. */
export function chargeDetails(row: PaymentMethodsTable): Record<string, unknown> {
  switch (row.type) {
    case 'card': {
      const card = cardHash(row);
      return {
        type: 'card',
        card: {
          brand: card.brand,
          checks: card.checks,
          country: card.country,
          exp_month: card.exp_month,
          exp_year: card.exp_year,
          fingerprint: card.fingerprint,
          funding: card.funding,
          installments: null,
          last4: card.last4,
          mandate: null,
          network: card.brand,
          network_token: { used: false },
          three_d_secure: null,
          wallet: card.wallet,
        },
      };
    }
    case 'sepa_debit': {
      const { generated_from: _, ...sepa } = sepaHash(row);
      return { type: 'sepa_debit', sepa_debit: { ...sepa, mandate: null } };
    }
    case 'us_bank_account': {
      const bank = usBankDetails(row);
      return {
        type: 'us_bank_account',
        us_bank_account: {
          account_holder_type: bank.account_holder_type,
          account_type: bank.account_type,
          bank_name: bank.bank_name,
          fingerprint: row.fingerprint,
          last4: bank.last4,
          payment_reference: null,
          routing_number: bank.routing_number,
        },
      };
    }
    default:
      throw new Error(`payment method ${row.id} has unknown type ${row.type}`);
  }
}
