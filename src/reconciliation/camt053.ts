import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { LIMITS } from '../lib/limits.ts';
import { currencyAt, decimalToMinor, minorToDecimal } from './amounts.ts';
import { parseDateTime } from './dates.ts';
import { FileRejection, type ParsedReport, type ReportLine } from './types.ts';

// ISO 20022 camt.053 (bank-to-customer statement), versions 001.02 to 001.13:
// the fields used here kept their place across versions, except the entry
// status (a code in .02, `Sts/Cd` from .05). Each entry becomes one line,
// numbered in file order. Every statement must add up: opening booked balance
// plus booked entries equals the closing booked balance.

// Elements that may repeat; always arrays, even with one occurrence.
const REPEATED = new Set(['Stmt', 'Bal', 'Ntry', 'NtryDtls', 'TxDtls', 'Ustrd']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  // Amounts stay strings: they are converted to minor units exactly, never via floats.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => REPEATED.has(name),
});

type Node = Record<string, unknown>;

function child(node: unknown, ...path: string[]): unknown {
  let current = node;
  for (const name of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Node)[name];
  }
  return current;
}

function list(node: unknown, name: string): unknown[] {
  const value = child(node, name);
  return Array.isArray(value) ? value : [];
}

/** The text of an element (with or without attributes); '' when absent. */
function text(node: unknown, ...path: string[]): string {
  const value = child(node, ...path);
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'object' && value !== null && '#text' in value) {
    return String((value as Node)['#text']).trim();
  }
  return '';
}

interface Money {
  code: string;
  exponent: number;
  /** Signed: CRDT positive, DBIT negative. */
  amountMinor: number;
}

function signedAmount(node: unknown, where: string): Money {
  const amount = child(node, 'Amt');
  const code = typeof amount === 'object' && amount !== null ? (amount as Node)['@_Ccy'] : '';
  const currency = currencyAt(typeof code === 'string' ? code : '', `${where}, field "Amt/@Ccy"`);
  const value = text(node, 'Amt');
  if (value.startsWith('-')) {
    throw new FileRejection(`${where}, field "Amt": amounts are unsigned in camt.053 ("${value}")`);
  }
  const minor = decimalToMinor(value, currency.exponent, `${where}, field "Amt"`);
  const indicator = text(node, 'CdtDbtInd');
  if (indicator !== 'CRDT' && indicator !== 'DBIT') {
    throw new FileRejection(`${where}, field "CdtDbtInd": expected CRDT or DBIT ("${indicator}")`);
  }
  return { ...currency, amountMinor: indicator === 'DBIT' ? -minor : minor };
}

/** `Dt` (a date) or `DtTm` (a date-time) under `node`, as unix seconds (UTC). */
function dateOf(node: unknown, where: string): number | null {
  const date = text(node, 'Dt');
  const dateTime = text(node, 'DtTm');
  if (date === '' && dateTime === '') return null;
  if (date !== '') return parseDateTime(date, 0, where);
  const ms = Date.parse(/[zZ]|[+-]\d{2}:\d{2}$/.test(dateTime) ? dateTime : `${dateTime}Z`);
  if (Number.isNaN(ms)) throw new FileRejection(`${where}: not a date-time ("${dateTime}")`);
  return Math.floor(ms / 1000);
}

function balance(statement: unknown, codes: string[], where: string): Money | null {
  const found = list(statement, 'Bal').find((b) =>
    codes.includes(text(b, 'Tp', 'CdOrPrtry', 'Cd')),
  );
  return found ? signedAmount(found, `${where}, balance ${codes[0]}`) : null;
}

function entryLine(
  entry: unknown,
  statement: { id: string; account: string | null },
  lineNumber: number,
): ReportLine {
  const statementId = statement.id;
  const where = `statement "${statementId}", entry ${lineNumber}`;
  const money = signedAmount(entry, where);
  const status = text(entry, 'Sts', 'Cd') || text(entry, 'Sts');
  const details = list(entry, 'NtryDtls').flatMap((d) => list(d, 'TxDtls'));
  const first = details[0];
  const endToEndId = text(first, 'Refs', 'EndToEndId');
  const acctSvcrRef = text(entry, 'AcctSvcrRef');
  const remittance = details
    .flatMap((d) => list(child(d, 'RmtInf'), 'Ustrd'))
    .map((u) => (typeof u === 'string' ? u : text({ u }, 'u')))
    .join(' ');
  const returnInfo = details.map((d) => child(d, 'RtrInf')).find((r) => r !== undefined);
  const creditDebit = money.amountMinor < 0 ? 'DBIT' : 'CRDT';
  const bookedAt = dateOf(child(entry, 'BookgDt'), `${where}, field "BookgDt"`);
  const fields: Record<string, string> = { CdtDbtInd: creditDebit, Sts: status };
  if (endToEndId) fields.EndToEndId = endToEndId;
  if (acctSvcrRef) fields.AcctSvcrRef = acctSvcrRef;
  if (remittance) fields.Ustrd = remittance;
  return {
    lineNumber,
    category: creditDebit === 'CRDT' ? 'bank_credit' : 'bank_debit',
    reference: acctSvcrRef || endToEndId || null,
    chargeRefs: [],
    refundRefs: [],
    currency: money.code,
    amountMinor: money.amountMinor,
    feeMinor: null,
    netMinor: null,
    occurredAt: bookedAt ?? dateOf(child(entry, 'ValDt'), `${where}, field "ValDt"`),
    description: text(entry, 'AddtlNtryInf') || remittance || null,
    fields,
    bank: {
      statementId,
      account: statement.account,
      creditDebit,
      status,
      endToEndId: endToEndId || null,
      acctSvcrRef: acctSvcrRef || null,
      remittance: remittance || null,
      returnReason: returnInfo === undefined ? null : text(returnInfo, 'Rsn', 'Cd'),
    },
  };
}

