#!/usr/bin/env node
// `npm run bench`: the engine on a fresh data directory (SQLite) or a fresh
// PostgreSQL database, driven over HTTP by bench/loadgen.mjs in a separate
// process, next to the reference floor (../shared/bench/floor.mjs) under the
// same load in the same run, so that the ratio holds on a noisy machine.
//
//   node bench/run.mjs [--quick] [--json results.json] [--cpu-prof DIR]
//
// Everything listens on loopback; every child is killed by PID at the end,
// on error and on Ctrl-C. See docs/bench.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { seedPostgres, seedSqlite } from './seed.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const argValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const JSON_FILE = argValue('--json');
const CPU_PROF_DIR = argValue('--cpu-prof');
const PG_ADMIN_URL =
  process.env.PAYRAIL_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const PLAN = QUICK
  ? {
      durationMs: 1200,
      warmupMs: 200,
      concurrency: [1, 16, 64, 256],
      pgConcurrency: [64],
      seedCount: 100_000,
    }
  : {
      durationMs: 10_000,
      warmupMs: 2000,
      concurrency: [1, 16, 64, 256],
      pgConcurrency: [1, 16, 64, 256],
      seedCount: 1_000_000,
    };
const MIX_CONCURRENCY = 64;
const GROWTH_CONCURRENCY = 64;
const READY_TIMEOUT_MS = 30_000;
const SECRET_KEY = `sk_test_${randomBytes(16).toString('hex')}`;

const children = new Set();
const cleanups = [];

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}
process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(url, child, logFile) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`exited early:\n${fs.readFileSync(logFile, 'utf8')}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready in time: ${url}\n${fs.readFileSync(logFile, 'utf8')}`);
}

