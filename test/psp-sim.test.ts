import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createPspSimConnector } from '../src/connectors/psp-sim/connector.ts';
import type { PspSimCharge } from '../src/connectors/psp-sim/wire.ts';
import {
  type AuthorizeRequest,
  type Connector,
  type ConnectorOutcome,
  FAILURE_CODES,
} from '../src/connectors/types.ts';
import { Secret } from '../src/lib/crypto.ts';
import { type PspSim, startPspSim } from '../src/psp-sim/server.ts';
import { freePort } from './helpers/process.ts';

// The standalone processor simulator, driven through the psp_sim connector:
// real HTTP on loopback, a real data directory, and once as a real child
// process started by the `payrail` command.

const ROOT = path.resolve(import.meta.dirname, '..');
const API_KEY = 'sk_sim_test';
const dirs: string[] = [];
const sims: PspSim[] = [];

after(async () => {
  await Promise.all(sims.map((s) => s.close().catch(() => {})));
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-psp-sim-'));
  dirs.push(dir);
  return dir;
}

async function startSim(
  options: { dataDir?: string; apiKey?: string; port?: number } = {},
): Promise<{ sim: PspSim; connector: Connector; dataDir: string }> {
  const dataDir = options.dataDir ?? tempDir();
  const sim = await startPspSim({
    port: options.port ?? (await freePort()),
    name: 'sim-t',
    dataDir,
    apiKey: options.apiKey ?? null,
  });
  sims.push(sim);
  return { sim, connector: connectorFor(sim.url), dataDir };
}

function connectorFor(baseUrl: string, apiKey = API_KEY): Connector {
  return createPspSimConnector({
    id: 'conn_sim_t',
    type: 'psp_sim',
    baseUrl,
    credentials: { api_key: apiKey },
  });
}

let counter = 0;
function authorizeRequest(
  over: Partial<AuthorizeRequest> & { cardNumber?: string } = {},
): AuthorizeRequest {
  counter += 1;
  const { cardNumber = '4242424242424242', ...rest } = over;
  return {
    reference: `pa_test${process.pid}_${counter}`,
    paymentIntentId: `pi_test${counter}`,
    amountMinor: 1000,
    currency: 'usd',
    capture: false,
    instrument: {
      type: 'card',
      number: new Secret(cardNumber),
      brand: 'visa',
      last4: cardNumber.slice(-4),
      expMonth: 12,
      expYear: 2040,
      funding: 'credit',
      country: 'US',
    },
    authenticated: false,
    statementDescriptor: null,
    ...rest,
  };
}

const signal = (ms = 2000) => AbortSignal.timeout(ms);

function referenceOf(outcome: ConnectorOutcome): string {
  assert.equal(outcome.status, 'succeeded', JSON.stringify(outcome));
  return outcome.status === 'succeeded' ? outcome.connectorReference : '';
}

async function charges(baseUrl: string): Promise<PspSimCharge[]> {
  const response = await fetch(`${baseUrl}/_sim/charges`, { signal: signal() });
  assert.equal(response.status, 200);
  return ((await response.json()) as { charges: PspSimCharge[] }).charges;
}

async function setMode(baseUrl: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}/_sim/mode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: signal(),
  });
}

async function mustSetMode(baseUrl: string, body: unknown): Promise<void> {
  const response = await setMode(baseUrl, body);
  assert.equal(response.status, 200, await response.text());
}

