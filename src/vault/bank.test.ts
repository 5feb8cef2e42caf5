import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { abaRoutingValid, parseSepaIban } from './bank.ts';

describe('bank checks', () => {
  test('ABA routing checksum', () => {
    for (const routing of ['110000000', '011000015', '021000021', '111000025', '026009593']) {
      assert.equal(abaRoutingValid(routing), true, routing);
    }
    for (const routing of ['110000001', '021000022', '12345678', '1234567890', '11000000a']) {
      assert.equal(abaRoutingValid(routing), false, routing);
    }
  });

  test('SEPA IBANs: parsed, with bank and branch codes', () => {
    const de = parseSepaIban('de89 3704 0044 0532 0130 00');
    assert.deepEqual(de, {
      iban: 'DE89370400440532013000',
      country: 'DE',
      bankCode: '37040044',
      branchCode: null,
      last4: '3000',
    });
    const fr = parseSepaIban('FR1420041010050500013M02606');
    assert.ok(typeof fr === 'object');
    assert.equal(fr.bankCode, '20041');
    assert.equal(fr.branchCode, '01005');
  });

  test('bad and non-SEPA IBANs', () => {
    assert.equal(parseSepaIban('DE89370400440532013001'), 'invalid');
    assert.equal(parseSepaIban('not an iban'), 'invalid');
    assert.equal(parseSepaIban(''), 'invalid');
    // Brazil has IBANs but is not in SEPA.
    assert.equal(parseSepaIban('BR1800360305000010009795493C1'), 'not_sepa');
  });
});
