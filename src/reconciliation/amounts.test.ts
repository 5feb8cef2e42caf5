import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currencyAt, decimalToMinor, minorToDecimal } from './amounts.ts';

describe('reconciliation amounts', () => {
  test('decimal major units to minor units, exactly', () => {
    assert.equal(decimalToMinor('10.00', 2, 'x'), 1000);
    assert.equal(decimalToMinor('-3.50', 2, 'x'), -350);
    assert.equal(decimalToMinor('-3.5', 2, 'x'), -350);
    assert.equal(decimalToMinor('+0.07', 2, 'x'), 7);
    assert.equal(decimalToMinor('1500', 0, 'x'), 1500);
    assert.equal(decimalToMinor('1.234', 3, 'x'), 1234);
    assert.equal(decimalToMinor('10.000', 2, 'x'), 1000);
    // 0.1 + 0.2 style float errors cannot happen: 1.15 * 100 is 114.99999999999999 as a float.
    assert.equal(decimalToMinor('1.15', 2, 'x'), 115);
    assert.equal(decimalToMinor('90071992547409.91', 2, 'x'), 9007199254740991);
  });

  test('rejections name where and why', () => {
    assert.throws(() => decimalToMinor('ten', 2, 'line 3, field "gross"'), {
      message: 'line 3, field "gross": not a decimal amount ("ten")',
    });
    assert.throws(
      () => decimalToMinor('1.005', 2, 'w'),
      /more decimal places than the currency allows \(2\)/,
    );
    assert.throws(() => decimalToMinor('1.5', 0, 'w'), /allows \(0\)/);
    assert.throws(() => decimalToMinor('10,50', 2, 'w'), /not a decimal amount/);
    assert.throws(() => decimalToMinor('', 2, 'w'), /not a decimal amount/);
    assert.throws(() => decimalToMinor('90071992547409.92', 2, 'w'), /too large/);
    assert.throws(() => currencyAt('zzz', 'line 2, field "currency"'), {
      message: 'line 2, field "currency": unknown currency code "zzz"',
    });
    assert.throws(() => currencyAt('XAU', 'w'), /unknown currency/);
    assert.deepEqual(currencyAt('JPY', 'w'), { code: 'jpy', exponent: 0 });
  });

  test('minor units back to decimal text', () => {
    assert.equal(minorToDecimal(-5, 2), '-0.05');
    assert.equal(minorToDecimal(123456, 2), '1234.56');
    assert.equal(minorToDecimal(1500, 0), '1500');
  });
});
