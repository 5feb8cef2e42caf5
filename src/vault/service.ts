import type { CustomersService } from '../customers/service.ts';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, toJson } from '../db/database.ts';
import { insertRows, selectRow } from '../db/insert.ts';
import type { PaymentMethodsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { previousAttributes } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata, paramName, parseWith } from '../http/validation.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { type EnvelopeCipher, Secret } from '../lib/crypto.ts';
import { ApiError, invalidParam, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { bankName } from './bank.ts';
import { type CardBrand, isExpired, last4 } from './card.ts';
import {
  type BillingDetailsInputValue,
  type CardCreateValue,
  PaymentMethodCreate,
  type PaymentMethodCreateInput,
  type PaymentMethodListInput,
  type PaymentMethodUpdateInput,
} from './schemas.ts';
import {
  type Address,
  type BillingDetails,
  type CardDetails,
  cardDetails,
  chargeDetails,
  EMPTY_ADDRESS,
  sepaDetails,
  serializePaymentMethod,
  usBankDetails,
} from './serialize.ts';
import { type TestCard, testCard, testCardByNumber } from './test-cards.ts';
import type { ChargeInstrument, VaultApi } from './types.ts';

// The vault: payment methods and the only code that decrypts their secret
// parts. A secret part (card number, IBAN, US account number) is stored only
// envelope-encrypted, bound to its row by aad = payment method id; the
// fingerprint is a keyed HMAC scoped to the account. CVCs are never stored.
//
// Wallets follow Stripe: an Apple Pay or Google Pay method is a `card`
// payment method whose `card.wallet` names the wallet. Payrail has no wallet
// decryption yet, so wallet methods exist only through the test ids
// `pm_card_visa_apple_pay` and `pm_card_mastercard_google_pay`.

/** A payment method about to be inserted: everything but id, scope and time. */
interface NewMethod {
  type: 'card' | 'sepa_debit' | 'us_bank_account';
  details: Record<string, unknown>;
  /** The part that is encrypted: card number, IBAN or account number. */
  secret: Secret<string>;
  /** What the fingerprint is computed over (for US accounts: routing and account number). */
  fingerprintOf: Secret<string>;
  billingDetails: BillingDetails;
  metadata: Record<string, string>;
  allowRedisplay: string;
}

/** Stripe names nested parameters `a[b][c]`; `prefix` is `payment_method_data` when nested. */
type ParamNamer = (...path: string[]) => string;
const namer =
  (prefix: string[]): ParamNamer =>
  (...path) =>
    paramName([...prefix, ...path]);

function billingFrom(input: BillingDetailsInputValue | undefined): BillingDetails {
  return mergeBilling(
    { address: { ...EMPTY_ADDRESS }, email: null, name: null, phone: null },
    input,
  );
}

/** Billing details on update: given fields replace, "" clears, address merges per field. */
function mergeBilling(
  current: BillingDetails,
  input: BillingDetailsInputValue | undefined,
): BillingDetails {
  if (!input) return current;
  let address: Address = current.address;
  if (input.address === null) address = { ...EMPTY_ADDRESS };
  else if (input.address) address = { ...current.address, ...input.address };
  return {
    address,
    email: input.email !== undefined ? input.email : current.email,
    name: input.name !== undefined ? input.name : current.name,
    phone: input.phone !== undefined ? input.phone : current.phone,
  };
}

export function createVaultService(deps: {
  db: Db;
  clock: Clock;
  cipher: EnvelopeCipher;
  events: EventsService;
  customers: CustomersService;
}): VaultApi {
  const { db, clock, cipher, events, customers } = deps;

  /** Rejects an expiry in the past or implausibly far ahead, naming the parameter. */
  /**
   * The secret part of rows this process has just written, so that charging a
   * method made by the same request does not decrypt what it just encrypted.
   * Weak: it lives only as long as the row object does.
   */
  const justSealed = new WeakMap<PaymentMethodsTable, Secret<string>>();

  function checkExpiry(expMonth: number, expYear: number, param: ParamNamer): void {
    const yearNow = new Date(clock.nowMs()).getUTCFullYear();
    if (expYear > yearNow + LIMITS.cardExpiryYearsAheadMax) {
      throw new ApiError('invalid_expiry_year', "Your card's expiration year is invalid.", {
        param: param('exp_year'),
      });
    }
    if (isExpired({ expMonth, expYear, nowMs: clock.nowMs() })) {
      throw new ApiError('invalid_expiry_year', "Your card's expiration year is in the past.", {
        param: param('exp_year'),
      });
    }
  }

  function cardMethod(
    card: { number: Secret<string>; expMonth: number; expYear: number; brand: CardBrand },
    extra: { known: TestCard | undefined; cvcProvided: boolean; billing: BillingDetails },
  ): Pick<NewMethod, 'type' | 'details' | 'secret' | 'fingerprintOf'> {
    const digits = card.number.reveal();
    const address = extra.billing.address;
    const details: CardDetails = {
      brand: card.brand,
      checks: {
        address_line1_check: address.line1 ? 'unchecked' : null,
        address_postal_code_check: address.postal_code ? 'unchecked' : null,
        cvc_check: extra.cvcProvided ? 'unchecked' : null,
      },
      country: extra.known?.country ?? null,
      exp_month: card.expMonth,
      exp_year: card.expYear,
      funding: extra.known?.funding ?? 'credit',
      last4: last4(digits),
      wallet: extra.known?.wallet ?? null,
    };
    return {
      type: 'card',
      details: { ...details },
      secret: card.number,
      fingerprintOf: card.number,
    };
  }

  function fromCardInput(card: CardCreateValue, billing: BillingDetails, param: ParamNamer) {
    checkExpiry(card.expMonth, card.expYear, (...p) => param('card', ...p));
    const known = testCardByNumber(card.number.reveal());
    return cardMethod(card, { known, cvcProvided: card.cvcProvided, billing });
  }

  /** Turns a validated create request into a new method; `param` names fields for errors. */
  function fromInput(input: PaymentMethodCreateInput, param: ParamNamer): NewMethod {
    const billingDetails = billingFrom(input.billing_details);
    const common = {
      billingDetails,
      metadata: mergeMetadata({}, input.metadata),
      allowRedisplay: input.allow_redisplay ?? 'unspecified',
    };
    if (input.type === 'card') {
      assert(input.card, 'schema requires card for type card');
      return { ...common, ...fromCardInput(input.card, billingDetails, param) };
    }
    if (input.type === 'sepa_debit') {
      assert(input.sepa_debit, 'schema requires sepa_debit for type sepa_debit');
      const { iban, country, bankCode, branchCode, last4: ibanLast4 } = input.sepa_debit.iban;
      const details = { bank_code: bankCode, branch_code: branchCode, country, last4: ibanLast4 };
      return { ...common, type: 'sepa_debit', details, secret: iban, fingerprintOf: iban };
    }
    assert(input.us_bank_account, 'schema requires us_bank_account for its type');
    const bank = input.us_bank_account;
    const details = {
      account_holder_type: bank.account_holder_type ?? 'individual',
      account_type: bank.account_type ?? 'checking',
      bank_name: bankName(bank.routing_number),
      last4: last4(bank.account_number.reveal()),
      routing_number: bank.routing_number,
    };
    const fingerprintOf = new Secret(`${bank.routing_number}:${bank.account_number.reveal()}`);
    return {
      ...common,
      type: 'us_bank_account',
      details,
      secret: bank.account_number,
      fingerprintOf,
    };
  }

  /** A test id's card, as a new method: this month, next year, like Stripe's test ids. */
  function fromTestCard(card: TestCard): NewMethod {
    const now = new Date(clock.nowMs());
    const billing = billingFrom(undefined);
    const method = cardMethod(
      {
        number: new Secret(card.number),
        expMonth: now.getUTCMonth() + 1,
        expYear: now.getUTCFullYear() + 1,
        brand: card.brand,
      },
      { known: card, cvcProvided: true, billing },
    );
    return { ...method, billingDetails: billing, metadata: {}, allowRedisplay: 'unspecified' };
  }

  async function insert(
    ex: Executor,
    scope: Scope,
    method: NewMethod,
  ): Promise<PaymentMethodsTable> {
    const id = newId('pm', clock.nowMs());
    const row: PaymentMethodsTable = {
      id,
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
      type: method.type,
      customer_id: null,
      billing_details: toJson(method.billingDetails),
      details: toJson(method.details),
      secret_enc: cipher.encrypt(method.secret, id),
      fingerprint: cipher.fingerprint(method.fingerprintOf, scope.accountId),
      allow_redisplay: method.allowRedisplay,
      metadata: toJson(method.metadata),
      created: unixSeconds(clock),
    };
    await insertRows(ex, 'payment_methods', [row]);
    justSealed.set(row, method.secret);
    return row;
  }

  async function find(
    ex: Executor,
    scope: Scope,
    id: string,
  ): Promise<PaymentMethodsTable | undefined> {
    return selectRow(ex, 'payment_methods', {
      id,
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
    });
  }

  /** A method of this scope; in test mode a test id makes a new one (like Stripe). */
  async function lookup(
    ex: Executor,
    scope: Scope,
    id: string,
    param: string,
  ): Promise<PaymentMethodsTable> {
    // A test id is never a stored method's id (those are generated), so in
    // test mode it makes a new method without looking one up first.
    const card = scope.livemode ? undefined : testCard(id);
    if (card) return insert(ex, scope, fromTestCard(card));
    const row = await find(ex, scope, id);
    if (row) return row;
    throw notFound('PaymentMethod', id, param);
  }

  async function create(
    ctx: OpContext,
    input: PaymentMethodCreateInput,
  ): Promise<PaymentMethodsTable> {
    const method = fromInput(input, namer([]));
    return db.transaction().execute(async (tx) => {
      const row = await insert(tx, ctx.scope, method);
      // Like Stripe, creating a payment method emits no event.
      await ctx.complete(tx, row);
      return row;
    });
  }

  async function createFromData(ex: Executor, ctx: OpContext, data: Record<string, unknown>) {
    const prefix = ['payment_method_data'];
    const input = parseWith(PaymentMethodCreate, data, prefix);
    return insert(ex, ctx.scope, fromInput(input, namer(prefix)));
  }

  async function resolveForPayment(ex: Executor, ctx: OpContext, id: string, param: string) {
    return lookup(ex, ctx.scope, id, param);
  }

  async function retrieve(scope: Scope, id: string): Promise<PaymentMethodsTable> {
    return lookup(db, scope, id, 'id');
  }

  function updatedDetails(row: PaymentMethodsTable, input: PaymentMethodUpdateInput): string {
    if (input.card) {
      if (row.type !== 'card')
        throw invalidParam('card', `card cannot be updated on a ${row.type} payment method.`);
      const card = cardDetails(row);
      const expMonth = input.card.exp_month ?? card.exp_month;
      const expYear = input.card.exp_year ?? card.exp_year;
      checkExpiry(expMonth, expYear, (...p) => paramName(['card', ...p]));
      return toJson({ ...card, exp_month: expMonth, exp_year: expYear });
    }
    if (input.us_bank_account) {
      if (row.type !== 'us_bank_account') {
        throw invalidParam(
          'us_bank_account',
          `us_bank_account cannot be updated on a ${row.type} payment method.`,
        );
      }
      const bank = usBankDetails(row);
      const update = input.us_bank_account;
      return toJson({
        ...bank,
        account_holder_type: update.account_holder_type ?? bank.account_holder_type,
        account_type: update.account_type ?? bank.account_type,
      });
    }
    return row.details;
  }

  async function update(ctx: OpContext, id: string, input: PaymentMethodUpdateInput) {
    return db.transaction().execute(async (tx) => {
      const before = await lookup(tx, ctx.scope, id, 'id');
      const after: PaymentMethodsTable = {
        ...before,
        details: updatedDetails(before, input),
        billing_details: toJson(
          mergeBilling(JSON.parse(before.billing_details), input.billing_details),
        ),
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
        allow_redisplay: input.allow_redisplay ?? before.allow_redisplay,
      };
      await tx
        .updateTable('payment_methods')
        .set({
          details: after.details,
          billing_details: after.billing_details,
          metadata: after.metadata,
          allow_redisplay: after.allow_redisplay,
        })
        .where('id', '=', before.id)
        .execute();
      const next = serializePaymentMethod(after);
      const changed = previousAttributes(serializePaymentMethod(before), next);
      if (changed) {
        await events.record(tx, ctx, [
          { type: 'payment_method.updated', object: next, previousAttributes: changed },
        ]);
      }
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function attach(ctx: OpContext, id: string, customerId: string) {
    return db.transaction().execute(async (tx) => {
      const row = await lookup(tx, ctx.scope, id, 'id');
      const customer = await customers.requireActive(tx, ctx.scope, customerId, 'customer');
      if (row.customer_id === customer.id) {
        await ctx.complete(tx, row);
        return row;
      }
      // The condition on customer_id makes a concurrent attach lose cleanly.
      const result = await tx
        .updateTable('payment_methods')
        .set({ customer_id: customer.id })
        .where('id', '=', row.id)
        .where('customer_id', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) {
        throw new ApiError(
          'payment_method_unexpected_state',
          'The payment method you provided has already been attached to a customer.',
          { param: 'id' },
        );
      }
      const after = { ...row, customer_id: customer.id };
      await events.record(tx, ctx, [
        {
          type: 'payment_method.attached',
          object: serializePaymentMethod(after),
          previousAttributes: { customer: null },
        },
      ]);
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function detach(ctx: OpContext, id: string) {
    return db.transaction().execute(async (tx) => {
      const row = await lookup(tx, ctx.scope, id, 'id');
      const notAttached = new ApiError(
        'payment_method_unexpected_state',
        'The payment method you provided is not attached to a customer so detachment is impossible.',
      );
      if (row.customer_id === null) throw notAttached;
      const result = await tx
        .updateTable('payment_methods')
        .set({ customer_id: null })
        .where('id', '=', row.id)
        .where('customer_id', '=', row.customer_id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw notAttached;
      const after = { ...row, customer_id: null };
      await events.record(tx, ctx, [
        {
          type: 'payment_method.detached',
          object: serializePaymentMethod(after),
          previousAttributes: { customer: row.customer_id },
        },
      ]);
      await ctx.complete(tx, after);
      return after;
    });
  }

  async function listForCustomer(
    scope: Scope,
    customerId: string,
    filters: PaymentMethodListInput,
    param: string,
  ) {
    const customer = await customers.find(db, scope, customerId);
    if (!customer) throw notFound('customer', customerId, param);
    let query = db
      .selectFrom('payment_methods')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .where('customer_id', '=', customer.id);
    if (filters.type !== undefined) query = query.where('type', '=', filters.type);
    return paginate(query, filters);
  }

  async function retrieveForCustomer(scope: Scope, customerId: string, id: string) {
    const customer = await customers.find(db, scope, customerId);
    if (!customer) throw notFound('customer', customerId, 'customer');
    const row = await find(db, scope, id);
    if (!row || row.customer_id !== customer.id)
      throw notFound('PaymentMethod', id, 'payment_method');
    return row;
  }

  function instrument(row: PaymentMethodsTable): ChargeInstrument {
    assert(row.secret_enc !== null, `payment method ${row.id} has no secret part`);
    const secret = justSealed.get(row) ?? cipher.decrypt(row.secret_enc, row.id);
    switch (row.type) {
      case 'card': {
        const card = cardDetails(row);
        return {
          type: 'card',
          number: secret,
          brand: card.brand,
          last4: card.last4,
          expMonth: card.exp_month,
          expYear: card.exp_year,
          funding: card.funding,
          country: card.country,
          wallet: card.wallet,
        };
      }
      case 'sepa_debit': {
        const sepa = sepaDetails(row);
        return { type: 'sepa_debit', iban: secret, last4: sepa.last4, country: sepa.country };
      }
      case 'us_bank_account': {
        const bank = usBankDetails(row);
        return {
          type: 'us_bank_account',
          accountNumber: secret,
          routingNumber: bank.routing_number,
          last4: bank.last4,
        };
      }
      default:
        throw new Error(`payment method ${row.id} has unknown type ${row.type}`);
    }
  }

  return {
    resolveForPayment,
    createFromData,
    instrument,
    serialize: serializePaymentMethod,
    chargeDetails,
    retrieve,
    create,
    update,
    attach,
    detach,
    listForCustomer,
    retrieveForCustomer,
  };
}