describe('psp-sim: the processor', () => {
  test('authorize, capture, refund and void through the connector', async () => {
    const { sim, connector } = await startSim();
    const auth = authorizeRequest({ amountMinor: 5000 });
    const chargeId = referenceOf(await connector.authorize(auth, signal()));
    const capture = {
      reference: `${auth.reference}_cap`,
      authorizationReference: chargeId,
      amountMinor: 4000,
      currency: 'usd',
    };
    assert.equal((await connector.capture(capture, signal())).status, 'succeeded');
    const refund = {
      reference: `${auth.reference}_re1`,
      paymentReference: chargeId,
      amountMinor: 1500,
      currency: 'usd',
    };
    assert.equal((await connector.refund(refund, signal())).status, 'succeeded');
    const tooMuch = await connector.refund(
      { ...refund, reference: `${auth.reference}_re2`, amountMinor: 2501 },
      signal(),
    );
    assert.equal(tooMuch.status === 'declined' && tooMuch.code, 'amount_too_large');

    const second = authorizeRequest();
    const secondId = referenceOf(await connector.authorize(second, signal()));
    const voided = await connector.void(
      {
        reference: `${second.reference}_void`,
        authorizationReference: secondId,
        amountMinor: 1000,
        currency: 'usd',
      },
      signal(),
    );
    assert.equal(voided.status, 'succeeded');
    const lateCapture = await connector.capture(
      { ...capture, reference: `${second.reference}_cap`, authorizationReference: secondId },
      signal(),
    );
    assert.equal(lateCapture.status === 'declined' && lateCapture.code, 'charge_voided');

    const listed = await charges(sim.url);
    const first = listed.find((c) => c.id === chargeId);
    assert.deepEqual(
      first && [
        first.payment_reference,
        first.status,
        first.amount,
        first.amount_captured,
        first.amount_refunded,
        first.voided,
      ],
      [auth.paymentIntentId, 'captured', 5000, 4000, 1500, false],
    );
    assert.equal(listed.find((c) => c.id === secondId)?.voided, true);
    assert.equal(
      JSON.stringify(listed).includes('4242424242424242'),
      false,
      'no card numbers listed',
    );
  });

  test('test cards decline (recorded as declined) and 3-D Secure asks for action', async () => {
    const { sim, connector } = await startSim();
    const declined = await connector.authorize(
      authorizeRequest({ cardNumber: '4000000000009995' }),
      signal(),
    );
    assert.equal(declined.status, 'declined');
    assert.equal(declined.status === 'declined' && declined.declineCode, 'insufficient_funds');
    const threeDs = authorizeRequest({ cardNumber: '4000002500003155' });
    const action = await connector.authorize(threeDs, signal());
    assert.equal(action.status, 'requires_action');
    const url = action.status === 'requires_action' ? action.nextAction.url : '';
    assert.equal((await fetch(url, { signal: signal() })).status, 200);
    const authenticated = await connector.authorize(
      authorizeRequest({ cardNumber: '4000002500003155', authenticated: true }),
      signal(),
    );
    assert.equal(authenticated.status, 'succeeded');
    const statuses = (await charges(sim.url)).map((c) => c.status).sort();
    assert.deepEqual(statuses, ['authorized', 'declined', 'requires_action']);
  });

  test('the same reference twice is one charge', async () => {
    const { sim, connector } = await startSim();
    const request = authorizeRequest({ capture: true });
    const first = referenceOf(await connector.authorize(request, signal()));
    const again = referenceOf(
      await connector.authorize({ ...request, amountMinor: 9999 }, signal()),
    );
    assert.equal(again, first);
    const refund = {
      reference: 'pa_refund_once',
      paymentReference: first,
      amountMinor: 600,
      currency: 'usd',
    };
    assert.equal((await connector.refund(refund, signal())).status, 'succeeded');
    assert.equal((await connector.refund(refund, signal())).status, 'succeeded');
    const listed = await charges(sim.url);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.amount_refunded, 600);
  });

  test('api keys: a wrong key is refused before acting, a missing one is 401', async () => {
    const { sim } = await startSim({ apiKey: API_KEY });
    const wrong = await connectorFor(sim.url, 'sk_other').authorize(authorizeRequest(), signal());
    assert.equal(wrong.status === 'failed_retryable' && wrong.code, FAILURE_CODES.error);
    const bare = await fetch(`${sim.url}/v1/charges?reference=x`, { signal: signal() });
    assert.equal(bare.status, 401);
    assert.equal((await charges(sim.url)).length, 0);
    assert.equal(
      (await connectorFor(sim.url).authorize(authorizeRequest(), signal())).status,
      'succeeded',
    );
  });

  test('a charge survives a restart and retrieve finds it by reference', async () => {
    const port = await freePort();
    const first = await startSim({ port });
    const request = authorizeRequest({ capture: true });
    const id = referenceOf(await first.connector.authorize(request, signal()));
    await first.sim.close();
    const second = await startSim({ port, dataDir: first.dataDir });
    const found = await second.connector.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(found, { status: 'succeeded', connectorReference: id });
    const missing = authorizeRequest();
    const none = await second.connector.retrieve(
      { reference: missing.reference, operation: 'authorize', original: missing },
      signal(),
    );
    assert.deepEqual(none, { status: 'not_found' });
    assert.equal((await charges(second.sim.url)).length, 1);
  });
});

