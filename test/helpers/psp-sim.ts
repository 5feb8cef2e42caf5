import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type PspSim, startPspSim } from '../../src/psp-sim/server.ts';
import { rawRequest, type TestEngine } from './engine.ts';
import { freePort } from './process.ts';

// Tests that pay through real psp-sim servers: start one (its charge list in a
// temporary directory), switch its mode, and make it a connector account of
// the test engine.

export async function startSim(name: string): Promise<{ sim: PspSim; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `payrail-${name}-`));
  const sim = await startPspSim({ port: await freePort(), name, dataDir: dir });
  return { sim, dir };
}

/** POST /_sim/mode, e.g. `{ mode: 'down' }`; the simulator must accept it. */
export async function setSimMode(sim: PspSim, mode: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${sim.controlUrl}/_sim/mode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(mode),
  });
  assert.equal(response.status, 200, await response.text());
}

/** A JSON request to the engine with its secret key. */
export async function api(t: TestEngine, method: string, urlPath: string, body?: unknown) {
  return rawRequest(t, method, urlPath, {
    body: body === undefined ? undefined : JSON.stringify(body),
    contentType: 'application/json',
  });
}

/** A psp_sim connector account on `sim` (400 ms timeout); its id. */
export async function createSimConnector(
  t: TestEngine,
  name: string,
  sim: PspSim,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const response = await api(t, 'POST', '/v1/connectors', {
    type: 'psp_sim',
    name,
    base_url: sim.url,
    credentials: { api_key: `key_${name}` },
    timeout_ms: 400,
    ...extra,
  });
  assert.equal(response.status, 200, JSON.stringify(response.json));
  return response.json.id as string;
}
