import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseAdyenSettlementReport } from './adyen-report.ts';
import { parseCamt053 } from './camt053.ts';
import { parseStripeBalanceReport } from './stripe-report.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures/reconciliation');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe('Stripe itemized balance change report', () => {
  test('parses amounts exactly in each currency exponent, quotes and references', () => {
    const { lines } = parseStripeBalanceReport(fixture('stripe-valid.csv'));
    assert.equal(lines.length, 4);
    const [charge, refund, jpy, payout] = lines;
    assert.ok(charge && refund && jpy && payout);
    assert.deepEqual(
      [charge.lineNumber, charge.category, charge.amountMinor, charge.feeMinor, charge.netMinor],
      [2, 'charge', 10_000, 320, 9_680],
    );
    assert.equal(charge.description, 'Order 1, two items');
    assert.deepEqual(charge.chargeRefs, ['ch_1A', 'pi_1A']);
    assert.equal(charge.occurredAt, Date.UTC(2024, 4, 1, 10) / 1000);
    assert.deepEqual(
      [refund.category, refund.amountMinor, refund.refundRefs],
      ['refund', -500, ['re_1B']],
    );
    assert.deepEqual(refund.chargeRefs, []);
    assert.deepEqual([jpy.currency, jpy.amountMinor, jpy.feeMinor], ['jpy', 1500, 45]);
    assert.deepEqual(
      [payout.category, payout.amountMinor, payout.reference],
      ['payout', -9180, 'txn_1D'],
    );
  });

  test('header order is free and extra columns are ignored', () => {
    const text =
      'extra,net,fee,gross,currency,reporting_category,created_utc,balance_transaction_id\nx,0.97,0.03,1.00,eur,charge,2024-01-01 00:00:00,txn_9\n';
    const [line] = parseStripeBalanceReport(text).lines;
    assert.deepEqual([line?.currency, line?.amountMinor, line?.netMinor], ['eur', 100, 97]);
  });

  test('a bad amount names the line and field', () => {
    assert.throws(() => parseStripeBalanceReport(fixture('stripe-bad-amount.csv')), {
      message: 'line 4, field "gross": not a decimal amount ("ten")',
    });
  });

  test('missing required columns are named', () => {
    assert.throws(() => parseStripeBalanceReport(fixture('stripe-missing-columns.csv')), {
      message: 'missing required columns: "fee", "net"',
    });
  });

  test('an unknown currency code names the line', () => {
    assert.throws(() => parseStripeBalanceReport(fixture('stripe-unknown-currency.csv')), {
      message: 'line 3, field "currency": unknown currency code "zzz"',
    });
  });

  test('net must be gross minus fee; dates must be real', () => {
    const head = 'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n';
    assert.throws(
      () => parseStripeBalanceReport(`${head}t,2024-01-01 00:00:00,usd,1.00,0.10,0.80,charge\n`),
      { message: 'line 2, field "net": net is not gross minus fee' },
    );
    assert.throws(
      () => parseStripeBalanceReport(`${head}t,2024-02-30 00:00:00,usd,1.00,0.10,0.90,charge\n`),
      /line 2, field "created_utc": no such date/,
    );
    assert.throws(() => parseStripeBalanceReport(''), /empty/);
    assert.throws(() => parseStripeBalanceReport(`${head}"unclosed,1\n`), /not a valid CSV file/);
  });
});

