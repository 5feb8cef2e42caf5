import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIMITS } from './limits.ts';
import { allCurrencies, checkAmount, findCurrency, formatMinor } from './money.ts';

const currency = (code: string) => {
  const found = findCurrency(code);
  assert.ok(found, `${code} is known`);
  return found;
};

describe('money', () => {
  test('ISO 4217 exponents: JPY 0, USD 2, KWD 3', () => {
    assert.equal(currency('jpy').exponent, 0);
    assert.equal(currency('usd').exponent, 2);
    assert.equal(currency('eur').exponent, 2);
    assert.equal(currency('kwd').exponent, 3);
    assert.equal(currency('bhd').exponent, 3);
    assert.equal(currency('krw').exponent, 0);
  });

  test('lookups are case-insensitive and codes are lowercase', () => {
    assert.equal(currency('USD').code, 'usd');
    assert.equal(findCurrency('xyz'), undefined);
    assert.equal(findCurrency(''), undefined);
  });

  test('the table is complete and has no currency without a minor unit', () => {
    const all = allCurrencies();
    assert.ok(all.length > 150, `${all.length} currencies`);
    assert.equal(new Set(all.map((c) => c.code)).size, all.length);
    for (const c of all) {
      assert.match(c.code, /^[a-z]{3}$/);
      assert.ok(
        Number.isInteger(c.exponent) && c.exponent >= 0 && c.exponent <= 4,
        `${c.code} ${c.exponent}`,
      );
    }
    for (const code of ['xau', 'xag', 'xdr', 'xts', 'xxx'])
      assert.equal(findCurrency(code), undefined, `${code} has no minor unit`);
    assert.equal(currency('xof').exponent, 0, 'CFA franc is a real currency');
    assert.equal(currency('xcd').exponent, 2);
  });

  test('formatMinor renders minor units in the currency exponent', () => {
    assert.equal(formatMinor(1234, currency('usd')), '12.34');
    assert.equal(formatMinor(5, currency('usd')), '0.05');
    assert.equal(formatMinor(0, currency('usd')), '0.00');
    assert.equal(formatMinor(-1234, currency('usd')), '-12.34');
    assert.equal(formatMinor(1234, currency('jpy')), '1234');
    assert.equal(formatMinor(0, currency('jpy')), '0');
    assert.equal(formatMinor(1234, currency('kwd')), '1.234');
    assert.equal(formatMinor(7, currency('kwd')), '0.007');
    assert.equal(formatMinor(Number.MAX_SAFE_INTEGER, currency('usd')), '90071992547409.91');
  });

  test('checkAmount accepts 1..amountMinorMax safe integers only', () => {
    const usd = currency('usd');
    assert.deepEqual(checkAmount(1, usd), { ok: true });
    assert.deepEqual(checkAmount(LIMITS.amountMinorMax, usd), { ok: true });
    for (const bad of [
      0,
      -1,
      LIMITS.amountMinorMax + 1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 53,
    ]) {
      const result = checkAmount(bad, usd);
      assert.equal(result.ok, false, `${bad} accepted`);
    }
    const tooLarge = checkAmount(LIMITS.amountMinorMax + 1, currency('jpy'));
    assert.ok(!tooLarge.ok && tooLarge.message.includes('99999999 jpy'), JSON.stringify(tooLarge));
  });
});
