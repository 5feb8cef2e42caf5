import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cardNumberProblem,
  cvcLength,
  detectBrand,
  isExpired,
  luhnValid,
  normalizeCardNumber,
  normalizeExpYear,
} from './card.ts';
import { TEST_CARDS } from './test-cards.ts';

describe('card checks', () => {
  test('Luhn accepts valid numbers and rejects a changed digit', () => {
    assert.equal(luhnValid('4242424242424242'), true);
    assert.equal(luhnValid('79927398713'), true);
    assert.equal(luhnValid('4242424242424241'), false);
    assert.equal(luhnValid('79927398710'), false);
    assert.equal(luhnValid('4242a24242424242'), false);
    assert.equal(luhnValid(''), false);
  });

  test('brand by BIN range', () => {
    const cases: Array<[string, string]> = [
      ['4242424242424242', 'visa'],
      ['5555555555554444', 'mastercard'],
      ['2223003122003222', 'mastercard'],
      ['2720990000000005', 'mastercard'],
      ['378282246310005', 'amex'],
      ['371449635398431', 'amex'],
      ['6011111111111117', 'discover'],
      ['6445644564456445', 'discover'],
      ['6500000000000002', 'discover'],
      ['3056930009020004', 'diners'],
      ['36227206271667', 'diners'],
      ['3566002020360505', 'jcb'],
      ['6200000000000005', 'unionpay'],
      ['8100000000000000', 'unionpay'],
      ['9999999999999995', 'unknown'],
      ['2721000000000000', 'unknown'],
    ];
    for (const [number, brand] of cases) assert.equal(detectBrand(number), brand, number);
  });

  test('lengths per brand: invalid_number; failed Luhn: incorrect_number', () => {
    assert.equal(cardNumberProblem('4242424242424242'), null);
    assert.equal(cardNumberProblem('4242424242424241'), 'incorrect_number');
    assert.equal(cardNumberProblem('37828224631000'), 'invalid_number', 'amex must be 15 digits');
    assert.equal(
      cardNumberProblem('55555555555544'),
      'invalid_number',
      'mastercard must be 16 digits',
    );
    assert.equal(cardNumberProblem('42424242424'), 'invalid_number', 'too short');
    assert.equal(cardNumberProblem('42424242424242424242'), 'invalid_number', 'too long');
    assert.equal(cardNumberProblem('4242-4242'), 'invalid_number');
  });

  test('every test card is a valid number of its brand', () => {
    for (const [id, card] of Object.entries(TEST_CARDS)) {
      assert.equal(cardNumberProblem(card.number), null, id);
      assert.equal(detectBrand(card.number), card.brand, id);
    }
  });

  test('cvc length, normalization and expiry', () => {
    assert.equal(cvcLength('amex'), 4);
    assert.equal(cvcLength('visa'), 3);
    assert.equal(cvcLength('unknown'), 3);
    assert.equal(normalizeCardNumber('4242 4242-4242 4242'), '4242424242424242');
    assert.equal(normalizeExpYear(30), 2030);
    assert.equal(normalizeExpYear(2031), 2031);
    const nowMs = Date.UTC(2026, 4, 15); // May 2026
    assert.equal(isExpired({ expMonth: 5, expYear: 2026, nowMs }), false);
    assert.equal(isExpired({ expMonth: 4, expYear: 2026, nowMs }), true);
    assert.equal(isExpired({ expMonth: 12, expYear: 2025, nowMs }), true);
    assert.equal(isExpired({ expMonth: 1, expYear: 2027, nowMs }), false);
  });
});
