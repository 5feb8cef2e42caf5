import type { Tx } from '../db/database.ts';

// Contract between the FX module (rates, conversion) and the ledger, which
// books a capture in the connector's settlement currency.
// STUB: the FX work fills this in; until then nothing is converted.

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

/** The amount a connector settles for `amountMinor` in `currency`, read in the posting's transaction. */
export async function settlementFor(_tx: Tx, input: SettlementInput): Promise<Settlement> {
  return { currency: input.currency, amountMinor: input.amountMinor, conversion: null };
}

/** Converts with a rate already chosen (a refund reuses its charge's rate). Rounds half away from zero. */
export function convertWithRate(
  _amountMinor: number,
  _rate: string,
  _from: string,
  _to: string,
): number {
  throw new Error('convertWithRate: not implemented yet');
}