describe('psp-sim: fault modes', () => {
  test('down answers 503: failed_retryable unavailable, and the probe says not ok', async () => {
    const { sim, connector } = await startSim();
    await mustSetMode(sim.url, { mode: 'down' });
    const outcome = await connector.authorize(authorizeRequest(), signal());
    assert.equal(outcome.status === 'failed_retryable' && outcome.code, FAILURE_CODES.unavailable);
    assert.equal((await connector.probe(signal())).ok, false);
    await mustSetMode(sim.url, { mode: 'up' });
    assert.equal((await connector.probe(signal())).ok, true);
    assert.equal((await charges(sim.url)).length, 0);
  });

  test('down with refuse_connections: unreachable, and the control port brings it back', async () => {
    const { sim, connector } = await startSim();
    await mustSetMode(sim.url, { mode: 'down', refuse_connections: true });
    const outcome = await connector.authorize(authorizeRequest(), signal());
    assert.equal(
      outcome.status === 'failed_retryable' && outcome.code,
      FAILURE_CODES.unreachable,
      JSON.stringify(outcome),
    );
    await mustSetMode(sim.controlUrl, { mode: 'up' });
    assert.equal((await connector.authorize(authorizeRequest(), signal())).status, 'succeeded');
    assert.equal((await charges(sim.url)).length, 1);
  });

  test('errors answers 500 before charging: processor_error and no charge', async () => {
    const { sim, connector } = await startSim();
    await mustSetMode(sim.url, { mode: 'errors' });
    const outcome = await connector.authorize(authorizeRequest(), signal());
    assert.equal(outcome.status === 'failed_retryable' && outcome.code, FAILURE_CODES.error);
    assert.equal((await charges(sim.url)).length, 0);
  });

  test('timeout_after_charge: unknown for the caller, charged at the sim, retrieve finds it', async () => {
    const { sim, connector } = await startSim();
    await mustSetMode(sim.url, { mode: 'timeout_after_charge' });
    const request = authorizeRequest({ capture: true });
    const outcome = await connector.authorize(request, AbortSignal.timeout(300));
    assert.equal(outcome.status, 'unknown');
    const listed = await charges(sim.url);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.reference, request.reference);
    const found = await connector.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(found, { status: 'succeeded', connectorReference: listed[0]?.id });
    // A held request must not keep close() waiting.
    const pending = connector.authorize(authorizeRequest(), signal(5000));
    await new Promise((r) => setTimeout(r, 100));
    const startedMs = Date.now();
    await sim.close();
    assert.ok(Date.now() - startedMs < 1000, 'close() is prompt with held sockets');
    assert.equal((await pending).status, 'unknown');
  });

  test('slow with a short timeout is unknown; the latency is configurable', async () => {
    const { sim, connector } = await startSim();
    await mustSetMode(sim.url, { mode: 'slow', latency_ms: 1500 });
    const outcome = await connector.authorize(authorizeRequest(), AbortSignal.timeout(300));
    assert.equal(outcome.status, 'unknown');
    await mustSetMode(sim.url, { mode: 'slow', latency_ms: 150 });
    const startedMs = Date.now();
    assert.equal((await connector.authorize(authorizeRequest(), signal())).status, 'succeeded');
    assert.ok(Date.now() - startedMs >= 140, 'the latency was added');
  });

  test('flaky fails roughly the given fraction, repeatably with a seed', async () => {
    const { sim, connector } = await startSim();
    const run = async () => {
      await mustSetMode(sim.url, { mode: 'flaky', error_rate: 0.3, seed: 42 });
      const pattern: string[] = [];
      for (let i = 0; i < 60; i += 1) {
        const outcome = await connector.authorize(authorizeRequest(), signal());
        pattern.push(outcome.status);
      }
      return pattern;
    };
    const first = await run();
    const failures = first.filter((s) => s === 'failed_retryable').length;
    assert.ok(failures >= 8 && failures <= 30, `${failures} of 60 failed at error_rate 0.3`);
    assert.equal(first.filter((s) => s === 'succeeded').length, 60 - failures);
    assert.deepEqual(await run(), first, 'the same seed gives the same sequence');
    assert.equal((await charges(sim.url)).length, 2 * (60 - failures), 'failures charged nothing');
  });

  test('bad /_sim/mode bodies are 400 naming the field and change nothing', async () => {
    const { sim } = await startSim();
    await mustSetMode(sim.url, { mode: 'slow', latency_ms: 10 });
    const cases: Array<[unknown, RegExp]> = [
      [{ mode: 'sideways' }, /mode must be one of/],
      [{}, /mode/],
      [{ mode: 'slow', latency_ms: -1 }, /latency_ms/],
      [{ mode: 'slow', latency_ms: 'fast' }, /latency_ms/],
      [{ mode: 'flaky', error_rate: 1.5 }, /error_rate/],
      [{ mode: 'up', refuse_connections: true }, /refuse_connections/],
      [{ mode: 'up', extra: 1 }, /unknown field.*extra/],
    ];
    for (const [body, message] of cases) {
      const response = await setMode(sim.url, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const error = ((await response.json()) as { error: { message: string } }).error;
      assert.match(error.message, message);
    }
    const raw = await fetch(`${sim.url}/_sim/mode`, {
      method: 'POST',
      body: '{nope',
      signal: signal(),
    });
    assert.equal(raw.status, 400);
    const current = (await (
      await fetch(`${sim.url}/_sim/mode`, { signal: signal() })
    ).json()) as Record<string, unknown>;
    assert.equal(current.mode, 'slow');
    assert.equal(current.latency_ms, 10);
  });
});

