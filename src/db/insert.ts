import { CompiledQuery, type Insertable, PostgresAdapter, type QueryResult } from 'kysely';
import { assert } from '../lib/assert.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Executor } from './database.ts';
import type { Database } from './schema.ts';

// Row access on the hot paths (a payment runs about sixteen statements)
// without Kysely's query builder: building and compiling a query cost as much
// as SQLite took to run it. Each SQL text is made once per table, column list,
// shape and dialect and then reused; values are bound exactly as Kysely binds
// them (undefined values are left out), and rows come back as Kysely returns
// them. Only equality, IN and IS NULL conditions joined by AND are offered:
// anything richer stays with the query builder.

type TableName = keyof Database & string;
type Row<T extends TableName> = Database[T];
/** A condition value: equal to it, IN the list, or IS NULL. */
type Condition = string | number | null | ReadonlyArray<string | number>;
export type Where<T extends TableName> = { [C in keyof Row<T>]?: Condition };

const sqlTexts = new Map<string, string>();

const isPostgres = (ex: Executor) => ex.getExecutor().adapter instanceof PostgresAdapter;

/** The SQL text for `key`, made by `build` once; `?` placeholders become `$n` on PostgreSQL. */
function cachedSql(pg: boolean, key: string, build: () => string): string {
  const cacheKey = `${pg ? 'pg' : 'sqlite'}|${key}`;
  let text = sqlTexts.get(cacheKey);
  if (text === undefined) {
    text = build();
    if (pg) {
      let n = 0;
      text = text.replace(/\?/g, () => `$${++n}`);
    }
    if (sqlTexts.size < LIMITS.sqlTextCacheMax) sqlTexts.set(cacheKey, text);
  }
  return text;
}

const quote = (column: string) => `"${column}"`;

function definedColumns(row: object): string[] {
  return Object.keys(row).filter((c) => (row as Record<string, unknown>)[c] !== undefined);
}

/** The WHERE clause's shape (for the cache key) and text, and its values appended to `parameters`. */
function whereClause(where: Record<string, unknown>, parameters: unknown[]) {
  const shape: string[] = [];
  const parts: string[] = [];
  for (const column of Object.keys(where)) {
    const value = where[column];
    // A condition left out by mistake would widen an UPDATE to other rows.
    assert(value !== undefined, `the condition on ${column} has a value`);
    if (value === null) {
      shape.push(`${column} null`);
      parts.push(`${quote(column)} is null`);
    } else if (Array.isArray(value)) {
      assert(value.length > 0, `an IN list on ${column} is not empty`);
      shape.push(`${column} in ${value.length}`);
      parts.push(`${quote(column)} in (${value.map(() => '?').join(', ')})`);
      parameters.push(...value);
    } else {
      shape.push(column);
      parts.push(`${quote(column)} = ?`);
      parameters.push(value);
    }
  }
  assert(parts.length > 0, 'a WHERE has at least one condition');
  return { shape: shape.join(','), text: parts.join(' and ') };
}

async function run<R>(ex: Executor, sql: string, parameters: unknown[]): Promise<QueryResult<R>> {
  return ex.executeQuery<R>(CompiledQuery.raw(sql, parameters));
}

/**
 * Inserts `rows` (each with the same defined columns, in the same order) in
 * one statement. Columns whose value is undefined are left out, as Kysely does.
 * With `onConflictDoNothing`, a row that breaks a unique key is skipped; the
 * result says how many rows went in.
 */
export async function insertRows<T extends TableName>(
  ex: Executor,
  table: T,
  rows: ReadonlyArray<Insertable<Row<T>>>,
  options: { onConflictDoNothing?: boolean } = {},
): Promise<number> {
  const first = rows[0];
  if (first === undefined) return 0;
  const columns = definedColumns(first);
  const parameters: unknown[] = [];
  for (const row of rows) {
    const values = row as Record<string, unknown>;
    if (row !== first) {
      const defined = definedColumns(values).length;
      assert(defined === columns.length, `${table} rows of one insert have the same columns`);
    }
    for (const column of columns) {
      const value = values[column];
      assert(value !== undefined, `${table} rows of one insert have the same columns (${column})`);
      parameters.push(value);
    }
  }
  const conflict = options.onConflictDoNothing === true;
  const key = `insert|${table}|${rows.length}|${columns.join(',')}|${conflict}`;
  const sql = cachedSql(isPostgres(ex), key, () => {
    const row = `(${columns.map(() => '?').join(', ')})`;
    const values = Array.from({ length: rows.length }, () => row).join(', ');
    const onConflict = conflict ? ' on conflict do nothing' : '';
    return `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values ${values}${onConflict}`;
  });
  const result = await run(ex, sql, parameters);
  return Number(result.numAffectedRows ?? 0);
}

/** `select <columns> from table where ...`: the rows, as Kysely returns them. */
export async function selectRows<T extends TableName, C extends keyof Row<T> & string>(
  ex: Executor,
  table: T,
  columns: ReadonlyArray<C>,
  where: Where<T>,
): Promise<Array<Pick<Row<T>, C>>> {
  return selectText(ex, table, columns.map(quote).join(', '), where);
}

/** The one row matching `where` (by a unique key), or undefined. */
export async function selectRow<T extends TableName>(
  ex: Executor,
  table: T,
  where: Where<T>,
): Promise<Row<T> | undefined> {
  const rows = await selectText<Row<T>>(ex, table, '*', where);
  assert(rows.length <= 1, `${table}: at most one row matches a unique key`);
  return rows[0];
}

async function selectText<R>(
  ex: Executor,
  table: TableName,
  list: string,
  where: Record<string, unknown>,
): Promise<R[]> {
  const parameters: unknown[] = [];
  const clause = whereClause(where, parameters);
  const key = `select|${table}|${list}|${clause.shape}`;
  const sql = cachedSql(isPostgres(ex), key, () => {
    return `select ${list} from ${quote(table)} where ${clause.text}`;
  });
  return (await run<R>(ex, sql, parameters)).rows;
}

/** `update table set ... where ...`: how many rows changed. Undefined values are left out. */
export async function updateRows<T extends TableName>(
  ex: Executor,
  table: T,
  set: Partial<Row<T>>,
  where: Where<T>,
): Promise<number> {
  const columns = definedColumns(set);
  assert(columns.length > 0, `an update of ${table} sets at least one column`);
  const parameters: unknown[] = columns.map((c) => (set as Record<string, unknown>)[c]);
  const clause = whereClause(where, parameters);
  const key = `update|${table}|${columns.join(',')}|${clause.shape}`;
  const sql = cachedSql(isPostgres(ex), key, () => {
    const assignments = columns.map((c) => `${quote(c)} = ?`).join(', ');
    return `update ${quote(table)} set ${assignments} where ${clause.text}`;
  });
  const result = await run(ex, sql, parameters);
  return Number(result.numAffectedRows ?? 0);
}
