import type { Scope } from '../db/context.ts';
import type { Db } from '../db/database.ts';
import { CsvSyntaxError, parseCsv } from '../exports/csv.ts';
import { parseTimeInput, TIME_INPUT_HINT } from '../exports/dates.ts';
import { LIMITS } from '../lib/limits.ts';
import { findCurrency } from '../lib/money.ts';
import { canonicalRate, rateProblem } from './decimal.ts';
import type { FxService, RateInput } from './service.ts';

// `payrail fx load FILE.csv`: a rates file, all or nothing. Every line is
// checked before anything is written; then the whole file goes in one
// database transaction, so a conflict on line 900 leaves no rate of lines
// 1..899 behind. A line whose rate is already stored unchanged is skipped.

export const FX_FILE_COLUMNS = [
  'base_currency',
  'quote_currency',
  'rate',
  'effective_from',
] as const;
type Column = (typeof FX_FILE_COLUMNS)[number];

/** A rejected file: the 1-based line and the field at fault. */
export class FxFileError extends Error {
  override name = 'FxFileError';
  constructor(
    readonly line: number,
    readonly field: string | null,
    message: string,
  ) {
    super(`line ${line}${field ? `, field ${field}` : ''}: ${message}`);
  }
}

export interface RateLine extends RateInput {
  line: number;
}

function columnIndexes(header: string[]): Record<Column, number> {
  const names = header.map((h) => h.trim().toLowerCase());
  const out = {} as Record<Column, number>;
  for (const column of FX_FILE_COLUMNS) {
    const index = names.indexOf(column);
    if (index < 0) {
      throw new FxFileError(
        1,
        column,
        `missing column; the header must name ${FX_FILE_COLUMNS.join(',')}`,
      );
    }
    out[column] = index;
  }
  const extra = names.find((n) => !(FX_FILE_COLUMNS as readonly string[]).includes(n));
  if (extra !== undefined) throw new FxFileError(1, extra, 'unknown column');
  return out;
}

function readLine(line: number, fields: string[], at: Record<Column, number>): RateLine {
  const value = (column: Column) => (fields[at[column]] ?? '').trim();
  if (fields.length !== FX_FILE_COLUMNS.length) {
    throw new FxFileError(
      line,
      null,
      `expected ${FX_FILE_COLUMNS.length} fields, got ${fields.length}`,
    );
  }
  const currency = (column: Column) => {
    const found = findCurrency(value(column));
    if (!found || value(column).length !== 3) {
      throw new FxFileError(line, column, `not an ISO 4217 currency: '${value(column)}'`);
    }
    return found.code;
  };
  const base = currency('base_currency');
  const quote = currency('quote_currency');
  if (base === quote)
    throw new FxFileError(line, 'quote_currency', 'must differ from base_currency');
  const problem = rateProblem(value('rate'));
  if (problem) throw new FxFileError(line, 'rate', `'${value('rate')}': ${problem}`);
  const effectiveFrom = parseTimeInput(value('effective_from'));
  if (effectiveFrom === undefined) {
    throw new FxFileError(
      line,
      'effective_from',
      `'${value('effective_from')}' is not ${TIME_INPUT_HINT}`,
    );
  }
  return { line, base, quote, rate: canonicalRate(value('rate')), effectiveFrom };
}

/** Parses and checks a rates file; throws FxFileError naming the first bad line and field. */
export function parseRatesFile(text: string): RateLine[] {
  let records: ReturnType<typeof parseCsv>;
  try {
    records = parseCsv(text, { recordsMax: LIMITS.fxLoadLinesMax + 1 });
  } catch (error) {
    if (error instanceof CsvSyntaxError) throw new FxFileError(error.line, null, error.message);
    throw error;
  }
  const [header, ...rows] = records;
  if (!header) throw new FxFileError(1, null, 'the file is empty');
  const at = columnIndexes(header.fields);
  return rows.map((r) => readLine(r.line, r.fields, at));
}

/** Writes every line in one transaction; nothing is written when a line conflicts. */
export async function loadRates(input: { db: Db; fx: FxService; scope: Scope; lines: RateLine[] }) {
  return input.db.transaction().execute(async (tx) => {
    let inserted = 0;
    let unchanged = 0;
    for (const line of input.lines) {
      const result = await input.fx.putRate(tx, input.scope, line, 'file');
      if (result.kind === 'conflict') {
        throw new FxFileError(
          line.line,
          'rate',
          `${line.base}/${line.quote} effective from ${line.effectiveFrom} is already stored with rate ${result.existing.rate} (${result.existing.id}); rates are never changed`,
        );
      }
      if (result.kind === 'inserted') inserted += 1;
      else unchanged += 1;
    }
    return { inserted, unchanged };
  });
}
