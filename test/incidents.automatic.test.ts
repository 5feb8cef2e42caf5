import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import type { Scope } from '../src/db/context.ts';
import { insertConnector, type SideModule, startSideModule } from '../src/incidents/testing.ts';
import { newId } from '../src/lib/ids.ts';
import type { HealthChange, HealthStatus } from '../src/routing/types.ts';
import { rawRequest, startEngine, type TestEngine, testDialect } from './helpers/engine.ts';

// Automatic incidents: the module's onHealthChange, called directly, on a real
// database. The side module is a second incidents module on the engine's
// database (what a second engine process is), with a health monitor the test
// sets; what it writes is read back through the engine's own API.

describe('incidents: automatic', () => {
  let t: TestEngine;
  let side: SideModule;
  let scope: Scope;
  let primary: string;
  let backup: string;

  before(async () => {
    t = await startEngine();
    side = await startSideModule({
      db: t.engine.database.db,
      accounts: t.engine.accounts,
      idempotency: t.engine.idempotency,
      logger: t.engine.logger,
    });
    scope = { accountId: t.accountId, livemode: false };
  });
  after(async () => {
    await side.close();
    await t.close();
  });
  beforeEach(async () => {
    // Fresh connectors per test (incidents are per connector); earlier ones are deleted.
    await t.engine.database.db.updateTable('connector_accounts').set({ deleted: 1 }).execute();
    primary = await insertConnector(t.engine.database.db, scope, {
      name: 'Primary PSP',
      paymentMethodTypes: ['card', 'sepa_debit'],
    });
    backup = await insertConnector(t.engine.database.db, scope, {
      name: 'Backup PSP',
      paymentMethodTypes: ['card'],
    });
  });

  const change = (connector: string, from: HealthStatus, to: HealthStatus, reason: string) =>
    ({ connector, from, to, reason, at_ms: Date.now() }) satisfies HealthChange;

  async function incidentsOf(connector: string) {
    const res = await rawRequest(t, 'GET', '/v1/incidents?limit=100');
    assert.equal(res.status, 200);
    return res.json.data.filter((i: { connector: string }) => i.connector === connector);
  }

  async function eventsOf(incidentId: string) {
    const rows = await t.engine.database.db
      .selectFrom('events')
      .select(['type', 'data_object'])
      .where('type', 'like', 'incident.%')
      .orderBy('seq', 'asc')
      .execute();
    return rows
      .map((r) => ({ type: r.type, object: JSON.parse(r.data_object) }))
      .filter((e) => e.object.id === incidentId);
  }

  test('breaker opens: a major outage when the connector was the only one for a method', async () => {
    side.health.set(primary, 'down');
    await side.module.onHealthChange(
      change(primary, 'healthy', 'down', '7 of the last 10 calls failed (processor_unreachable)'),
    );
    const [inc, ...rest] = await incidentsOf(primary);
    assert.equal(rest.length, 0);
    assert.equal(inc.source, 'automatic');
    assert.equal(inc.title, 'Payments through Primary PSP are failing');
    // Backup serves cards, but nothing else serves SEPA Direct Debit.
    assert.equal(inc.impact, 'major_outage');
    assert.equal(inc.status, 'investigating');
    assert.equal(inc.updates[0].kind, 'opened');
    assert.match(inc.updates[0].message, /7 of the last 10 calls failed \(processor_unreachable\)/);
    const events = await eventsOf(inc.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['incident.created'],
    );
    assert.equal(events[0]?.object.object, 'incident');
    assert.equal(events[0]?.object.updates.length, 1);
  });

  test('a connector with a working alternative for every method is a partial outage', async () => {
    side.health.set(backup, 'down');
    await side.module.onHealthChange(change(backup, 'healthy', 'down', 'breaker opened'));
    const [inc] = await incidentsOf(backup);
    assert.equal(inc.impact, 'partial_outage');
    // Once the primary is down too, the backup's next incident is a major one.
    await side.module.onHealthChange(change(backup, 'down', 'healthy', 'probe ok'));
    side.health.set(primary, 'down');
    await side.module.onHealthChange(change(backup, 'healthy', 'down', 'breaker opened again'));
    const all = await incidentsOf(backup);
    assert.equal(all.length, 2);
    assert.equal(all[0].impact, 'major_outage');
  });

  test('degraded, then down, then healthy: one incident, its timeline, resolved', async () => {
    side.health.set(backup, 'healthy');
    await side.module.onHealthChange(
      change(backup, 'healthy', 'degraded', 'approval rate 31% over 40 card payments'),
    );
    let [inc] = await incidentsOf(backup);
    assert.equal(inc.impact, 'degraded_performance');
    assert.equal(inc.title, 'Payments through Backup PSP are degraded');
    await side.module.onHealthChange(change(backup, 'degraded', 'down', 'breaker opened'));
    await side.module.onHealthChange(change(backup, 'down', 'degraded', 'half open, slow'));
    await side.module.onHealthChange(change(backup, 'degraded', 'healthy', 'probe succeeded'));
    const all = await incidentsOf(backup);
    assert.equal(all.length, 1, 'one incident for the whole episode');
    inc = all[0];
    assert.equal(inc.impact, 'partial_outage', 'escalated, never lowered');
    assert.equal(inc.status, 'resolved');
    assert.equal(typeof inc.resolved, 'number');
    assert.deepEqual(
      inc.updates.map((u: { kind: string }) => u.kind),
      ['opened', 'update', 'degraded', 'recovered'],
    );
    assert.deepEqual(
      inc.updates.map((u: { message: string }) => u.message.split(': ')[1]),
      [
        'approval rate 31% over 40 card payments',
        'breaker opened',
        'half open, slow',
        'probe succeeded',
      ],
    );
    assert.deepEqual(
      (await eventsOf(inc.id)).map((e) => e.type),
      ['incident.created', 'incident.updated', 'incident.updated', 'incident.resolved'],
    );
  });

  test('the sandbox and unknown connectors are ignored; recovery without an incident is a no-op', async () => {
    const before = await t.engine.database.db
      .selectFrom('incidents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    await side.module.onHealthChange(change('sandbox', 'healthy', 'down', 'x'));
    await side.module.onHealthChange(
      change('conn_nosuchconnector000000000', 'healthy', 'down', 'x'),
    );
    await side.module.onHealthChange(change(primary, 'down', 'healthy', 'x'));
    const after = await t.engine.database.db
      .selectFrom('incidents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.n), Number(before.n));
  });

  test('an operator may update and resolve an automatic incident; the next outage opens a new one', async () => {
    await side.module.onHealthChange(change(primary, 'healthy', 'down', 'breaker opened'));
    const [inc] = await incidentsOf(primary);
    const upd = await rawRequest(t, 'POST', `/v1/incidents/${inc.id}/updates`, {
      body: 'status=identified&message=The+processor+confirmed+an+outage.',
    });
    assert.equal(upd.status, 200, JSON.stringify(upd.json));
    const res = await rawRequest(t, 'POST', `/v1/incidents/${inc.id}/resolve`, { body: '' });
    assert.equal(res.status, 200);
    // A late 'healthy' for the closed incident changes nothing.
    await side.module.onHealthChange(change(primary, 'down', 'healthy', 'recovered'));
    await side.module.onHealthChange(change(primary, 'healthy', 'down', 'down again'));
    const all = await incidentsOf(primary);
    assert.equal(all.length, 2);
    assert.equal(all[0].resolved, null);
    assert.equal(all[1].updates.at(-1).kind, 'resolved');
  });

  test('two writers at once (two modules, as two processes): one incident, every entry kept', async () => {
    const other = await startSideModule({
      db: t.engine.database.db,
      accounts: t.engine.accounts,
      idempotency: t.engine.idempotency,
      logger: t.engine.logger,
    });
    try {
      const calls = Array.from({ length: 6 }, (_, i) =>
        (i % 2 === 0 ? side : other).module.onHealthChange(
          change(backup, 'healthy', 'down', `writer ${i}`),
        ),
      );
      await Promise.all(calls);
      const all = await incidentsOf(backup);
      assert.equal(all.length, 1, 'only one open automatic incident');
      assert.equal(all[0].updates.length, 6, 'no change lost');
      assert.equal(all[0].updates.filter((u: { kind: string }) => u.kind === 'opened').length, 1);
      const created = (await eventsOf(all[0].id)).filter((e) => e.type === 'incident.created');
      assert.equal(created.length, 1);
    } finally {
      await other.close();
    }
  });

  test('losing the race to open: the unique violation is answered by joining the winner', async (ctx) => {
    if (testDialect() !== 'postgres') {
      ctx.skip('needs a second connection holding an uncommitted insert: PostgreSQL only');
      return;
    }
    // Another process's transaction inserts the open incident but has not
    // committed: our read sees nothing, our insert waits on the unique index,
    // then fails once the other commits.
    const url = (t.engine.database.location.match(/postgres:\/\/[^ ]+/) ?? [''])[0];
    assert.ok(url, 'database url');
    const dbUrl = new URL(url);
    dbUrl.password = new URL(process.env.PAYRAIL_TEST_PG_URL ?? 'postgres://postgres@x').password;
    const client = new pg.Client({ connectionString: dbUrl.toString() });
    await client.connect();
    try {
      await client.query('BEGIN');
      const now = Date.now();
      const otherId = newId('inc', now);
      await client.query(
        `INSERT INTO incidents (id, account_id, livemode, connector_id, source, title, impact, status, started_ms, resolved_ms, metadata, created)
         VALUES ($1, $2, 0, $3, 'automatic', 'Payments through Backup PSP are failing', 'partial_outage', 'investigating', $4, NULL, '{}', $5)`,
        [otherId, t.accountId, backup, now, Math.floor(now / 1000)],
      );
      await client.query(
        `INSERT INTO incident_updates (id, incident_id, kind, status, message, created_ms) VALUES ($1, $2, 'opened', 'investigating', 'other process', $3)`,
        [newId('iu', now), otherId, now],
      );
      const ours = side.module.onHealthChange(change(backup, 'healthy', 'down', 'ours'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      await client.query('COMMIT');
      await ours;
    } finally {
      await client.end();
    }
    const all = await incidentsOf(backup);
    assert.equal(all.length, 1);
    assert.equal(all[0].title, 'Payments through Backup PSP are failing');
    assert.equal(all[0].updates[0].message, 'other process');
    assert.deepEqual(
      all[0].updates.map((u: { kind: string; message: string }) => `${u.kind}:${u.message}`),
      ['opened:other process', 'update:Payments are failing: ours'],
    );
  });
});