describe('Adyen settlement details report', () => {
  test('gross, fee and net per type; references per type; time zones', () => {
    const { lines } = parseAdyenSettlementReport(fixture('adyen-valid.csv'));
    const [settled, refunded, fee, payout] = lines;
    assert.ok(settled && refunded && fee && payout);
    assert.deepEqual(
      [settled.category, settled.currency, settled.amountMinor, settled.feeMinor, settled.netMinor],
      ['charge', 'eur', 10_000, 250, 9_750],
    );
    assert.deepEqual(settled.chargeRefs, ['8815000000000001', 'pa_0001']);
    // 12:00 CEST is 10:00 UTC.
    assert.equal(settled.occurredAt, Date.UTC(2024, 4, 1, 10) / 1000);
    assert.deepEqual(
      [refunded.category, refunded.amountMinor, refunded.feeMinor, refunded.reference],
      ['refund', -1_000, 12, '8825000000000002'],
    );
    assert.deepEqual(refunded.refundRefs, ['8825000000000002', 'pa_0002']);
    assert.deepEqual([fee.category, fee.amountMinor, fee.feeMinor], ['fee', -150, null]);
    assert.deepEqual([payout.category, payout.amountMinor], ['payout', -8_588]);
    const total = lines.reduce((sum, l) => sum + (l.netMinor ?? 0), 0);
    assert.equal(total, 0, 'the nets of a paid-out batch sum to zero');
  });

  test('an unknown time zone names the line and field', () => {
    assert.throws(() => parseAdyenSettlementReport(fixture('adyen-bad-timezone.csv')), {
      message: 'line 2, field "TimeZone": unknown time zone "XYZT"',
    });
  });
});

describe('camt.053 bank statement', () => {
  test('version 02: entries, references, statuses', () => {
    const { lines } = parseCamt053(fixture('camt053-v02.xml'));
    assert.equal(lines.length, 3);
    const [credit, debit, pending] = lines;
    assert.ok(credit && debit && pending);
    assert.deepEqual(
      [credit.category, credit.amountMinor, credit.currency, credit.reference],
      ['bank_credit', 8_588, 'eur', 'BANKREF-1'],
    );
    assert.equal(credit.bank?.remittance, 'PAYRAIL stb_0000000000000000000000000');
    assert.equal(credit.occurredAt, Date.UTC(2024, 4, 3) / 1000);
    assert.deepEqual(
      [debit.category, debit.amountMinor, debit.bank?.endToEndId, debit.bank?.returnReason],
      ['bank_debit', -5_000, 'po_000000000000000000000000', null],
    );
    assert.deepEqual([pending.bank?.status, pending.description], ['PDNG', 'Pending card fee']);
  });

  test('version 08: status code element, date-times with offsets, returns', () => {
    const [entry] = parseCamt053(fixture('camt053-v08.xml')).lines;
    assert.ok(entry);
    assert.deepEqual(
      [entry.bank?.status, entry.bank?.creditDebit, entry.bank?.returnReason, entry.amountMinor],
      ['BOOK', 'CRDT', 'AC04', 2_500],
    );
    assert.equal(entry.occurredAt, Date.UTC(2024, 4, 4, 7, 30) / 1000);
  });

  test('a statement that does not add up is rejected, naming it', () => {
    assert.throws(() => parseCamt053(fixture('camt053-unbalanced.xml')), {
      message:
        'statement "STMT-2024-05-03": opening balance 1000.00 + booked entries 35.88 = 1035.88, but the closing balance is 1035.00 EUR',
    });
  });

  test('malformed XML is rejected with the position', () => {
    assert.throws(
      () => parseCamt053(fixture('camt053-malformed.xml')),
      /^FileRejection: malformed XML at line 20, column \d+: .*AcctSvcrRef/,
    );
  });

  test('other documents, DOCTYPEs and bad amounts are rejected', () => {
    assert.throws(
      () => parseCamt053('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"/>'),
      /not a camt.053 statement/,
    );
    assert.throws(() => parseCamt053('<!DOCTYPE x [<!ENTITY a "b">]><Document/>'), /DOCTYPE/);
    const bad = fixture('camt053-v02.xml').replace(
      '<Amt Ccy="EUR">50.00</Amt>',
      '<Amt Ccy="EUR">5O.00</Amt>',
    );
    assert.throws(() => parseCamt053(bad), {
      message: 'statement "STMT-2024-05-03", entry 2, field "Amt": not a decimal amount ("5O.00")',
    });
    const currency = fixture('camt053-v02.xml').replace(
      '<Amt Ccy="EUR">50.00</Amt>',
      '<Amt Ccy="EUX">50.00</Amt>',
    );
    assert.throws(
      () => parseCamt053(currency),
      /entry 2, field "Amt\/@Ccy": unknown currency code "EUX"/,
    );
  });
});
