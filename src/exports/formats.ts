import { assert } from '../lib/assert.ts';
import { findCurrency, formatMinor } from '../lib/money.ts';
import { textCell, toCsv } from './csv.ts';
import { assertFileBalanced, type Journal, type JournalLine } from './journal.ts';
import type { ChartResolver } from './mappings.ts';
import type { ExportFormat } from './schemas.ts';

// The three CSV layouts of a journal. Amounts are major units as decimal
// strings made from integer minor units with the currency's exponent.
//  generic     one row per entry, debit/credit columns, ISO 8601 UTC time
//  quickbooks  QuickBooks Online "Import journal entries": MM/DD/YYYY, one
//              Journal No. per ledger transaction and currency, a Currency
//              column when the file holds more than one currency
//  xero        Xero manual-journal import: DD/MM/YYYY, Amount positive for a
//              debit and negative for a credit, lines grouped by Narration+Date

export const GENERIC_HEADER = [
  'transaction_id',
  'date',
  'type',
  'source',
  'description',
  'ledger_account',
  'purpose',
  'connector',
  'currency',
  'debit',
  'credit',
] as const;
export const QUICKBOOKS_HEADER = [
  'Journal No.',
  'Journal Date',
  'Account Name',
  'Description',
  'Debits',
  'Credits',
] as const;
export const XERO_HEADER = [
  'Narration',
  'Date',
  'Description',
  'AccountCode',
  'TaxRate',
  'Amount',
] as const;

/** QuickBooks keeps 21 characters of a journal number. */
const QUICKBOOKS_JOURNAL_NO_MAX = 21;
const DESCRIPTION_MAX = 500;

function major(amountMinor: number, currency: string): string {
  const found = findCurrency(currency);
  assert(found !== undefined, `unknown currency ${currency} in the ledger`);
  return formatMinor(amountMinor, found);
}

function utcParts(seconds: number) {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { y: d.getUTCFullYear(), m: pad(d.getUTCMonth() + 1), d: pad(d.getUTCDate()) };
}

function debitCredit(line: JournalLine, currency: string): [string, string] {
  return line.amountMinor >= 0
    ? [major(line.amountMinor, currency), '']
    : ['', major(-line.amountMinor, currency)];
}

function describe(journal: Journal): string {
  const base = `${journal.type} ${journal.source} (${journal.transactionId})`;
  const text = journal.description ? `${base}: ${journal.description}` : base;
  return textCell(text.slice(0, DESCRIPTION_MAX));
}

/** 17 characters of the id after `txn_` (time, counter, randomness) and the currency: unique, ≤ 21. */
export function quickbooksJournalNo(journal: Journal): string {
  const body = journal.transactionId.replace(/^[a-z]+_/, '').slice(0, 17);
  const number = `${body}-${journal.currency.toUpperCase()}`;
  assert(number.length <= QUICKBOOKS_JOURNAL_NO_MAX, `journal number ${number} too long`);
  return number;
}

function generic(journals: readonly Journal[]): string {
  const rows = journals.flatMap((j) =>
    j.lines.map((line) => [
      j.transactionId,
      new Date(j.created * 1000).toISOString().replace('.000Z', 'Z'),
      j.type,
      j.source,
      textCell(j.description ?? ''),
      line.ledgerAccountId,
      line.purpose,
      line.connectorId ?? '',
      j.currency,
      ...debitCredit(line, j.currency),
    ]),
  );
  return toCsv(GENERIC_HEADER, rows);
}

function quickbooks(journals: readonly Journal[], chart: ChartResolver): string {
  const multiCurrency = new Set(journals.map((j) => j.currency)).size > 1;
  const header = multiCurrency ? [...QUICKBOOKS_HEADER, 'Currency'] : [...QUICKBOOKS_HEADER];
  const rows = journals.flatMap((j) => {
    const { y, m, d } = utcParts(j.created);
    return j.lines.map((line) => [
      quickbooksJournalNo(j),
      `${m}/${d}/${y}`,
      textCell(chart.quickbooks(line.purpose, line.connectorId)),
      describe(j),
      ...debitCredit(line, j.currency),
      ...(multiCurrency ? [j.currency.toUpperCase()] : []),
    ]);
  });
  return toCsv(header, rows);
}

function xero(journals: readonly Journal[], chart: ChartResolver, taxRate: string): string {
  const rows = journals.flatMap((j) => {
    const { y, m, d } = utcParts(j.created);
    const narration = `Payrail ${j.transactionId} ${j.type} ${j.source} ${j.currency.toUpperCase()}`;
    return j.lines.map((line) => [
      textCell(narration),
      `${d}/${m}/${y}`,
      describe(j),
      textCell(chart.xero(line.purpose, line.connectorId)),
      textCell(taxRate),
      major(line.amountMinor, j.currency),
    ]);
  });
  return toCsv(XERO_HEADER, rows);
}

export function renderJournals(input: {
  format: ExportFormat;
  journals: readonly Journal[];
  chart: ChartResolver;
  xeroTaxRate: string;
}): string {
  assertFileBalanced(input.journals);
  if (input.format === 'generic') return generic(input.journals);
  if (input.format === 'quickbooks') return quickbooks(input.journals, input.chart);
  return xero(input.journals, input.chart, input.xeroTaxRate);
}
