#!/usr/bin/env node
// `npm test`: every test on SQLite, then the integration suite again on
// PostgreSQL. Without a reachable PostgreSQL the second leg is skipped and
// says so, unless PAYRAIL_REQUIRE_PG=1 (CI), where that is a failure.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const PG_URL = process.env.PAYRAIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function findTests(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

const only = process.argv.slice(2);
const pick = (files) =>
  only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const unit = pick(findTests(path.join(root, 'src')));
const integration = pick(findTests(path.join(root, 'test')));

function runLeg(name, files, env) {
  if (files.length === 0) return { passed: 0, failed: 0 };
  console.log(`\n=== ${name}: ${files.length} files ===`);
  const tap = path.join(root, `.test-${name}-${process.pid}.tap`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      '--test-timeout=180000',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } },
  );
  const text = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
  fs.rmSync(tap, { force: true });
  const count = (label) => Number(new RegExp(`^# ${label} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const failed =
    count('fail') + count('cancelled') + (result.status !== 0 && count('fail') === 0 ? 1 : 0);
  return { passed: count('pass'), failed };
}

async function postgresReachable() {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const add = (r) => {
  totals.passed += r.passed;
  totals.failed += r.failed;
};
add(runLeg('sqlite', [...unit, ...integration], { PAYRAIL_TEST_DB: 'sqlite' }));
if (await postgresReachable()) {
  add(runLeg('postgres', integration, { PAYRAIL_TEST_DB: 'postgres' }));
} else if (process.env.PAYRAIL_REQUIRE_PG === '1') {
  console.log(`\nPostgreSQL is required (PAYRAIL_REQUIRE_PG=1) but not reachable at ${PG_URL}`);
  totals.failed += 1;
} else {
  console.log(`\nSkipped the PostgreSQL leg: no PostgreSQL reachable at ${PG_URL}`);
  totals.skipped += integration.length;
}
console.log(
  `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`,
);
process.exit(totals.failed === 0 ? 0 : 1);
