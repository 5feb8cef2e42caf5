import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createEventsService } from '../src/events/service.ts';
import type { Clock } from '../src/lib/clock.ts';
import { EnvelopeCipher } from '../src/lib/crypto.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { createRoutingAdmin, type RoutingAdmin } from '../src/routing/admin.ts';
import { loadMasterKey } from '../src/vault/master-key.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Maintenance windows: lifecycle with an event for every change, the checks
// on their times, and what routing and the status page read of them.

// biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field.
type Json = any;

const HOUR = 3600;

describe('maintenance windows API', () => {
  let t: TestEngine;
  let connector: Json;
  const now = () => Math.floor(Date.now() / 1000);
  const post = (path: string, body: string) => rawRequest(t, 'POST', path, { body });
  const windowsPath = () => `/v1/connectors/${connector.id}/maintenance_windows`;

  async function state() {
    const db = t.engine.database.db;
    return {
      windows: await db.selectFrom('maintenance_windows').selectAll().orderBy('id').execute(),
      events: (await db.selectFrom('events').select('id').execute()).length,
    };
  }

  async function rejects(path: string, body: string, param: string | undefined, code: string) {
    const before = await state();
    const res = await post(path, body);
    assert.equal(res.status, 400, `${body}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error.param, param, `${body}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error.code, code, body);
    assert.deepEqual(await state(), before, `${body} wrote something`);
  }

  function otherProcess(clock: Clock): RoutingAdmin {
    const db = t.engine.database.db;
    const key = loadMasterKey({ masterKey: undefined, dataDir: t.dataDir });
    return createRoutingAdmin({
      db,
      clock,
      cipher: new EnvelopeCipher(key),
      events: createEventsService(db, clock),
    });
  }

  before(async () => {
    t = await startEngine();
    connector = await t.stripe.rawRequest('POST', '/v1/connectors', { type: 'sandbox', name: 'a' });
  });
  after(async () => {
    await t.close();
  });

  test('create, retrieve, list, update, cancel: each change records its event', async () => {
    const start = now() + HOUR;
    const created = await post(windowsPath(), `start=${start}&end=${start + HOUR}&note=DB+upgrade`);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const mw = created.json;
    assert.match(mw.id, /^mw_[0-9a-z]{24}$/);
    assert.deepEqual(
      { ...mw, id: undefined, created: undefined },
      {
        id: undefined,
        object: 'maintenance_window',
        connector: connector.id,
        start,
        end: start + HOUR,
        note: 'DB upgrade',
        status: 'scheduled',
        created: undefined,
        livemode: false,
      },
    );
    const fetched = await rawRequest(t, 'GET', `/v1/maintenance_windows/${mw.id}`);
    assert.deepEqual(fetched.json, mw);

    const nowWindow = await post(windowsPath(), `start=now&end=${now() + 600}`);
    assert.equal(nowWindow.status, 200);
    assert.equal(nowWindow.json.status, 'in_progress');
    assert.ok(Math.abs(nowWindow.json.start - now()) <= 2);
    assert.equal(nowWindow.json.note, null);

    const list = await rawRequest(t, 'GET', `${windowsPath()}?limit=1`);
    assert.equal(list.json.object, 'list');
    assert.equal(list.json.url, windowsPath());
    assert.deepEqual(
      list.json.data.map((w: Json) => w.id),
      [nowWindow.json.id],
    );
    assert.equal(list.json.has_more, true);

    const updated = await post(`/v1/maintenance_windows/${mw.id}`, `end=${start + 2 * HOUR}&note=`);
    assert.equal(updated.status, 200, JSON.stringify(updated.json));
    assert.equal(updated.json.end, start + 2 * HOUR);
    assert.equal(updated.json.start, start);
    assert.equal(updated.json.note, null, '"" clears the note');

    const canceled = await post(`/v1/maintenance_windows/${mw.id}/cancel`, '');
    assert.equal(canceled.status, 200);
    assert.equal(canceled.json.status, 'canceled');
    await rejects(
      `/v1/maintenance_windows/${mw.id}/cancel`,
      '',
      undefined,
      'maintenance_window_unexpected_state',
    );
    await rejects(
      `/v1/maintenance_windows/${mw.id}`,
      'note=again',
      undefined,
      'maintenance_window_unexpected_state',
    );

    const events = (await t.stripe.events.list({ limit: 100 })) as Json;
    const mine = events.data.filter((e: Json) => e.data.object.id === mw.id).reverse();
    assert.deepEqual(
      mine.map((e: Json) => e.type),
      ['maintenance_window.created', 'maintenance_window.updated', 'maintenance_window.canceled'],
    );
    assert.deepEqual(mine[1]?.data.previous_attributes, { end: start + HOUR, note: 'DB upgrade' });
    assert.equal(mine[2]?.data.object.status, 'canceled');
    assert.ok(
      events.data.some(
        (e: Json) =>
          e.type === 'maintenance_window.created' && e.data.object.id === nowWindow.json.id,
      ),
    );
  });

  test('bad times and fields are 400 naming the field, and write nothing', async () => {
    const path = windowsPath();
    const n = now();
    await rejects(path, `end=${n + HOUR}`, 'start', 'parameter_missing');
    await rejects(path, `start=${n + HOUR}`, 'end', 'parameter_missing');
    await rejects(path, `start=soon&end=${n + HOUR}`, 'start', 'parameter_invalid_integer');
    await rejects(path, `start=${n + HOUR}&end=later`, 'end', 'parameter_invalid_integer');
    await rejects(path, `start=${n + HOUR}&end=${n + HOUR}`, 'end', 'parameter_invalid');
    await rejects(path, `start=${n + 2 * HOUR}&end=${n + HOUR}`, 'end', 'parameter_invalid');
    await rejects(path, `start=${n - 2 * HOUR}&end=${n - HOUR}`, 'end', 'parameter_invalid');
    const tooFar = n + LIMITS.maintenanceAheadMaxSeconds + HOUR;
    await rejects(path, `start=${tooFar}&end=${tooFar + HOUR}`, 'start', 'parameter_invalid');
    const tooLong = n + HOUR + LIMITS.maintenanceLengthMaxSeconds + 1;
    await rejects(path, `start=${n + HOUR}&end=${tooLong}`, 'end', 'parameter_invalid');
    await rejects(
      path,
      `start=${n + HOUR}&end=${n + 2 * HOUR}&note=${'x'.repeat(501)}`,
      'note',
      'parameter_invalid',
    );
    await rejects(
      path,
      `start=${n + HOUR}&end=${n + 2 * HOUR}&colour=red`,
      'colour',
      'parameter_unknown',
    );

    const ok = await post(path, `start=${n + HOUR}&end=${n + 2 * HOUR}`);
    const mw = `/v1/maintenance_windows/${ok.json.id}`;
    await rejects(mw, `end=${n + HOUR}`, 'end', 'parameter_invalid');
    await rejects(mw, `start=${n + 3 * HOUR}`, 'end', 'parameter_invalid');
    await rejects(
      mw,
      `end=${n + HOUR + LIMITS.maintenanceLengthMaxSeconds + 1}`,
      'end',
      'parameter_invalid',
    );
    await post(`${mw}/cancel`, '');
  });

  test('unknown, deleted and foreign connectors and windows are 404', async () => {
    const doomed = await t.stripe.rawRequest('POST', '/v1/connectors', {
      type: 'sandbox',
      name: 'doomed',
    });
    const win = await post(
      `/v1/connectors/${(doomed as Json).id}/maintenance_windows`,
      `start=now&end=${now() + 60}`,
    );
    await t.stripe.rawRequest('DELETE', `/v1/connectors/${(doomed as Json).id}`);
    const before = await state();
    for (const path of [
      '/v1/connectors/conn_nope/maintenance_windows',
      `/v1/connectors/${(doomed as Json).id}/maintenance_windows`,
    ]) {
      const created = await post(path, `start=now&end=${now() + 60}`);
      assert.equal(created.status, 404, path);
      assert.equal((await rawRequest(t, 'GET', path)).status, 404, path);
    }
    for (const [method, path] of [
      ['GET', '/v1/maintenance_windows/mw_nope'],
      ['POST', '/v1/maintenance_windows/mw_nope'],
      ['POST', '/v1/maintenance_windows/mw_nope/cancel'],
    ]) {
      const res = await rawRequest(
        t,
        method as string,
        path as string,
        method === 'POST' ? { body: '' } : {},
      );
      assert.equal(res.status, 404);
      assert.equal(res.json.error.code, 'resource_missing');
    }
    // A window of a deleted connector is still there to look at.
    assert.equal(
      (await rawRequest(t, 'GET', `/v1/maintenance_windows/${win.json.id}`)).status,
      200,
    );
    assert.deepEqual(await state(), before);
  });

  test('routing and the status page see windows: in maintenance now, upcoming, health view', async () => {
    let nowMs = Date.now();
    const clock: Clock = { nowMs: () => nowMs };
    const account = await t.engine.accounts.createAccount();
    const key = await t.engine.accounts.createKey(account.id, { kind: 'secret', livemode: false });
    const other = { url: t.url, secretKey: key.key };
    const scope = { accountId: account.id, livemode: false };
    const mk = async (name: string) =>
      (await rawRequest(other, 'POST', '/v1/connectors', { body: `type=sandbox&name=${name}` }))
        .json;
    const x = await mk('x');
    const y = await mk('y');
    const n = Math.floor(nowMs / 1000);
    const onNow = (
      await rawRequest(other, 'POST', `/v1/connectors/${x.id}/maintenance_windows`, {
        body: `start=${n - 60}&end=${n + HOUR}&note=now`,
      })
    ).json;
    const later = (
      await rawRequest(other, 'POST', `/v1/connectors/${y.id}/maintenance_windows`, {
        body: `start=${n + 2 * HOUR}&end=${n + 3 * HOUR}`,
      })
    ).json;

    const admin = otherProcess(clock);
    const inMaintenance = await admin.inMaintenance(scope, n);
    assert.deepEqual([...inMaintenance.keys()], [x.id]);
    assert.deepEqual(inMaintenance.get(x.id), {
      id: onNow.id,
      connector: x.id,
      starts_at: n - 60,
      ends_at: n + HOUR,
      note: 'now',
    });
    assert.deepEqual(
      (await admin.upcomingMaintenance(scope, n)).map((w) => w.id),
      [onNow.id, later.id],
      'soonest first',
    );
    // Later on, the first window has ended and the second is on.
    assert.deepEqual([...(await admin.inMaintenance(scope, n + 2 * HOUR + 1)).keys()], [y.id]);
    assert.deepEqual(
      (await admin.upcomingMaintenance(scope, n + 2 * HOUR)).map((w) => w.id),
      [later.id],
    );

    // Canceled in another process: seen here once the cache time is over.
    await rawRequest(other, 'POST', `/v1/maintenance_windows/${onNow.id}/cancel`, { body: '' });
    assert.equal((await admin.inMaintenance(scope, n)).size, 1, 'still cached');
    nowMs += LIMITS.routingCacheMs;
    assert.equal((await admin.inMaintenance(scope, n)).size, 0);

    const health = await rawRequest(other, 'GET', `/v1/connectors/${y.id}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json.object, 'connector_health');
    assert.equal(health.json.connector, y.id);
    assert.ok(['closed', 'open', 'half_open'].includes(health.json.breaker));
    assert.deepEqual(
      health.json.maintenance_windows.map((w: Json) => [w.id, w.status]),
      [[later.id, 'scheduled']],
    );
    const xHealth = await rawRequest(other, 'GET', `/v1/connectors/${x.id}/health`);
    assert.deepEqual(xHealth.json.maintenance_windows, [], 'canceled windows are not shown');
  });
});
