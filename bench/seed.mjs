// Bulk seeding for the growth measurement. Creating a million payments
// through the API would take longer than the whole benchmark, so the driver
// creates one real payment through the API (a template: intent, payment
// method, attempt, charge, ledger transaction and entries, events and the
// idempotency record, exactly as the engine writes them), stops the engine,
// and copies those rows N times with SQL, giving every id and unique value a
// suffix. The copies have the real rows' shape and sizes and go through every
// index the engine maintains. Ledger balances are not changed (the copies'
// entries are not in them: `ledger verify` would say so; the benchmark only
// measures speed), and the background cursors (webhook fan-out, notification
// triggers) are moved past the copied events, as in an engine that kept up.
import Database from 'better-sqlite3';
import pg from 'pg';

/** The template's rows per table: `where` with one parameter, found from the rows before. */
const TABLES = [
  { table: 'payment_intents', where: 'id = ?', param: (t) => t.intentId },
  {
    table: 'payment_methods',
    where: 'id = ?',
    param: (t) => t.found.payment_intents[0]?.payment_method_id,
  },
  { table: 'payment_attempts', where: 'payment_intent_id = ?', param: (t) => t.intentId },
  { table: 'charges', where: 'payment_intent_id = ?', param: (t) => t.intentId },
  { table: 'ledger_transactions', where: 'source = ?', param: (t) => t.found.charges[0]?.id },
  {
    table: 'ledger_entries',
    where: 'transaction_id IN (SELECT id FROM ledger_transactions WHERE source = ?)',
    param: (t) => t.found.charges[0]?.id,
  },
  { table: 'events', where: 'data_object LIKE ?', param: (t) => `%${t.intentId}%` },
  { table: 'idempotency_keys', where: 'recovery_resource = ?', param: (t) => t.intentId },
];
/** The event cursors of the background jobs, moved past the copied events. */
const CURSORS_PAST_SEED =
  'UPDATE job_cursors SET position = (SELECT COALESCE(MAX(seq), 0) FROM events)';
/** Text columns made unique per copy even when they are not ids of the template. */
const UNIQUE_TEXT = new Set(['client_secret', 'connector_reference', 'idempotency_key', 'key']);
const BATCH_ROWS = 100_000;

/** The copy expression per column: template ids and unique values get `_s<i>`. */
function columnExprs(columns, rows, templateIds) {
  return columns
    .filter((c) => !(c.name === 'seq' || (c.name === 'id' && !c.text)))
    .map((c) => {
      const suffixed =
        c.text && (UNIQUE_TEXT.has(c.name) || rows.some((r) => templateIds.has(r[c.name])));
      return {
        name: c.name,
        expr: suffixed ? `(${q(c.name)} || '_s' || CAST(s.i AS TEXT))` : q(c.name),
      };
    });
}

const q = (name) => `"${name}"`;

async function seed({ intentId, count, listColumns, selectRows, run, series }) {
  const templateIds = new Set([intentId]);
  const plans = [];
  const template = { intentId, found: {} };
  for (const t of TABLES) {
    const param = t.param(template);
    const rows =
      param === undefined || param === null
        ? []
        : await selectRows(`SELECT * FROM ${q(t.table)} WHERE ${t.where}`, param);
    template.found[t.table] = rows;
    for (const r of rows) if (typeof r.id === 'string') templateIds.add(r.id);
    plans.push({ ...t, param, rows });
  }
  for (const p of plans) {
    if (p.rows.length === 0) continue;
    const exprs = columnExprs(await listColumns(p.table), p.rows, templateIds);
    const cols = exprs.map((e) => q(e.name)).join(', ');
    const values = exprs.map((e) => e.expr).join(', ');
    // Each batch copies the template rows by their ids: the finding clause
    // could match earlier copies too (an event's JSON names the template intent).
    const byId = p.rows.every((r) => typeof r.id === 'string');
    const where = byId ? `${q(p.table)}."id" IN (${p.rows.map(() => '?').join(', ')})` : p.where;
    const params = byId ? p.rows.map((r) => r.id) : [p.param];
    for (let from = 1; from <= count; from += BATCH_ROWS) {
      const to = Math.min(count, from + BATCH_ROWS - 1);
      const sql = series(
        from,
        to,
        `INSERT INTO ${q(p.table)} (${cols}) SELECT ${values} FROM ${q(p.table)}, {SERIES} WHERE ${where}`,
      );
      await run(sql, params);
    }
  }
}

export async function seedSqlite({ file, intentId, count }) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  try {
    await seed({
      intentId,
      count,
      listColumns: async (table) =>
        db
          .prepare(`PRAGMA table_info(${q(table)})`)
          .all()
          .map((c) => ({ name: c.name, text: /TEXT|CHAR/i.test(c.type) })),
      selectRows: async (sql, param) => db.prepare(sql).all(param),
      run: async (sql, params) => db.prepare(sql).run(...params),
      // WITH goes before INSERT in SQLite: the recursive counter is the series.
      series: (from, to, sql) =>
        `WITH RECURSIVE s(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM s WHERE i < ${to}) ${sql.replace('{SERIES}', 's')}`,
    });
    db.prepare(CURSORS_PAST_SEED).run();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

export async function seedPostgres({ url, intentId, count }) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let n = 0;
    const toPg = (sql) => sql.replace(/\?/g, () => `$${++n}`);
    await seed({
      intentId,
      count,
      listColumns: async (table) =>
        (
          await client.query(
            'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1',
            [table],
          )
        ).rows.map((c) => ({ name: c.column_name, text: /text|char/i.test(c.data_type) })),
      selectRows: async (sql, param) => {
        n = 0;
        return (await client.query(toPg(sql), [param])).rows;
      },
      run: async (sql, params) => {
        n = 0;
        return client.query(toPg(sql), params);
      },
      series: (from, to, sql) => sql.replace('{SERIES}', `generate_series(${from}, ${to}) AS s(i)`),
    });
    await client.query(CURSORS_PAST_SEED);
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}
