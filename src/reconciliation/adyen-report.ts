import { currencyAt, decimalToMinor } from './amounts.ts';
import { at, type CsvRecord, readCsv, requireField } from './csv.ts';
import { parseDateTime, zoneOffsetMin } from './dates.ts';
import type { LineCategory, ParsedReport, ReportLine } from './types.ts';

// Adyen's Settlement details report: one row per booking in a payable batch.
// Payment rows carry gross amounts in the gross currency (GC) and net amounts
// and fees in the net (settlement) currency (NC); batch rows (fees, payouts)
// carry only net amounts. An empty amount column means zero.

const REQUIRED = [
  'Psp Reference',
  'Merchant Reference',
  'Creation Date',
  'TimeZone',
  'Type',
  'Modification Reference',
  'Gross Currency',
  'Gross Debit (GC)',
  'Gross Credit (GC)',
  'Net Currency',
  'Net Debit (NC)',
  'Net Credit (NC)',
  'Commission (NC)',
  'Markup (NC)',
  'Scheme Fees (NC)',
  'Interchange (NC)',
] as const;

const OPTIONAL = [
  'Company Account',
  'Merchant Account',
  'Payment Method',
  'Exchange Rate',
  'Payment Method Variant',
  'Modification Merchant Reference',
  'Batch Number',
] as const;

const FEE_COLUMNS = ['Commission (NC)', 'Markup (NC)', 'Scheme Fees (NC)', 'Interchange (NC)'];

function category(type: string): LineCategory {
  switch (type) {
    case 'Settled':
      return 'charge';
    case 'Refunded':
      return 'refund';
    case 'Chargeback':
    case 'SecondChargeback':
    case 'ChargebackReversed':
      return 'chargeback';
    case 'MerchantPayout':
      return 'payout';
    case 'Fee':
    case 'MiscCosts':
    case 'PaymentCost':
    case 'InvoiceDeduction':
      return 'fee';
    default:
      return 'other';
  }
}

function present(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}

/** An amount column in `exponent` decimals; empty is zero. */
function amountOf(record: CsvRecord, column: string, exponent: number): number {
  const text = record.get(column);
  return text === '' ? 0 : decimalToMinor(text, exponent, at(record, column));
}

interface Amounts {
  currency: string;
  amountMinor: number;
  feeMinor: number | null;
  netMinor: number;
}

function amounts(record: CsvRecord): Amounts {
  const net = currencyAt(requireField(record, 'Net Currency'), at(record, 'Net Currency'));
  const netMinor =
    amountOf(record, 'Net Credit (NC)', net.exponent) -
    amountOf(record, 'Net Debit (NC)', net.exponent);
  const grossCode = record.get('Gross Currency');
  if (grossCode === '')
    return { currency: net.code, amountMinor: netMinor, feeMinor: null, netMinor };
  const gross = currencyAt(grossCode, at(record, 'Gross Currency'));
  const amountMinor =
    amountOf(record, 'Gross Credit (GC)', gross.exponent) -
    amountOf(record, 'Gross Debit (GC)', gross.exponent);
  // Same currency: the fee is exactly what was withheld. Converted: the fee columns.
  const feeMinor =
    gross.code === net.code
      ? amountMinor - netMinor
      : FEE_COLUMNS.reduce((sum, column) => sum + amountOf(record, column, net.exponent), 0);
  return { currency: gross.code, amountMinor, feeMinor, netMinor };
}

function parseRecord(record: CsvRecord): ReportLine {
  const type = requireField(record, 'Type');
  const kind = category(type);
  const offset = zoneOffsetMin(requireField(record, 'TimeZone'), at(record, 'TimeZone'));
  const occurredAt = parseDateTime(
    requireField(record, 'Creation Date'),
    offset,
    at(record, 'Creation Date'),
  );
  const money = amounts(record);
  const fields: Record<string, string> = {};
  for (const column of [...REQUIRED, ...OPTIONAL]) {
    const value = record.get(column);
    if (value !== '') fields[column] = value;
  }
  const psp = record.get('Psp Reference');
  const modification = record.get('Modification Reference');
  return {
    lineNumber: record.lineNumber,
    category: kind,
    reference: (kind === 'refund' ? modification : psp) || modification || null,
    chargeRefs:
      kind === 'charge' || kind === 'chargeback'
        ? present([psp, record.get('Merchant Reference')])
        : [],
    // A chargeback row: the payment's PSP reference, and the dispute's as modification.
    disputeRefs: kind === 'chargeback' ? present([modification]) : [],
    refundRefs:
      kind === 'refund'
        ? present([modification, record.get('Modification Merchant Reference')])
        : [],
    currency: money.currency,
    amountMinor: money.amountMinor,
    feeMinor: money.feeMinor,
    netMinor: money.netMinor,
    occurredAt,
    description: type,
    fields,
  };
}

export function parseAdyenSettlementReport(text: string): ParsedReport {
  return { lines: readCsv(text, REQUIRED).map(parseRecord) };
}
