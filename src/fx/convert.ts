import type { Executor, Tx } from '../db/database.ts';
import { selectRows } from '../db/insert.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { findCurrency } from '../lib/money.ts';
import { convertMinor, invertRate, parseDecimal } from './decimal.ts';

// Contract between the FX module (rates, conversion) and the ledger, which
// books a capture in the connector's settlement currency.
//
// Decisions (docs/fx.md): a connector without a settlement currency, the
// built-in `sandbox` connector and any pair without a rate settle in the
// presentment currency; so does a conversion that rounds to zero or leaves
// the safe-integer range. settlementFor never throws for missing data: it runs
// inside a capture's posting, after the processor has taken the money.

export interface SettlementInput {
  accountId: string;
  livemode: 0 | 1;
  /** The connector account id (a charge's `connector`); `sandbox` settles in the presentment currency. */
  connectorId: string;
  /** The presentment currency and amount, minor units. */
  currency: string;
  amountMinor: number;
  /** Unix seconds: the rate effective at this time is used. */
  at: number;
}

export interface Settlement {
  /** The settlement currency and amount, minor units. */
  currency: string;
  amountMinor: number;
  /** Null when no conversion happened (same currency). */
  conversion: null | {
    /** Decimal string: 1 unit of the source currency = rate units of `currency`. */
    rate: string;
    fxRateId: string;
    sourceCurrency: string;
    sourceAmountMinor: number;
  };
}

export interface ChosenRate {
  /** 1 unit of base = rate units of quote (already inverted when the stored row is the inverse pair). */
  rate: string;
  fxRateId: string;
  inverse: boolean;
}

/** The latest rate of `base → quote` effective at `at`, or of the inverse pair (1/rate) when there is none. */
export async function findRate(
  db: Executor,
  input: { accountId: string; livemode: 0 | 1; base: string; quote: string; at: number },
): Promise<ChosenRate | undefined> {
  const latest = (base: string, quote: string) =>
    db
      .selectFrom('fx_rates')
      .select(['id', 'rate'])
      .where('account_id', '=', input.accountId)
      .where('livemode', '=', input.livemode)
      .where('base_currency', '=', base)
      .where('quote_currency', '=', quote)
      .where('effective_from', '<=', input.at)
      .orderBy('effective_from', 'desc')
      .limit(1)
      .executeTakeFirst();
  const direct = await latest(input.base, input.quote);
  if (direct) return { rate: direct.rate, fxRateId: direct.id, inverse: false };
  const inverse = await latest(input.quote, input.base);
  if (inverse) return { rate: invertRate(inverse.rate), fxRateId: inverse.id, inverse: true };
  return undefined;
}

async function settlementCurrency(tx: Tx, input: SettlementInput): Promise<string | null> {
  const [row] = await selectRows(tx, 'connector_accounts', ['settlement_currency'], {
    id: input.connectorId,
    account_id: input.accountId,
    livemode: input.livemode,
  });
  return row?.settlement_currency ?? null;
}

/** The amount a connector settles for `amountMinor` in `currency`, read in the posting's transaction. */
export async function settlementFor(tx: Tx, input: SettlementInput): Promise<Settlement> {
  assertSafeInteger(input.amountMinor, 'amountMinor');
  const none: Settlement = {
    currency: input.currency,
    amountMinor: input.amountMinor,
    conversion: null,
  };
  const target = await settlementCurrency(tx, input);
  if (target === null || target === input.currency) return none;
  const chosen = await findRate(tx, {
    accountId: input.accountId,
    livemode: input.livemode,
    base: input.currency,
    quote: target,
    at: input.at,
  });
  if (!chosen) return none;
  const converted = tryConvert(input.amountMinor, chosen.rate, input.currency, target);
  if (converted === undefined || (input.amountMinor !== 0 && converted === 0)) return none;
  return {
    currency: target,
    amountMinor: converted,
    conversion: {
      rate: chosen.rate,
      fxRateId: chosen.fxRateId,
      sourceCurrency: input.currency,
      sourceAmountMinor: input.amountMinor,
    },
  };
}

function tryConvert(amountMinor: number, rate: string, from: string, to: string) {
  const fromCurrency = findCurrency(from);
  const toCurrency = findCurrency(to);
  const parsed = parseDecimal(rate);
  assert(fromCurrency !== undefined, `unknown currency ${from}`);
  assert(toCurrency !== undefined, `unknown currency ${to}`);
  assert(parsed !== undefined, `not a decimal rate: ${rate}`);
  return convertMinor({
    amountMinor,
    rate: parsed,
    fromExponent: fromCurrency.exponent,
    toExponent: toCurrency.exponent,
  });
}

/** Converts with a rate already chosen (a refund reuses its charge's rate). Rounds half away from zero. */
export function convertWithRate(
  amountMinor: number,
  rate: string,
  from: string,
  to: string,
): number {
  const converted = tryConvert(amountMinor, rate, from.toLowerCase(), to.toLowerCase());
  // The charge converted a larger amount with this rate, so a refund cannot overflow: a bug if it does.
  assert(converted !== undefined, `${amountMinor} ${from} × ${rate} leaves the safe-integer range`);
  return converted;
}