describe('psp-sim: the payrail psp-sim command', () => {
  function spawnSim(args: string[]): ChildProcess {
    // Detached: the bin wrapper runs the CLI as its own child, and killing the
    // process group (by the wrapper's PID) reaches both.
    return spawn(process.execPath, ['bin/payrail.mjs', 'psp-sim', ...args], {
      cwd: ROOT,
      detached: true,
      stdio: 'ignore',
    });
  }

  async function waitReady(url: string, child: ChildProcess): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      assert.equal(child.exitCode, null, 'psp-sim exited early');
      try {
        if ((await fetch(`${url}/_sim/mode`, { signal: signal(500) })).status === 200) return;
      } catch {
        // not listening yet
      }
      assert.ok(Date.now() < deadline, 'psp-sim did not start in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function waitRefused(url: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await fetch(`${url}/_sim/mode`, { signal: signal(500) });
      } catch (error) {
        if ((error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') return;
      }
      assert.ok(Date.now() < deadline, 'psp-sim still listening after SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function killGroup(child: ChildProcess, signalName: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, signalName);
    await exited;
  }

  test('runs as a process, keeps charges across a crash, and stops on SIGTERM', async () => {
    const port = await freePort();
    const dataDir = tempDir();
    const url = `http://127.0.0.1:${port}`;
    const args = ['--port', String(port), '--name', 'sim-cli', '--data-dir', dataDir];
    const connector = connectorFor(url);
    const request = authorizeRequest({ capture: true });
    let child = spawnSim(args);
    try {
      await waitReady(url, child);
      const id = referenceOf(await connector.authorize(request, signal()));
      await killGroup(child, 'SIGKILL');
      child = spawnSim(args);
      await waitReady(url, child);
      const found = await connector.retrieve(
        { reference: request.reference, operation: 'authorize', original: request },
        signal(),
      );
      assert.deepEqual(found, { status: 'succeeded', connectorReference: id });
      // SIGTERM reaches the wrapper and the simulator; the simulator closes and the port frees.
      await killGroup(child, 'SIGTERM');
      await waitRefused(url);
    } finally {
      await killGroup(child, 'SIGKILL');
    }
  });

  test('bad arguments exit 2 with a usage message', () => {
    const result = spawnSync(process.execPath, ['bin/payrail.mjs', 'psp-sim', '--name', 'x'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--port is required/);
    assert.match(result.stderr, /usage: payrail psp-sim/);
  });
});
