import { currencyAt, decimalToMinor } from './amounts.ts';
import { at, type CsvRecord, readCsv, requireField } from './csv.ts';
import { parseDateTime } from './dates.ts';
import { FileRejection, type LineCategory, type ParsedReport, type ReportLine } from './types.ts';

// Stripe's itemized balance change report (balance_change_from_activity.itemized):
// one row per balance transaction, amounts in decimal major units. Only the
// columns used here are required; others are kept in `fields` when present.

const REQUIRED = [
  'balance_transaction_id',
  'created_utc',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
] as const;

const OPTIONAL = [
  'source_id',
  'description',
  'available_on_utc',
  'automatic_payout_id',
  'payment_intent_id',
  'charge_id',
  'customer_facing_amount',
  'customer_facing_currency',
] as const;

function category(reportingCategory: string): LineCategory {
  switch (reportingCategory) {
    case 'charge':
    case 'refund':
    case 'payout':
    case 'fee':
      return reportingCategory;
    case 'dispute':
    case 'dispute_reversal':
      return 'chargeback';
    default:
      return 'other';
  }
}

function present(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}

function parseRecord(record: CsvRecord): ReportLine {
  const currency = currencyAt(requireField(record, 'currency'), at(record, 'currency'));
  const amount = (field: string) =>
    decimalToMinor(requireField(record, field), currency.exponent, at(record, field));
  const grossMinor = amount('gross');
  const feeMinor = amount('fee');
  const netMinor = amount('net');
  // Stripe: net = gross - fee. A row where that fails is corrupt, not a mismatch.
  if (netMinor !== grossMinor - feeMinor) {
    throw new FileRejection(`${at(record, 'net')}: net is not gross minus fee`);
  }
  const kind = category(requireField(record, 'reporting_category'));
  const sourceId = record.get('source_id');
  const fields: Record<string, string> = {};
  for (const column of [...REQUIRED, ...OPTIONAL]) {
    const value = record.get(column);
    if (value !== '') fields[column] = value;
  }
  return {
    lineNumber: record.lineNumber,
    category: kind,
    reference: requireField(record, 'balance_transaction_id'),
    chargeRefs:
      kind === 'charge'
        ? present([sourceId, record.get('charge_id'), record.get('payment_intent_id')])
        : kind === 'chargeback'
          ? present([record.get('charge_id'), record.get('payment_intent_id')])
          : [],
    // A dispute's balance transactions name the dispute (du_…) as their source.
    disputeRefs: kind === 'chargeback' ? present([sourceId]) : [],
    refundRefs: kind === 'refund' ? present([sourceId]) : [],
    currency: currency.code,
    amountMinor: grossMinor,
    feeMinor,
    netMinor,
    occurredAt: parseDateTime(requireField(record, 'created_utc'), 0, at(record, 'created_utc')),
    description: record.get('description') || null,
    fields,
  };
}

export function parseStripeBalanceReport(text: string): ParsedReport {
  return { lines: readCsv(text, REQUIRED).map(parseRecord) };
}