function spawnChild(argv, { env = {}, logFile }) {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  children.add(child);
  return child;
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return children.delete(child);
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(
    () => child.exitCode === null && process.kill(child.pid, 'SIGKILL'),
    5000,
  );
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

async function startEngine({ dataDir, databaseUrl, tag }) {
  const port = await freePort();
  const profArgs = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
  const child = spawnChild([...profArgs, '--import', 'tsx', 'src/main.ts'], {
    logFile: path.join(dataDir, `engine-${tag}.log`),
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      PAYRAIL_DATA_DIR: dataDir,
      PAYRAIL_SECRET_KEY: SECRET_KEY,
      PAYRAIL_LOG_LEVEL: 'warn',
      PAYRAIL_SANDBOX_LATENCY_MS: '0',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/healthz`, child, path.join(dataDir, `engine-${tag}.log`));
  return { child, url };
}

async function startFloor(dir) {
  const port = await freePort();
  const child = spawnChild(
    ['../shared/bench/floor.mjs', '--port', String(port), '--db', path.join(dir, 'floor.db')],
    { logFile: path.join(dir, 'floor.log') },
  );
  const url = `http://127.0.0.1:${port}`;
  // The floor answers 404 to GET: that is "listening".
  await waitReady(url, child, path.join(dir, 'floor.log'));
  return { child, url };
}

function rssMb(child) {
  try {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return null;
  }
}

async function load({ targets, concurrency, mode = 'create' }) {
  const options = {
    targets,
    key: SECRET_KEY,
    concurrency,
    mode,
    durationMs: PLAN.durationMs,
    warmupMs: PLAN.warmupMs,
  };
  const child = spawn(process.execPath, ['bench/loadgen.mjs', JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  const limitMs = PLAN.durationMs + PLAN.warmupMs + 30_000;
  const timer = setTimeout(() => process.kill(child.pid, 'SIGKILL'), limitMs);
  const code = await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
  children.delete(child);
  if (code !== 0) throw new Error(`load generator failed (${code})`);
  return JSON.parse(out.trim().split('\n').pop());
}

function sqliteBytes(dataDir) {
  return ['', '-wal'].reduce((sum, suffix) => {
    const f = path.join(dataDir, `payrail.sqlite${suffix}`);
    return sum + (fs.existsSync(f) ? fs.statSync(f).size : 0);
  }, 0);
}

async function pgAdmin(sql, params = []) {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

async function createPgDatabase() {
  const name = `payrail_bench_${randomBytes(5).toString('hex')}`;
  await pgAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const drop = () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  cleanups.push(drop);
  return { name, url: url.toString(), drop };
}

const pgBytes = async (name) =>
  Number((await pgAdmin('SELECT pg_database_size($1) AS n', [name]))[0].n);

function row(label, r, extra) {
  return {
    scenario: label,
    concurrency: extra.concurrency,
    paymentsPerSec: Math.round(r.paymentsPerSec),
    opsPerSec: Math.round(r.opsPerSec),
    p50Ms: round(r.p50Ms),
    p95Ms: round(r.p95Ms),
    p99Ms: round(r.p99Ms),
    errors: r.errors,
    statuses: r.statuses,
    firstError: r.firstError,
    ...extra,
  };
}
const round = (x) => (x === null ? null : Math.round(x * 10) / 10);

/** One engine set (1 or 2 processes) on one database, at every concurrency, plus the floor. */
async function measure({ label, engines, bytes, concurrency, floor }) {
  const rows = [];
  for (const c of concurrency) {
    const before = await bytes();
    const r = await load({ targets: engines.map((e) => e.url), concurrency: c });
    const after = await bytes();
    const rss = engines.reduce((s, e) => s + (rssMb(e.child) ?? 0), 0);
    const result = row(label, r, {
      concurrency: c,
      rssMb: Math.round(rss),
      bytesPerPayment: r.payments > 0 ? Math.round((after - before) / r.payments) : null,
    });
    if (floor) {
      const f = await load({ targets: [floor.url], concurrency: c });
      result.floorPerSec = Math.round(f.paymentsPerSec);
      result.ratio =
        f.paymentsPerSec > 0 ? Math.round((r.paymentsPerSec / f.paymentsPerSec) * 100) / 100 : null;
    }
    rows.push(result);
    printRow(result);
  }
  const mix = await load({
    targets: engines.map((e) => e.url),
    concurrency: MIX_CONCURRENCY,
    mode: 'mix',
  });
  const mixRow = row(`${label} mix`, mix, { concurrency: MIX_CONCURRENCY });
  rows.push(mixRow);
  printRow(mixRow);
  return rows;
}

function printHeader() {
  const h = [
    'scenario',
    'conc',
    'pay/s',
    'ops/s',
    'p50',
    'p95',
    'p99',
    'err',
    'rssMB',
    'B/pay',
    'floor/s',
    'ratio',
  ];
  console.log(h.map((x, i) => (i === 0 ? x.padEnd(26) : x.padStart(8))).join(''));
}
function printRow(r) {
  const cells = [
    r.paymentsPerSec,
    r.opsPerSec,
    r.p50Ms,
    r.p95Ms,
    r.p99Ms,
    r.errors,
    r.rssMb,
    r.bytesPerPayment,
    r.floorPerSec,
    r.ratio,
  ];
  console.log(
    r.scenario.padEnd(26) +
      String(r.concurrency).padStart(8) +
      cells.map((x) => String(x ?? '-').padStart(8)).join(''),
  );
  if (r.errors > 0) console.log(`  first error: ${JSON.stringify(r.firstError).slice(0, 300)}`);
}

function tmpDir(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `payrail-bench-${tag}-`));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One real payment through the API: the template the growth seed copies. */
async function templatePayment(url) {
  const r = await fetch(`${url}/v1/payment_intents`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${SECRET_KEY}`,
      'content-type': 'application/x-www-form-urlencoded',
      // Like the load's requests: the copies get an idempotency record each too.
      'idempotency-key': `bench-template-${randomBytes(8).toString('hex')}`,
    },
    body: 'amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true',
    signal: AbortSignal.timeout(10_000),
  });
  const json = await r.json();
  if (r.status !== 200) throw new Error(`template payment failed: ${JSON.stringify(json)}`);
  return json.id;
}

async function growth({ label, dataDir, databaseUrl, seedFn }) {
  const first = await startEngine({ dataDir, databaseUrl, tag: 'template' });
  const intentId = await templatePayment(first.url);
  await stopChild(first.child);
  const seedStarted = Date.now();
  await seedFn(intentId);
  const seedMs = Date.now() - seedStarted;
  const engine = await startEngine({ dataDir, databaseUrl, tag: 'seeded' });
  try {
    const r = await load({ targets: [engine.url], concurrency: GROWTH_CONCURRENCY });
    const result = row(`${label} +${PLAN.seedCount / 1000}k stored`, r, {
      concurrency: GROWTH_CONCURRENCY,
      rssMb: Math.round(rssMb(engine.child) ?? 0),
      seedMs,
      stored: PLAN.seedCount,
    });
    printRow(result);
    return result;
  } finally {
    await stopChild(engine.child);
  }
}

async function sqliteLeg(results) {
  const dataDir = tmpDir('sqlite');
  const engine = await startEngine({ dataDir, tag: 'sqlite' });
  const floor = await startFloor(tmpDir('floor'));
  try {
    results.push(
      ...(await measure({
        label: 'sqlite',
        engines: [engine],
        bytes: async () => sqliteBytes(dataDir),
        concurrency: PLAN.concurrency,
        floor,
      })),
    );
  } finally {
    await stopChild(engine.child);
    await stopChild(floor.child);
  }
  const growDir = tmpDir('sqlite-growth');
  results.push(
    await growth({
      label: 'sqlite',
      dataDir: growDir,
      seedFn: (intentId) =>
        seedSqlite({ file: path.join(growDir, 'payrail.sqlite'), intentId, count: PLAN.seedCount }),
    }),
  );
}

async function postgresLeg(results, processes) {
  const db = await createPgDatabase();
  const dataDirs = Array.from({ length: processes }, () => tmpDir('pg'));
  // The same master key in every process: they share the vault's ciphertexts.
  const masterKey = randomBytes(32).toString('hex');
  process.env.PAYRAIL_MASTER_KEY = masterKey;
  const engines = [];
  try {
    for (const [i, dataDir] of dataDirs.entries())
      engines.push(await startEngine({ dataDir, databaseUrl: db.url, tag: `pg${i}` }));
    const label = processes === 1 ? 'postgres' : `postgres x${processes}`;
    results.push(
      ...(await measure({
        label,
        engines,
        bytes: () => pgBytes(db.name),
        concurrency: PLAN.pgConcurrency,
      })),
    );
  } finally {
    for (const e of engines) await stopChild(e.child);
    delete process.env.PAYRAIL_MASTER_KEY;
    await db.drop();
  }
}

async function postgresGrowth(results) {
  const db = await createPgDatabase();
  try {
    results.push(
      await growth({
        label: 'postgres',
        dataDir: tmpDir('pg-growth'),
        databaseUrl: db.url,
        seedFn: (intentId) => seedPostgres({ url: db.url, intentId, count: PLAN.seedCount }),
      }),
    );
  } finally {
    await db.drop();
  }
}

async function postgresReachable() {
  try {
    await pgAdmin('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const started = Date.now();
  const results = [];
  console.log(
    `payrail bench${QUICK ? ' --quick' : ''}: ${os.cpus().length} cpus, node ${process.version}, ` +
      `${PLAN.durationMs} ms per run after ${PLAN.warmupMs} ms warm-up; ` +
      `growth seeded with ${PLAN.seedCount.toLocaleString('en')} payments by SQL (see docs/bench.md)\n`,
  );
  printHeader();
  await sqliteLeg(results);
  if (await postgresReachable()) {
    await postgresLeg(results, 1);
    await postgresLeg(results, 2);
    if (!QUICK) await postgresGrowth(results);
  } else {
    console.log(`(PostgreSQL not reachable at ${PG_ADMIN_URL}: PostgreSQL rows skipped)`);
  }
  const totalMs = Date.now() - started;
  console.log(
    `\ndone in ${(totalMs / 1000).toFixed(1)} s; errors: ${results.reduce((s, r) => s + r.errors, 0)}`,
  );
  if (JSON_FILE) {
    const doc = {
      date: new Date().toISOString(),
      quick: QUICK,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      plan: PLAN,
      totalMs,
      results,
    };
    fs.writeFileSync(JSON_FILE, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`results written to ${JSON_FILE}`);
  }
  return results.some((r) => r.errors > 0) ? 1 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  console.error(`bench failed: ${error.stack ?? error}`);
} finally {
  killAll();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
process.exit(exitCode);
