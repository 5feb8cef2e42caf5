import { assert, assertSafeInteger } from '../lib/assert.ts';

// What a connector charges for one payment, from its fee schedule: a rate in
// parts per million of the amount plus a fixed fee, both in the payment's
// minor unit. Used by the `lowest_cost` strategy.

const PPM = 1_000_000;

/**
 * Fee in minor units: round-half-up of amountMinor * feeRatePpm / 1e6, plus
 * feeFixed. Exact integer arithmetic: with amounts ≤ 99,999,999 and rates
 * ≤ 1e6 ppm the product stays below 2^53, so no float rounding can creep in.
 */
export function feeFor(
  connector: { feeRatePpm: number; feeFixed: number },
  amountMinor: number,
): number {
  assertSafeInteger(amountMinor, 'amountMinor');
  assertSafeInteger(connector.feeRatePpm, 'feeRatePpm');
  assertSafeInteger(connector.feeFixed, 'feeFixed');
  assert(amountMinor >= 0, `amountMinor must not be negative, got ${amountMinor}`);
  assert(
    connector.feeRatePpm >= 0 && connector.feeRatePpm <= PPM,
    `feeRatePpm must be within 0..${PPM}, got ${connector.feeRatePpm}`,
  );
  assert(connector.feeFixed >= 0, `feeFixed must not be negative, got ${connector.feeFixed}`);
  const product = amountMinor * connector.feeRatePpm;
  assertSafeInteger(product, 'amountMinor * feeRatePpm');
  // Integer division with the remainder deciding the half-up rounding.
  const remainder = product % PPM;
  const quotient = (product - remainder) / PPM;
  const rateFee = remainder * 2 >= PPM ? quotient + 1 : quotient;
  const fee = rateFee + connector.feeFixed;
  assertSafeInteger(fee, 'fee');
  return fee;
}
