import { assert } from '../lib/assert.ts';

// RFC 4180 CSV: fields with a comma, quote or line break are quoted and their
// quotes doubled; lines end with CRLF. Text fields that a spreadsheet would
// run as a formula (=, +, -, @, tab, CR first) are prefixed with a quote, so
// a customer-written description cannot become a formula in the merchant's
// spreadsheet (CSV injection). Amount columns are written raw.

const FORMULA_START = /^[=+\-@\t\r]/;

/** Neutralises a spreadsheet formula in a free-text cell. */
export function textCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(quote).join(',')}\r\n`;
}

export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  let out = csvLine(header);
  for (const row of rows) {
    assert(
      row.length === header.length,
      `CSV row has ${row.length} fields, header ${header.length}`,
    );
    out += csvLine(row);
  }
  return out;
}

export interface CsvRecord {
  /** 1-based line number of the record's first line in the file. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses RFC 4180 text (LF or CRLF) into records with their line numbers.
 * Empty lines are skipped. Stops with CsvSyntaxError on a stray quote.
 */
export function parseCsv(text: string, options: { recordsMax?: number } = {}): CsvRecord[] {
  const records: CsvRecord[] = [];
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let line = 1;
  let i = 0;
  while (i < body.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (;;) {
      const ch = body[i];
      if (quoted) {
        if (ch === undefined) throw new CsvSyntaxError(start, 'unterminated quoted field');
        if (ch === '"' && body[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (ch === '"') {
          quoted = false;
          i += 1;
          const next = body[i];
          if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
            throw new CsvSyntaxError(line, 'a closing quote must end its field');
          }
        } else {
          if (ch === '\n') line += 1;
          field += ch;
          i += 1;
        }
        continue;
      }
      if (ch === '"' && field === '') {
        quoted = true;
        i += 1;
      } else if (ch === '"') {
        throw new CsvSyntaxError(line, 'a quote inside an unquoted field');
      } else if (ch === ',') {
        fields.push(field);
        field = '';
        i += 1;
      } else if (ch === undefined || ch === '\n' || ch === '\r') {
        fields.push(field);
        if (ch === '\r' && body[i + 1] === '\n') i += 1;
        if (ch !== undefined) i += 1;
        line += 1;
        break;
      } else {
        field += ch;
        i += 1;
      }
    }
    if (fields.length === 1 && fields[0] === '') continue;
    records.push({ line: start, fields });
    if (options.recordsMax !== undefined && records.length > options.recordsMax) {
      throw new CsvSyntaxError(start, `more than ${options.recordsMax} records`);
    }
  }
  return records;
}
