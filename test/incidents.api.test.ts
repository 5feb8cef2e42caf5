import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { insertConnector } from '../src/incidents/testing.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Operators' incidents by API: open, list, retrieve, update, resolve; every
// bad field is a 400 naming it and writes nothing.

describe('incidents: API', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    rawRequest(t, 'POST', path, {
      body: JSON.stringify(body),
      contentType: 'application/json',
      headers,
    });
  const get = (path: string) => rawRequest(t, 'GET', path);

  async function counts() {
    const db = t.engine.database.db;
    const n = async (table: 'incidents' | 'incident_updates' | 'events') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      incidents: await n('incidents'),
      updates: await n('incident_updates'),
      events: await n('events'),
    };
  }

  async function eventTypes(incidentId: string): Promise<string[]> {
    const rows = await t.engine.database.db
      .selectFrom('events')
      .select(['type', 'data_object'])
      .where('type', 'like', 'incident.%')
      .orderBy('seq', 'asc')
      .execute();
    return rows.filter((r) => JSON.parse(r.data_object).id === incidentId).map((r) => r.type);
  }

  test('open, update, resolve: the timeline, the statuses and one event per change', async () => {
    const created = await post('/v1/incidents', {
      title: 'Card payments slow',
      impact: 'degraded_performance',
      message: 'We are looking into slow card payments.',
      metadata: { ticket: 'OPS-1' },
    });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const inc = created.json;
    assert.match(inc.id, /^inc_[a-z0-9]{24}$/);
    assert.equal(inc.object, 'incident');
    assert.equal(inc.source, 'manual');
    assert.equal(inc.status, 'investigating');
    assert.equal(inc.resolved, null);
    assert.equal(inc.connector, null);
    assert.equal(inc.livemode, false);
    assert.deepEqual(inc.metadata, { ticket: 'OPS-1' });
    assert.equal(inc.updates.length, 1);
    assert.equal(inc.updates[0].kind, 'opened');
    assert.equal(inc.updates[0].message, 'We are looking into slow card payments.');

    // Form encoding works too (the SDKs' wire format).
    const updated = await rawRequest(t, 'POST', `/v1/incidents/${inc.id}/updates`, {
      body: 'status=identified&impact=partial_outage&message=A+processor+is+timing+out.',
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.json));
    assert.equal(updated.json.status, 'identified');
    assert.equal(updated.json.impact, 'partial_outage');
    assert.deepEqual(
      updated.json.updates.map((u: { kind: string }) => u.kind),
      ['opened', 'update'],
    );

    const resolved = await post(`/v1/incidents/${inc.id}/resolve`, {});
    assert.equal(resolved.status, 200, JSON.stringify(resolved.json));
    assert.equal(resolved.json.status, 'resolved');
    assert.equal(typeof resolved.json.resolved, 'number');
    assert.ok(resolved.json.resolved >= inc.started);
    assert.equal(resolved.json.updates.at(-1).kind, 'resolved');

    const fetched = await get(`/v1/incidents/${inc.id}`);
    assert.deepEqual(fetched.json, resolved.json);
    assert.deepEqual(await eventTypes(inc.id), [
      'incident.created',
      'incident.updated',
      'incident.resolved',
    ]);
  });

  test('resolving twice or updating a resolved incident is a 400 incident_already_resolved', async () => {
    const inc = (await post('/v1/incidents', { title: 'x', impact: 'major_outage', message: 'm' }))
      .json;
    assert.equal(
      (await post(`/v1/incidents/${inc.id}/resolve`, { message: 'Fixed.' })).status,
      200,
    );
    const before = await counts();
    const again = await post(`/v1/incidents/${inc.id}/resolve`, {});
    assert.equal(again.status, 400);
    assert.equal(again.json.error.code, 'incident_already_resolved');
    const update = await post(`/v1/incidents/${inc.id}/updates`, { message: 'late' });
    assert.equal(update.status, 400);
    assert.equal(update.json.error.code, 'incident_already_resolved');
    assert.deepEqual(await counts(), before);
  });

  test('every bad field is a 400 naming it, and nothing is written', async () => {
    const good = { title: 'Outage', impact: 'major_outage', message: 'Down.' };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...good, title: undefined }, 'title', 'parameter_missing'],
      [{ ...good, title: '' }, 'title', 'parameter_invalid_empty'],
      [
        { ...good, title: 'x'.repeat(LIMITS.incidentTitleLengthMax + 1) },
        'title',
        'parameter_invalid',
      ],
      [{ ...good, impact: undefined }, 'impact', 'parameter_missing'],
      [{ ...good, impact: 'meltdown' }, 'impact', 'parameter_invalid'],
      [{ ...good, status: 'resolved' }, 'status', 'parameter_invalid'],
      [{ ...good, message: undefined }, 'message', 'parameter_missing'],
      [
        { ...good, message: 'x'.repeat(LIMITS.incidentMessageLengthMax + 1) },
        'message',
        'parameter_invalid',
      ],
      [{ ...good, connector: 'conn_doesnotexist00000000000' }, 'connector', 'parameter_invalid'],
      [{ ...good, metadata: 'nope' }, 'metadata', 'parameter_invalid'],
      [{ ...good, colour: 'red' }, 'colour', 'parameter_unknown'],
    ];
    const before = await counts();
    for (const [body, param, code] of cases) {
      const res = await post('/v1/incidents', body);
      assert.equal(res.status, 400, `${param}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error.param, param, JSON.stringify(res.json));
      assert.equal(res.json.error.code, code, JSON.stringify(res.json));
    }
    const inc = (await post('/v1/incidents', good)).json;
    const mid = await counts();
    for (const [body, param] of [
      [{}, 'message'],
      [{ message: 'm', status: 'resolved' }, 'status'],
      [{ message: 'm', impact: 'bad' }, 'impact'],
      [{ message: 'm', extra: 1 }, 'extra'],
    ] as const) {
      const res = await post(`/v1/incidents/${inc.id}/updates`, body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.equal(res.json.error.param, param);
    }
    const res = await post(`/v1/incidents/${inc.id}/resolve`, { message: '' });
    assert.equal(res.json.error.param, 'message');
    assert.deepEqual(await counts(), mid);
    assert.equal(mid.incidents, before.incidents + 1);
  });

  test('a connector of this account is accepted; one of another mode is not', async () => {
    const db = t.engine.database.db;
    const mine = await insertConnector(
      db,
      { accountId: t.accountId, livemode: false },
      {
        name: 'Acme PSP',
        paymentMethodTypes: ['card'],
      },
    );
    const live = await insertConnector(
      db,
      { accountId: t.accountId, livemode: true },
      {
        name: 'Live PSP',
        paymentMethodTypes: ['card'],
      },
    );
    const ok = await post('/v1/incidents', {
      title: 'Acme slow',
      impact: 'partial_outage',
      message: 'm',
      connector: mine,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.connector, mine);
    const wrong = await post('/v1/incidents', {
      title: 'x',
      impact: 'partial_outage',
      message: 'm',
      connector: live,
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.param, 'connector');
  });

  test('unknown ids are 404, and every route needs a secret key', async () => {
    const missing = await get('/v1/incidents/inc_doesnotexist000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'resource_missing');
    const upd = await post('/v1/incidents/inc_doesnotexist000000000000/updates', { message: 'm' });
    assert.equal(upd.status, 404);
    for (const [method, path] of [
      ['GET', '/v1/incidents'],
      ['POST', '/v1/incidents'],
      ['GET', '/v1/incidents/inc_x'],
      ['GET', '/v1/incidents/inc_x/report'],
    ]) {
      const res = await rawRequest(t, method ?? 'GET', path ?? '', { key: null });
      assert.equal(res.status, 401, `${method} ${path}`);
      const pub = await rawRequest(t, method ?? 'GET', path ?? '', { key: t.publishableKey });
      assert.equal(pub.status, 403, `${method} ${path} with a publishable key`);
    }
  });

  test('list: newest first, status filter, pagination', async () => {
    const a = (await post('/v1/incidents', { title: 'A', impact: 'major_outage', message: 'm' }))
      .json;
    const b = (await post('/v1/incidents', { title: 'B', impact: 'major_outage', message: 'm' }))
      .json;
    await post(`/v1/incidents/${a.id}/resolve`, {});
    const open = await get('/v1/incidents?status=open&limit=100');
    assert.equal(open.json.object, 'list');
    const openIds = open.json.data.map((i: { id: string }) => i.id);
    assert.ok(openIds.includes(b.id));
    assert.ok(!openIds.includes(a.id));
    assert.ok(open.json.data.every((i: { resolved: null }) => i.resolved === null));
    const resolved = await get('/v1/incidents?status=resolved&limit=100');
    assert.ok(resolved.json.data.some((i: { id: string }) => i.id === a.id));
    const first = await get('/v1/incidents?limit=1');
    assert.equal(first.json.data.length, 1);
    assert.equal(first.json.data[0].id, b.id);
    assert.equal(first.json.has_more, true);
    const next = await get(`/v1/incidents?limit=1&starting_after=${b.id}`);
    assert.equal(next.json.data[0].id, a.id);
    const bad = await get('/v1/incidents?status=closed');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'status');
  });

  test('an Idempotency-Key replays the creation instead of opening a second incident', async () => {
    const body = { title: 'Once', impact: 'partial_outage', message: 'm' };
    const first = await post('/v1/incidents', body, { 'idempotency-key': 'inc-once-1' });
    const before = await counts();
    const second = await post('/v1/incidents', body, { 'idempotency-key': 'inc-once-1' });
    assert.equal(second.json.id, first.json.id);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await counts(), before);
  });

  test(`at most ${LIMITS.incidentUpdatesMax} updates; the last slot is the resolution's`, async () => {
    const inc = (
      await post('/v1/incidents', { title: 'Long', impact: 'major_outage', message: 'm' })
    ).json;
    // Fill the timeline directly: LIMITS.incidentUpdatesMax requests would be slow.
    const rows = Array.from({ length: LIMITS.incidentUpdatesMax - 2 }, (_, i) => ({
      id: `iu_fill${String(i).padStart(19, '0')}`,
      incident_id: inc.id,
      kind: 'update',
      status: 'investigating',
      message: `filler ${i}`,
      created_ms: Date.now(),
    }));
    for (let i = 0; i < rows.length; i += 100) {
      await t.engine.database.db
        .insertInto('incident_updates')
        .values(rows.slice(i, i + 100))
        .execute();
    }
    const before = await counts();
    const full = await post(`/v1/incidents/${inc.id}/updates`, { message: 'one too many' });
    assert.equal(full.status, 400);
    assert.equal(full.json.error.code, 'incident_updates_limit');
    assert.deepEqual(await counts(), before);
    const resolved = await post(`/v1/incidents/${inc.id}/resolve`, {});
    assert.equal(resolved.status, 200, JSON.stringify(resolved.json));
    assert.equal(resolved.json.updates.length, LIMITS.incidentUpdatesMax);
  });
});