/** Opening + booked entries must equal closing; names the statement when not. */
function checkBalances(statement: unknown, statementId: string, lines: ReportLine[]): void {
  const where = `statement "${statementId}"`;
  const opening = balance(statement, ['OPBD', 'PRCD'], where);
  const closing = balance(statement, ['CLBD'], where);
  if (!opening || !closing) {
    throw new FileRejection(`${where}: needs an opening (OPBD) and a closing (CLBD) balance`);
  }
  if (opening.code !== closing.code) {
    throw new FileRejection(`${where}: opening and closing balances are in different currencies`);
  }
  let sumMinor = 0;
  for (const line of lines) {
    if (line.currency !== opening.code) {
      throw new FileRejection(
        `${where}, entry ${line.lineNumber}: currency ${line.currency} differs from the statement's ${opening.code}`,
      );
    }
    if (line.bank?.status === 'BOOK') sumMinor += line.amountMinor;
  }
  if (opening.amountMinor + sumMinor !== closing.amountMinor) {
    const f = (v: number) => minorToDecimal(v, opening.exponent);
    throw new FileRejection(
      `${where}: opening balance ${f(opening.amountMinor)} + booked entries ${f(sumMinor)} = ${f(opening.amountMinor + sumMinor)}, but the closing balance is ${f(closing.amountMinor)} ${opening.code.toUpperCase()}`,
    );
  }
}

function parseXml(text: string): unknown {
  // camt.053 has no DOCTYPE; refusing it rules out entity expansion attacks.
  if (/<!DOCTYPE/i.test(text)) throw new FileRejection('XML with a DOCTYPE is not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new FileRejection(`malformed XML at line ${line}, column ${col}: ${msg}`);
  }
  return parser.parse(text);
}

/** The namespace the Document element is in (the parser drops xmlns attributes). */
function documentNamespace(xml: string): string {
  const start = /<(?:([\w.-]+):)?Document\b([^>]*)>/.exec(xml);
  if (!start) return '';
  const [, prefix, attributes = ''] = start;
  const name = prefix ? `xmlns:${prefix}` : 'xmlns';
  const match = new RegExp(`\\b${name}\\s*=\\s*["']([^"']*)["']`).exec(attributes);
  return match?.[1] ?? '';
}

export function parseCamt053(xml: string): ParsedReport {
  const source = xml.replace(/^\uFEFF/, '');
  const document = child(parseXml(source), 'Document');
  const namespace = documentNamespace(source);
  if (!/^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(0[2-9]|1[0-3])$/.test(namespace)) {
    throw new FileRejection(
      `not a camt.053 statement: Document namespace is "${namespace}" (expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.02 to .13)`,
    );
  }
  const statements = list(child(document, 'BkToCstmrStmt'), 'Stmt');
  if (statements.length === 0) throw new FileRejection('BkToCstmrStmt has no Stmt');
  const lines: ReportLine[] = [];
  for (const [index, statement] of statements.entries()) {
    const statementId = text(statement, 'Id') || `#${index + 1}`;
    const account =
      text(statement, 'Acct', 'Id', 'IBAN') || text(statement, 'Acct', 'Id', 'Othr', 'Id') || null;
    const own = list(statement, 'Ntry').map((entry, i) =>
      entryLine(entry, { id: statementId, account }, lines.length + i + 1),
    );
    checkBalances(statement, statementId, own);
    lines.push(...own);
    if (lines.length > LIMITS.reconciliationLinesMax) {
      throw new FileRejection(`more than ${LIMITS.reconciliationLinesMax} entries in one file`);
    }
  }
  return { lines };
}
