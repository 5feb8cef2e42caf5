import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.ts';

// Configuration: a bad value stops the start with a message that names it;
// a new data directory prints its generated test key once.

const ROOT = path.resolve(import.meta.dirname, '..');
const START_TIMEOUT_MS = 30_000;
const dirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-config-'));
  dirs.push(dir);
  return dir;
}

/** The environment of a child engine: only what the test sets, no inherited Payrail settings. */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PAYRAIL_') && k !== 'DATABASE_URL' && k !== 'PORT' && k !== 'HOST')
      env[k] = v;
  }
  return { ...env, PAYRAIL_LOG_LEVEL: 'info', ...vars };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node --import tsx src/main.ts`. With `untilReady`, waits for the
 * 'payrail ready' log line, calls it, then stops the child by its PID.
 */
function runEngine(
  env: NodeJS.ProcessEnv,
  untilReady?: (out: string) => Promise<void>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    let readySeen = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`engine did not finish in time\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (untilReady && !readySeen && stdout.includes('"msg":"payrail ready"')) {
        readySeen = true;
        untilReady(stdout)
          .catch((error: unknown) => reject(error))
          .finally(() => {
            if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
          });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('config', () => {
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('defaults are the documented ones', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, path.resolve('./data'));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.bootstrapSecretKey, undefined);
    assert.equal(config.masterKey, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.sandboxLatencyMs, 0);
    assert.equal(config.settlementCutoffSeconds, 0);
    assert.equal(
      loadConfig({ PAYRAIL_SETTLEMENT_CUTOFF: '17:30' }).settlementCutoffSeconds,
      63_000,
    );
    assert.equal(loadConfig({ PAYRAIL_SETTLEMENT_CUTOFF: 'none' }).settlementCutoffSeconds, null);
    // An empty variable counts as unset.
    assert.equal(loadConfig({ PORT: '' }).port, 8080);
    assert.equal(loadConfig({ PORT: '0' }).port, 0);
  });

  const bad: [string, string][] = [
    ['PAYRAIL_SECRET_KEY', 'sk_test_short'],
    ['PAYRAIL_SECRET_KEY', `sk_live_${'a'.repeat(30)}`],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['DATABASE_URL', 'mysql://localhost/payrail'],
    ['PAYRAIL_LOG_LEVEL', 'loud'],
    ['PAYRAIL_SANDBOX_LATENCY_MS', '999999999'],
    ['PAYRAIL_PUBLIC_URL', 'not a url'],
    ['PAYRAIL_SETTLEMENT_CUTOFF', '24:00'],
    ['PAYRAIL_SETTLEMENT_CUTOFF', '9:00'],
  ];
  for (const [name, value] of bad) {
    test(`loadConfig refuses ${name}=${value.slice(0, 20)} and names it`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, new RegExp(`\\b${name}\\b`));
          if (name === 'PAYRAIL_SECRET_KEY')
            assert.ok(!e.message.includes(value), 'the secret is not echoed');
          return true;
        },
      );
    });
  }

  for (const [name, value] of [
    ['PAYRAIL_SECRET_KEY', `sk_test_short`],
    ['PORT', 'eighty'],
    ['DATABASE_URL', 'mysql://localhost/payrail'],
    ['PAYRAIL_MASTER_KEY', 'too-short'],
  ] as const) {
    test(`the process refuses to start with a bad ${name}`, async () => {
      const run = await runEngine(
        childEnv({ PAYRAIL_DATA_DIR: tempDir(), PORT: '0', [name]: value }),
      );
      assert.notEqual(run.code, 0, `exit code ${run.code}`);
      assert.match(run.stderr, new RegExp(`payrail: .*${name}`, 's'));
      assert.ok(!run.stdout.includes('payrail ready'));
      assert.ok(
        !run.stderr.includes('    at '),
        'a configuration error is a message, not a stack trace',
      );
    });
  }

  test('a new data directory prints its generated test key once; it works; a restart does not print it', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const env = childEnv({ PAYRAIL_DATA_DIR: dataDir, PORT: String(port) });
    let key = '';
    const first = await runEngine(env, async (out) => {
      key = /Test secret key:\s+(sk_test_[A-Za-z0-9]+)/.exec(out)?.[1] ?? '';
      assert.ok(key, `no key printed:\n${out}`);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      const list = await fetch(`http://127.0.0.1:${port}/v1/customers`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(list.status, 200, 'the printed key authenticates');
    });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.split(key).length - 1, 1, 'the key is printed exactly once');
    assert.match(first.stdout, /Test publishable key: pk_test_/);
    const masterKey = fs.statSync(path.join(dataDir, 'master.key'));
    assert.equal(masterKey.mode & 0o077, 0, 'master.key is readable by its owner only');

    const second = await runEngine(env, async () => {
      const list = await fetch(`http://127.0.0.1:${port}/v1/customers`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(list.status, 200, 'the key still works after a restart');
    });
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.stdout.includes('payrail ready'));
    assert.ok(!second.stdout.includes('Test secret key'), 'the second start printed a key');
    assert.ok(!second.stdout.includes(key));
  });

  test('PAYRAIL_SECRET_KEY becomes the test key of a new data directory and is not printed', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const secret = `sk_test_${'Q'.repeat(12)}${'7'.repeat(12)}`;
    const run = await runEngine(
      childEnv({ PAYRAIL_DATA_DIR: dataDir, PORT: String(port), PAYRAIL_SECRET_KEY: secret }),
      async () => {
        const list = await fetch(`http://127.0.0.1:${port}/v1/customers`, {
          headers: { authorization: `Bearer ${secret}` },
        });
        assert.equal(list.status, 200);
      },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes(secret), 'the configured secret is not echoed');
    assert.match(run.stdout, /PAYRAIL_SECRET_KEY/);
  });
});
