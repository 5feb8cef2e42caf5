import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MaintenanceWindowsTable } from '../db/schema.ts';
import { connectorReferences } from './config-store.ts';
import { baseUrlProblem, percentToPpm } from './schemas.ts';
import { maintenanceStatus, maskCredential, ppmToPercent } from './serialize.ts';
import { RoutingConfig } from './types.ts';

test('fee percentages: every 4-decimal value from 0 to 100 round-trips exactly', () => {
  // Every ppm value is one 4-decimal percentage; check a dense sample and the edges.
  for (let ppm = 0; ppm <= 1_000_000; ppm += 37) {
    assert.equal(percentToPpm(ppmToPercent(ppm)), ppm);
  }
  assert.equal(percentToPpm('100'), 1_000_000);
  assert.equal(ppmToPercent(1_000_000), '100');
  assert.equal(percentToPpm('2.9'), 29_000);
  assert.equal(percentToPpm(0.1 + 0.2), undefined, '0.30000000000000004 has too many decimals');
  for (const bad of ['100.0001', '-1', '1e2', '', ' 1', '1.', '.5', '1,5', null, {}, '00001']) {
    assert.equal(percentToPpm(bad), undefined, String(bad));
  }
});

test('credential hints show the last 4 characters only of values longer than 8', () => {
  assert.equal(maskCredential('sk_live_abcdefgh1234'), '••••••••1234');
  assert.equal(maskCredential('12345678'), '••••••••');
  assert.equal(maskCredential('x'), '••••••••', 'the length is hidden too');
});

test('base URLs: http(s) only, no credentials or fragment', () => {
  assert.equal(baseUrlProblem('https://api.example.com/v1'), undefined);
  assert.equal(baseUrlProblem('http://127.0.0.1:8080'), undefined);
  for (const bad of ['ftp://x', 'file:///etc/passwd', 'https://u:p@x', 'https://x/#a', 'x', ''])
    assert.ok(baseUrlProblem(bad), bad);
});

test('maintenance status is derived from the time', () => {
  const row = { starts_at: 100, ends_at: 200, status: 'scheduled' } as MaintenanceWindowsTable;
  assert.equal(maintenanceStatus(row, 99), 'scheduled');
  assert.equal(maintenanceStatus(row, 100), 'in_progress');
  assert.equal(maintenanceStatus(row, 199), 'in_progress');
  assert.equal(maintenanceStatus(row, 200), 'completed');
  assert.equal(maintenanceStatus({ ...row, status: 'canceled' }, 150), 'canceled');
});

test('connector references are named by their Stripe-style parameter path', () => {
  const id = (n: number) => `conn_${String(n).padStart(24, '0')}`;
  const config = RoutingConfig.parse({
    strategies: [
      { type: 'lowest_cost' },
      { type: 'priority', connectors: [id(1), id(2)] },
      { type: 'weighted', weights: [{ connector: id(3), weight: 1 }] },
      { type: 'rules', rules: [{ name: 'r', conditions: {}, connectors: [id(4)] }] },
    ],
  });
  assert.deepEqual(connectorReferences(config), [
    { id: id(1), param: 'strategies[1][connectors][0]' },
    { id: id(2), param: 'strategies[1][connectors][1]' },
    { id: id(3), param: 'strategies[2][weights][0][connector]' },
    { id: id(4), param: 'strategies[3][rules][0][connectors][0]' },
  ]);
});
