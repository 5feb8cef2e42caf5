import type { OpContext, Scope } from '../db/context.ts';
import type { Executor } from '../db/database.ts';
import type { PaymentMethodsTable } from '../db/schema.ts';
import type { Secret } from '../lib/crypto.ts';
import type {
  PaymentMethodCreateInput,
  PaymentMethodListInput,
  PaymentMethodUpdateInput,
} from './schemas.ts';

// The contract between the vault and the modules that charge payment
// methods (payments, refunds). The vault owns payment_methods rows and the
// encryption of their secret parts; nobody else decrypts.

// 'wallet' is kept for the contract but never produced: like Stripe, an Apple
// Pay or Google Pay method is a `card` whose `card.wallet` names the wallet
// (see test-cards.ts), and its instrument is `type: 'card'` with `wallet` set.
export type PaymentMethodType = 'card' | 'sepa_debit' | 'us_bank_account' | 'wallet';

/** What a connector needs to charge a method; secret parts stay wrapped in Secret. */
export type ChargeInstrument =
  | {
      type: 'card';
      number: Secret<string>;
      brand: string;
      last4: string;
      expMonth: number;
      expYear: number;
      funding: string;
      country: string | null;
      /** Set when a wallet (Apple Pay, Google Pay) tokenized the card; the number is then the wallet's. */
      wallet?: 'apple_pay' | 'google_pay' | null;
    }
  | { type: 'sepa_debit'; iban: Secret<string>; last4: string; country: string | null }
  | { type: 'us_bank_account'; accountNumber: Secret<string>; routingNumber: string; last4: string }
  | { type: 'wallet'; wallet: string; token: Secret<string> };

/** `payment_method_data` on a payment intent: the same fields as creating a payment method. */
export type PaymentMethodData = Record<string, unknown>;

export interface VaultService {
  /**
   * The payment method `id` of this scope, ready to be used by a payment:
   * in test mode a documented test id (`pm_card_visa`, ...) makes a new
   * payment method from that test card, like Stripe. Throws ApiError
   * resource_missing naming `param` when it does not exist.
   */
  resolveForPayment(
    ex: Executor,
    ctx: OpContext,
    id: string,
    param: string,
  ): Promise<PaymentMethodsTable>;
  /** Creates a payment method from `payment_method_data` (validated here; errors name `payment_method_data[...]`). */
  createFromData(
    ex: Executor,
    ctx: OpContext,
    data: PaymentMethodData,
  ): Promise<PaymentMethodsTable>;
  /** Decrypts the instrument for a connector call. */
  instrument(row: PaymentMethodsTable): ChargeInstrument;
  /** Stripe's `payment_method` object. */
  serialize(row: PaymentMethodsTable): Record<string, unknown>;
  /** Stripe's `payment_method_details` on a charge (no secrets). */
  chargeDetails(row: PaymentMethodsTable): Record<string, unknown>;
  retrieve(scope: Scope, id: string): Promise<PaymentMethodsTable>;
}

/** Everything the vault's own routes use, beyond the contract above. */
export interface VaultApi extends VaultService {
  create(ctx: OpContext, input: PaymentMethodCreateInput): Promise<PaymentMethodsTable>;
  update(ctx: OpContext, id: string, input: PaymentMethodUpdateInput): Promise<PaymentMethodsTable>;
  attach(ctx: OpContext, id: string, customerId: string): Promise<PaymentMethodsTable>;
  detach(ctx: OpContext, id: string): Promise<PaymentMethodsTable>;
  /** A customer's payment methods, newest first; resource_missing naming `param` for an unknown customer. */
  listForCustomer(
    scope: Scope,
    customerId: string,
    filters: PaymentMethodListInput,
    param: string,
  ): Promise<{ rows: PaymentMethodsTable[]; hasMore: boolean }>;
  /** One payment method of a customer (GET /v1/customers/:customer/payment_methods/:id). */
  retrieveForCustomer(scope: Scope, customerId: string, id: string): Promise<PaymentMethodsTable>;
}
