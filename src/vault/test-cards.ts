import type { CardBrand } from './card.ts';

// Stripe's documented test payment-method ids, as data. In test mode, using
// one of these ids makes a new payment method from the card number below
// (encrypted like any other card), so the sandbox processor decides the
// outcome from the number alone; its outcome table is keyed by the same
// numbers. In live mode these ids do not exist.

export interface TestCard {
  number: string;
  brand: CardBrand;
  funding: 'credit' | 'debit' | 'prepaid';
  country: string;
  /**
   * Wallet that produced the card, for the wallet test ids. Payrail models
   * wallets the way Stripe does: a `card` payment method whose
   * `card.wallet` says which wallet tokenized it.
   */
  wallet?: 'apple_pay' | 'google_pay';
}

export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  pm_card_visa: { number: '4242424242424242', brand: 'visa', funding: 'credit', country: 'US' },
  pm_card_visa_debit: {
    number: '4000056655665556',
    brand: 'visa',
    funding: 'debit',
    country: 'US',
  },
  pm_card_mastercard: {
    number: '5555555555554444',
    brand: 'mastercard',
    funding: 'credit',
    country: 'US',
  },
  pm_card_mastercard_debit: {
    number: '5200828282828210',
    brand: 'mastercard',
    funding: 'debit',
    country: 'US',
  },
  pm_card_mastercard_prepaid: {
    number: '5105105105105100',
    brand: 'mastercard',
    funding: 'prepaid',
    country: 'US',
  },
  pm_card_amex: { number: '378282246310005', brand: 'amex', funding: 'credit', country: 'US' },
  pm_card_discover: {
    number: '6011111111111117',
    brand: 'discover',
    funding: 'credit',
    country: 'US',
  },
  pm_card_diners: { number: '3056930009020004', brand: 'diners', funding: 'credit', country: 'US' },
  pm_card_jcb: { number: '3566002020360505', brand: 'jcb', funding: 'credit', country: 'JP' },
  pm_card_unionpay: {
    number: '6200000000000005',
    brand: 'unionpay',
    funding: 'credit',
    country: 'CN',
  },
  pm_card_chargeDeclined: {
    number: '4000000000000002',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    number: '4000000000009995',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedLostCard: {
    number: '4000000000009987',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedStolenCard: {
    number: '4000000000009979',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedExpiredCard: {
    number: '4000000000000069',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    number: '4000000000000127',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedProcessingError: {
    number: '4000000000000119',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_chargeDeclinedFraudulent: {
    number: '4100000000000019',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  // Succeeds, then is disputed as fraudulent (src/disputes/sandbox.ts).
  pm_card_createDispute: {
    number: '4000000000000259',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_authenticationRequired: {
    number: '4000002500003155',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  // Stripe's own id for 4000002500003155 (the brief maps pm_card_authenticationRequired to it too;
  // Stripe uses 4000002760003184 for that one). The sandbox authenticates both numbers.
  pm_card_authenticationRequiredOnSetup: {
    number: '4000002500003155',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_threeDSecure2Required: {
    number: '4000000000003220',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
  },
  pm_card_us: { number: '4242424242424242', brand: 'visa', funding: 'credit', country: 'US' },
  pm_card_gb: { number: '4000008260000000', brand: 'visa', funding: 'credit', country: 'GB' },
  // Wallets (Payrail's test ids; Stripe tests wallets through Stripe.js).
  pm_card_visa_apple_pay: {
    number: '4242424242424242',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    wallet: 'apple_pay',
  },
  pm_card_mastercard_google_pay: {
    number: '5555555555554444',
    brand: 'mastercard',
    funding: 'credit',
    country: 'US',
    wallet: 'google_pay',
  },
};

export function testCard(id: string): TestCard | undefined {
  return Object.hasOwn(TEST_CARDS, id) ? TEST_CARDS[id] : undefined;
}

/** Funding and country of a raw number that is one of the test cards (first match). */
export function testCardByNumber(number: string): TestCard | undefined {
  return Object.values(TEST_CARDS).find((card) => card.number === number && !card.wallet);
}
