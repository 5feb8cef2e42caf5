import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvariantError } from '../lib/assert.ts';
import { LIMITS } from '../lib/limits.ts';
import { feeFor } from './fees.ts';

describe('feeFor', () => {
  test('rate in ppm plus fixed fee, in minor units', () => {
    // 2.9% + 30 on 10.00 = 29 + 30.
    assert.equal(feeFor({ feeRatePpm: 29_000, feeFixed: 30 }, 1000), 59);
    assert.equal(feeFor({ feeRatePpm: 0, feeFixed: 25 }, 123_456), 25);
    assert.equal(feeFor({ feeRatePpm: 1_000_000, feeFixed: 0 }, 777), 777);
    assert.equal(feeFor({ feeRatePpm: 15_000, feeFixed: 0 }, 0), 0);
  });

  test('rounds half up, not to even and not down', () => {
    // 50 * 10_000 ppm = 0.5 → 1; 150 * 10_000 = 1.5 → 2; 250 * 10_000 = 2.5 → 3.
    assert.equal(feeFor({ feeRatePpm: 10_000, feeFixed: 0 }, 50), 1);
    assert.equal(feeFor({ feeRatePpm: 10_000, feeFixed: 0 }, 150), 2);
    assert.equal(feeFor({ feeRatePpm: 10_000, feeFixed: 0 }, 250), 3);
    // 0.49 → 0, 0.51 → 1.
    assert.equal(feeFor({ feeRatePpm: 10_000, feeFixed: 0 }, 49), 0);
    assert.equal(feeFor({ feeRatePpm: 10_000, feeFixed: 0 }, 51), 1);
    // 1 * 499_999 ppm just below half; 1 * 500_000 exactly half.
    assert.equal(feeFor({ feeRatePpm: 499_999, feeFixed: 0 }, 1), 0);
    assert.equal(feeFor({ feeRatePpm: 500_000, feeFixed: 0 }, 1), 1);
  });

  test('exact at the largest amount and rate', () => {
    const max = LIMITS.amountMinorMax;
    assert.equal(feeFor({ feeRatePpm: 1_000_000, feeFixed: 0 }, max), max);
    // 99_999_999 * 29_000 / 1e6 = 2_899_999.971 → 2_900_000.
    assert.equal(feeFor({ feeRatePpm: 29_000, feeFixed: 0 }, max), 2_900_000);
    // 99_999_999 * 1 / 1e6 = 99.999999 → 100.
    assert.equal(feeFor({ feeRatePpm: 1, feeFixed: 0 }, max), 100);
  });

  test('agrees with BigInt arithmetic over the whole domain', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: LIMITS.amountMinorMax }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (amountMinor, feeRatePpm, feeFixed) => {
          const product = BigInt(amountMinor) * BigInt(feeRatePpm);
          const expected = (product * 2n + 1_000_000n) / 2_000_000n + BigInt(feeFixed);
          assert.equal(BigInt(feeFor({ feeRatePpm, feeFixed }, amountMinor)), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('rejects amounts and schedules that are not safe non-negative integers', () => {
    assert.throws(() => feeFor({ feeRatePpm: 1, feeFixed: 0 }, 1.5), InvariantError);
    assert.throws(() => feeFor({ feeRatePpm: 1, feeFixed: 0 }, -1), InvariantError);
    assert.throws(() => feeFor({ feeRatePpm: 1, feeFixed: 0 }, 2 ** 53), InvariantError);
    assert.throws(() => feeFor({ feeRatePpm: 1_000_001, feeFixed: 0 }, 1), InvariantError);
    assert.throws(() => feeFor({ feeRatePpm: 0.5, feeFixed: 0 }, 1), InvariantError);
    assert.throws(() => feeFor({ feeRatePpm: 0, feeFixed: -1 }, 1), InvariantError);
    assert.throws(() => feeFor({ feeRatePpm: 0, feeFixed: Number.NaN }, 1), InvariantError);
  });
});
