import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { LIMITS } from '../lib/limits.ts';
import { convertWithRate } from './convert.ts';
import {
  canonicalRate,
  convertMinor,
  divRoundHalfAway,
  formatDecimal,
  invertRate,
  parseDecimal,
  rateProblem,
} from './decimal.ts';

// A rate as the API accepts it: up to 7 integer digits and 12 decimals, > 0.
const rateArb = fc
  .tuple(fc.bigInt({ min: 0n, max: 9_999_999n }), fc.bigInt({ min: 0n, max: 10n ** 12n - 1n }))
  .filter(([w, f]) => w > 0n || f > 0n)
  .map(([w, f]) => `${w}.${f.toString().padStart(12, '0')}`);

describe('fx decimal arithmetic', () => {
  test('rates: accepted and refused forms', () => {
    for (const ok of ['1', '0.5', '1.0834', '0.000000000001', '9999999.999999999999', '0150']) {
      assert.equal(rateProblem(ok), undefined, ok);
    }
    for (const bad of [
      '0',
      '0.000',
      '-1',
      '1e5',
      '.5',
      '1.',
      '1,5',
      ' 1',
      '12345678',
      '1.0000000000001',
      'abc',
      '',
    ]) {
      assert.ok(rateProblem(bad), bad);
    }
    assert.equal(canonicalRate('0150.2500'), '150.25');
    assert.equal(canonicalRate('1.000'), '1');
    assert.equal(formatDecimal({ coefficient: 5n, scale: 3 }), '0.005');
  });

  test('converts across exponents (JPY 0, USD 2, KWD 3) and rounds half away from zero', () => {
    const rate = (text: string) => {
      const parsed = parseDecimal(text);
      assert.ok(parsed);
      return parsed;
    };
    // 1 cent at 150 JPY/USD = 1.5 yen → 2; minus one cent → −2 (away from zero, not up).
    assert.equal(
      convertMinor({ amountMinor: 1, rate: rate('150'), fromExponent: 2, toExponent: 0 }),
      2,
    );
    assert.equal(
      convertMinor({ amountMinor: -1, rate: rate('150'), fromExponent: 2, toExponent: 0 }),
      -2,
    );
    // 2.5 cents → 3, 2.4999 → 2.
    assert.equal(
      convertMinor({ amountMinor: 5, rate: rate('0.5'), fromExponent: 2, toExponent: 2 }),
      3,
    );
    assert.equal(
      convertMinor({ amountMinor: 24_999, rate: rate('0.0001'), fromExponent: 2, toExponent: 2 }),
      2,
    );
    // 1000 yen at 0.0067 USD/JPY = 6.70 USD.
    assert.equal(convertWithRate(1000, '0.0067', 'jpy', 'usd'), 670);
    // 10.00 USD at 0.3075 KWD/USD = 3.075 KWD = 3075 fils.
    assert.equal(convertWithRate(1000, '0.3075', 'usd', 'kwd'), 3075);
    // 1.234 KWD at 487.5 JPY/KWD = 601.575 → 602 yen.
    assert.equal(convertWithRate(1234, '487.5', 'KWD', 'JPY'), 602);
  });

  test('conversion agrees with exact rational arithmetic (property)', () => {
    const exponents = fc.constantFrom(0, 2, 3);
    fc.assert(
      fc.property(
        fc.integer({ min: -LIMITS.amountMinorMax, max: LIMITS.amountMinorMax }),
        rateArb,
        exponents,
        exponents,
        (amountMinor, rateText, fromExponent, toExponent) => {
          const rate = parseDecimal(rateText);
          assert.ok(rate);
          const result = convertMinor({ amountMinor, rate, fromExponent, toExponent });
          // exact = N / D
          const N = BigInt(amountMinor) * rate.coefficient * 10n ** BigInt(toExponent);
          const D = 10n ** BigInt(rate.scale + fromExponent);
          if (result === undefined) {
            assert.ok(
              N / D > BigInt(Number.MAX_SAFE_INTEGER) || -N / D > BigInt(Number.MAX_SAFE_INTEGER),
            );
            return;
          }
          const r = BigInt(result);
          const twiceError = 2n * (N - r * D);
          const abs = (x: bigint) => (x < 0n ? -x : x);
          assert.ok(abs(twiceError) <= D, 'within half a minor unit');
          if (abs(twiceError) === D) assert.ok(abs(r) * D > abs(N), 'a tie goes away from zero');
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('divRoundHalfAway is symmetric around zero', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        (n, d) => {
          assert.equal(divRoundHalfAway(-n, d), -divRoundHalfAway(n, d));
        },
      ),
    );
  });

  test('inverse rates keep 12 significant digits and round-trip (property)', () => {
    assert.equal(invertRate('4'), '0.25');
    assert.equal(invertRate('3'), '0.333333333333');
    assert.equal(invertRate('0.0067'), '149.253731343');
    assert.equal(invertRate('0.000000000001'), '1000000000000');
    assert.equal(invertRate('1.5'), '0.666666666667');
    fc.assert(
      fc.property(rateArb, (rateText) => {
        const inverse = invertRate(rateText);
        const parsed = parseDecimal(inverse);
        assert.ok(parsed);
        const significant = parsed.coefficient.toString().replace(/0+$/, '').length;
        assert.ok(
          significant <= LIMITS.fxInverseSignificantDigits,
          `${inverse} has ${significant}`,
        );
        // |inverse × rate − 1| ≤ half a unit in the 12th significant digit, relative: < 1e-11.
        const rate = parseDecimal(rateText);
        assert.ok(rate);
        const product = parsed.coefficient * rate.coefficient; // scaled by 10^(s1+s2)
        const one = 10n ** BigInt(parsed.scale + rate.scale);
        const diff = product > one ? product - one : one - product;
        assert.ok(diff * 10n ** 11n <= one, `${rateText} × ${inverse} too far from 1`);
      }),
      { numRuns: 2000 },
    );
  });
});
