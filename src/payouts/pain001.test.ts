import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { buildPain001, controlSum, majorAmount, type Pain001Transfer, xmlText } from './pain001.ts';

const debtor = { name: 'Operator', iban: 'DE02120300000000202051', bic: 'BYLADEM1001' };

function transfer(over: Partial<Pain001Transfer>): Pain001Transfer {
  return {
    endToEndId: 'po_1',
    amountMinor: 100,
    currency: 'eur',
    executionDate: '2030-01-02',
    creditorName: 'Jane',
    creditorIban: 'DE89370400440532013000',
    creditorBic: null,
    remittance: 'Payout',
    ...over,
  };
}

describe('pain.001 builder', () => {
  test('amounts use the currency exponent, as exact decimal strings', () => {
    assert.equal(majorAmount(1, 'eur'), '0.01');
    assert.equal(majorAmount(123_456, 'eur'), '1234.56');
    assert.equal(majorAmount(500, 'jpy'), '500');
    assert.equal(majorAmount(1_001, 'kwd'), '1.001');
    assert.equal(majorAmount(Number.MAX_SAFE_INTEGER, 'eur'), '90071992547409.91');
    assert.throws(() => majorAmount(0, 'eur'));
    assert.throws(() => majorAmount(1.5, 'eur'));
  });

  test('control sums add different exponents without floats', () => {
    const sum = controlSum([
      { amountMinor: 10, currency: 'eur' },
      { amountMinor: 20, currency: 'eur' },
      { amountMinor: 5, currency: 'jpy' },
      { amountMinor: 1, currency: 'kwd' },
    ]);
    // 0.10 + 0.20 + 5 + 0.001 (0.1 + 0.2 in floats would not be 0.3)
    assert.equal(sum, '5.301');
    assert.equal(controlSum([{ amountMinor: 7, currency: 'jpy' }]), '7');
  });

  test('text is escaped and cut to the limit in characters, not bytes', () => {
    assert.equal(xmlText(`a&b<c>"d'`, 70), 'a&amp;b&lt;c&gt;&quot;d&apos;');
    assert.equal(xmlText('ü'.repeat(80), 70), 'ü'.repeat(70));
    assert.equal(xmlText('a\u0001b', 10), 'a b');
  });

  test('one PmtInf per currency and execution date; SEPA only for euros', () => {
    const xml = buildPain001({
      messageId: 'MSG1',
      createdAt: new Date('2030-01-01T10:00:00Z'),
      debtor,
      transfers: [
        transfer({ endToEndId: 'po_a' }),
        transfer({ endToEndId: 'po_b', executionDate: '2030-01-03' }),
        transfer({ endToEndId: 'po_c', currency: 'gbp', creditorBic: 'NWBKGB2L' }),
        transfer({ endToEndId: 'po_d', amountMinor: 250 }),
      ],
    });
    const doc = new XMLParser({
      ignoreAttributes: false,
      parseTagValue: false,
      isArray: (n) => n === 'PmtInf' || n === 'CdtTrfTxInf',
    }).parse(xml).Document.CstmrCdtTrfInitn;
    assert.equal(doc.GrpHdr.NbOfTxs, '4');
    assert.equal(doc.GrpHdr.CtrlSum, '5.50');
    assert.equal(doc.GrpHdr.CreDtTm, '2030-01-01T10:00:00');
    const blocks = doc.PmtInf.map((p: any) => [
      p.PmtInfId,
      p.ReqdExctnDt,
      p.NbOfTxs,
      p.CtrlSum,
      p.PmtTpInf?.SvcLvl?.Cd ?? null,
      p.ChrgBr,
      p.CdtTrfTxInf.map((c: any) => c.PmtId.EndToEndId).join(','),
    ]);
    assert.deepEqual(blocks, [
      ['MSG1-1', '2030-01-02', '2', '3.50', 'SEPA', 'SLEV', 'po_a,po_d'],
      ['MSG1-2', '2030-01-03', '1', '1.00', 'SEPA', 'SLEV', 'po_b'],
      ['MSG1-3', '2030-01-02', '1', '1.00', null, 'SHAR', 'po_c'],
    ]);
    // No BIC: no creditor agent (the IBAN routes a SEPA transfer).
    assert.equal(doc.PmtInf[0].CdtTrfTxInf[0].CdtrAgt, undefined);
    assert.equal(doc.PmtInf[2].CdtTrfTxInf[0].CdtrAgt.FinInstnId.BIC, 'NWBKGB2L');
  });

  test('an empty file or an over-long message id is a bug', () => {
    const base = { messageId: 'M', createdAt: new Date(), debtor, transfers: [transfer({})] };
    assert.throws(() => buildPain001({ ...base, transfers: [] }));
    assert.throws(() => buildPain001({ ...base, messageId: 'X'.repeat(36) }));
  });
});
