import { CompiledQuery, type Insertable, PostgresAdapter } from 'kysely';
import { assert } from '../lib/assert.ts';
import type { Executor } from './database.ts';
import type { Database } from './schema.ts';

// Plain INSERTs of whole rows on the hot paths (a payment writes about ten),
// without Kysely's query builder: building and compiling a wide INSERT cost
// more than SQLite took to run it. The SQL text is made once per table, column
// list, row count and dialect and then reused; values are bound exactly as
// Kysely binds them.

const sqlTexts = new Map<string, string>();

function insertSql(table: string, columns: readonly string[], rowCount: number, pg: boolean) {
  const key = `${pg ? 'pg' : 'sqlite'}|${table}|${rowCount}|${columns.join(',')}`;
  let text = sqlTexts.get(key);
  if (text === undefined) {
    let n = 0;
    const row = () => `(${columns.map(() => (pg ? `$${++n}` : '?')).join(', ')})`;
    const rows = Array.from({ length: rowCount }, row).join(', ');
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${rows}`;
    sqlTexts.set(key, text);
  }
  return text;
}

/**
 * Inserts `rows` (each with the same defined columns, in the same order) in
 * one statement. Columns whose value is undefined are left out, as Kysely does.
 */
export async function insertRows<T extends keyof Database & string>(
  ex: Executor,
  table: T,
  rows: ReadonlyArray<Insertable<Database[T]>>,
): Promise<void> {
  const first = rows[0];
  if (first === undefined) return;
  const columns = Object.keys(first).filter(
    (c) => (first as Record<string, unknown>)[c] !== undefined,
  );
  const parameters: unknown[] = [];
  for (const row of rows) {
    const values = row as Record<string, unknown>;
    if (row !== first) {
      const defined = Object.keys(values).filter((c) => values[c] !== undefined).length;
      assert(defined === columns.length, `${table} rows of one insert have the same columns`);
    }
    for (const column of columns) {
      const value = values[column];
      assert(value !== undefined, `${table} rows of one insert have the same columns (${column})`);
      parameters.push(value);
    }
  }
  const pg = ex.getExecutor().adapter instanceof PostgresAdapter;
  await ex.executeQuery(CompiledQuery.raw(insertSql(table, columns, rows.length, pg), parameters));
}
