import { parse } from 'csv-parse/sync';
import { LIMITS } from '../lib/limits.ts';
import { FileRejection } from './types.ts';

// CSV with a header row: records keyed by column name, each with its line
// number in the file, so every rejection can say where it happened.

export interface CsvRecord {
  /** 1-based line of the file where the record ends (the header is line 1). */
  lineNumber: number;
  get(column: string): string;
}

interface CsvInfo {
  lines: number;
}

export function readCsv(text: string, required: readonly string[]): CsvRecord[] {
  let rows: { record: string[]; info: CsvInfo }[];
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), {
      info: true,
      relax_column_count: false,
      skip_empty_lines: true,
      bom: true,
    }) as unknown as { record: string[]; info: CsvInfo }[];
  } catch (error) {
    throw new FileRejection(`not a valid CSV file: ${(error as Error).message}`);
  }
  const [header, ...records] = rows;
  if (!header) throw new FileRejection('the file is empty: expected a header row');
  if (records.length > LIMITS.reconciliationLinesMax) {
    throw new FileRejection(
      `the file has ${records.length} lines; at most ${LIMITS.reconciliationLinesMax} per import`,
    );
  }
  const index = columnIndex(header.record, required);
  return records.map(({ record, info }) => ({
    lineNumber: info.lines,
    get: (column: string) => {
      const at = index.get(column);
      return at === undefined ? '' : (record[at] ?? '').trim();
    },
  }));
}

/** Column name → position; names the required columns that are missing. */
function columnIndex(header: string[], required: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  header.forEach((name, at) => {
    const key = name.trim();
    if (!index.has(key)) index.set(key, at);
  });
  const missing = required.filter((column) => !index.has(column));
  if (missing.length > 0) {
    throw new FileRejection(
      `missing required column${missing.length > 1 ? 's' : ''}: ${missing.map((c) => `"${c}"`).join(', ')}`,
    );
  }
  return index;
}

/** `line 7, field "gross"`: the prefix of every per-field rejection. */
export function at(record: CsvRecord, field: string): string {
  return `line ${record.lineNumber}, field "${field}"`;
}

/** A required, non-empty field. */
export function requireField(record: CsvRecord, field: string): string {
  const value = record.get(field);
  if (value === '') throw new FileRejection(`${at(record, field)}: is empty`);
  return value;
}
