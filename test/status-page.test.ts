import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Scope } from '../src/db/context.ts';
import { insertConnector, type SideModule, startSideModule } from '../src/incidents/testing.ts';
import { startEngine, type TestEngine } from './helpers/engine.ts';

// The public status page: served by a second incidents module on the engine's
// database, whose health monitor and maintenance windows the test controls.
// One test drives a real headless Chromium (playwright-core).

const CHROMIUM = '/usr/bin/chromium';
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field.
type Json = any;

describe('status page', () => {
  let t: TestEngine;
  let side: SideModule;
  let scope: Scope;
  let primary: string;
  let sepa: string;
  let incidentId: string;

  const page = (path: string) =>
    fetch(`${side.url}${path}`, { signal: AbortSignal.timeout(10_000) });

  before(async () => {
    t = await startEngine();
    side = await startSideModule({
      db: t.engine.database.db,
      accounts: t.engine.accounts,
      idempotency: t.engine.idempotency,
      logger: t.engine.logger,
    });
    scope = { accountId: t.accountId, livemode: false };
    const db = t.engine.database.db;
    primary = await insertConnector(db, scope, {
      name: 'Primary PSP',
      paymentMethodTypes: ['card'],
    });
    await insertConnector(db, scope, { name: 'Backup PSP', paymentMethodTypes: ['card'] });
    sepa = await insertConnector(db, scope, {
      name: 'SEPA Bank',
      paymentMethodTypes: ['sepa_debit'],
    });
    await insertConnector(db, scope, {
      name: 'Disabled PSP',
      paymentMethodTypes: ['us_bank_account'],
      status: 'disabled',
    });
    side.health.set(primary, 'down');
    side.health.set(sepa, 'down');
    await side.module.onHealthChange({
      connector: primary,
      from: 'healthy',
      to: 'down',
      reason: '9 of the last 10 calls failed (processor_unreachable)',
      at_ms: Date.now(),
    });
    const created = await fetch(`${side.url}/v1/incidents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: '<script>window.__xss = 1</script> Bank transfers delayed',
        impact: 'partial_outage',
        message: 'Payouts & transfers are "delayed" <b>today</b>.',
      }),
      signal: AbortSignal.timeout(10_000),
    });
    incidentId = ((await created.json()) as { id: string }).id;
    const nowS = Math.floor(Date.now() / 1000);
    side.routing.windows.push({
      id: 'mw_internal',
      connector: sepa,
      starts_at: nowS + 3600,
      ends_at: nowS + 7200,
      note: 'Bank upgrade',
    });
    // A resolved incident from yesterday, and one from last month (not shown).
    const old = await fetch(`${side.url}/v1/incidents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Yesterday blip',
        impact: 'degraded_performance',
        message: 'x',
      }),
    });
    const oldId = ((await old.json()) as { id: string }).id;
    await fetch(`${side.url}/v1/incidents/${oldId}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.secretKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await db
      .insertInto('incidents')
      .values({
        id: 'inc_lastmonth00000000000000',
        account_id: t.accountId,
        livemode: 0,
        connector_id: null,
        source: 'manual',
        title: 'Last month outage',
        impact: 'major_outage',
        status: 'resolved',
        started_ms: Date.now() - 40 * 86_400_000,
        resolved_ms: Date.now() - 39 * 86_400_000,
        metadata: '{}',
        created: 0,
      })
      .execute();
  });
  after(async () => {
    await side?.close();
    await t?.close();
  });

  test('JSON: states per payment method, incidents, maintenance, recently resolved', async () => {
    const res = await page(`/status/${t.accountId}.json?mode=test`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as Json;
    assert.equal(body.object, 'status_page');
    assert.equal(body.livemode, false);
    assert.deepEqual(body.payment_methods, [
      // Primary is down but Backup takes cards.
      { type: 'card', name: 'Cards', status: 'degraded' },
      // The only SEPA connector is down.
      { type: 'sepa_debit', name: 'SEPA Direct Debit', status: 'outage' },
    ]);
    assert.equal(body.status, 'outage');
    assert.equal(body.incidents.length, 2);
    const auto = body.incidents.find((i: { title: string }) => i.title.includes('Primary PSP'));
    assert.equal(auto.impact, 'partial_outage');
    assert.match(auto.updates[0].message, /9 of the last 10 calls failed/);
    assert.deepEqual(body.maintenance, [
      {
        processor: 'SEPA Bank',
        starts_at: side.routing.windows[0]?.starts_at,
        ends_at: side.routing.windows[0]?.ends_at,
        in_progress: false,
        note: 'Bank upgrade',
      },
    ]);
    assert.deepEqual(
      body.recently_resolved.map((i: { title: string }) => i.title),
      ['Yesterday blip'],
    );
    // Customer-safe: no connector ids, maintenance ids or credential hints.
    const text = JSON.stringify(body);
    for (const secret of [primary, sepa, 'mw_internal', 'SECRET', 'credentials']) {
      assert.ok(!text.includes(secret), `status page leaks ${secret}`);
    }
  });

  test('live mode is a separate page; recovery and maintenance change the states', async () => {
    const live = (await (await page(`/status/${t.accountId}.json`)).json()) as Json;
    assert.equal(live.livemode, true);
    assert.deepEqual(live.payment_methods, []);
    assert.equal(live.status, 'operational');
    assert.deepEqual(live.incidents, []);
    side.health.set(primary, 'healthy');
    side.health.set(sepa, 'healthy');
    const nowS = Math.floor(Date.now() / 1000);
    side.routing.windows.push({
      id: 'mw_2',
      connector: sepa,
      starts_at: nowS - 60,
      ends_at: nowS + 60,
      note: null,
    });
    try {
      const body = (await (await page(`/status/${t.accountId}.json?mode=test`)).json()) as Json;
      assert.deepEqual(
        body.payment_methods.map((m: { status: string }) => m.status),
        ['operational', 'outage'],
      );
      assert.equal(body.maintenance[0].in_progress, true);
    } finally {
      side.routing.windows.pop();
      side.health.set(primary, 'down');
      side.health.set(sepa, 'down');
    }
  });

  test('HTML: escaped, no-store, auto-refresh; unknown accounts and bad modes', async () => {
    const res = await page(`/status/${t.accountId}?mode=test`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const html = await res.text();
    assert.match(html, /<meta http-equiv="refresh" content="30">/);
    assert.match(html, /<style>/);
    assert.ok(!html.includes('<script'), 'no script tag, not even from an incident title');
    assert.ok(
      html.includes('&lt;script&gt;window.__xss = 1&lt;/script&gt; Bank transfers delayed'),
    );
    assert.ok(
      html.includes('Payouts &amp; transfers are &quot;delayed&quot; &lt;b&gt;today&lt;/b&gt;.'),
    );
    assert.ok(!html.includes('Last month outage'));

    const missing = await page('/status/acct_doesnotexist000000000000');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await missing.text(), /Status page not found/);
    const missingJson = await page('/status/acct_doesnotexist000000000000.json');
    assert.equal(missingJson.status, 404);
    assert.equal(((await missingJson.json()) as Json).error.code, 'resource_missing');
    const badMode = await page(`/status/${t.accountId}.json?mode=staging`);
    assert.equal(badMode.status, 400);
    assert.equal(((await badMode.json()) as Json).error.param, 'mode');
  });

  test('in a real browser: the visible text during an outage', async (ctx) => {
    if (!fs.existsSync(CHROMIUM)) {
      ctx.skip(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
      return;
    }
    let chromium: typeof import('playwright-core').chromium;
    try {
      ({ chromium } = await import('playwright-core'));
    } catch {
      ctx.skip('playwright-core is not installed (npm install --save-dev playwright-core)');
      return;
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(`${side.url}/status/${t.accountId}?mode=test`, { timeout: 15_000 });
      // Playwright's innerText: the text as rendered (what a customer sees), not the DOM's.
      // biome-ignore lint/performance/useDomNodeTextContent: not a DOM node.
      const text = await tab.innerText('body');
      assert.match(text, /Payments are disrupted/);
      assert.match(text, /Cards\s+Degraded/);
      assert.match(text, /SEPA Direct Debit\s+Outage/);
      assert.match(text, /Payments through Primary PSP are failing/);
      assert.match(text, /9 of the last 10 calls failed \(processor_unreachable\)/);
      assert.match(text, /<script>window.__xss = 1<\/script> Bank transfers delayed/);
      assert.match(text, /Scheduled: maintenance of SEPA Bank/);
      assert.match(text, /Yesterday blip/);
      assert.equal(
        await tab.evaluate(() => (window as unknown as { __xss?: number }).__xss),
        undefined,
        'no script ran',
      );
      assert.equal(await tab.locator(`#${incidentId} h3`).count(), 1);
    } finally {
      await browser.close();
    }
  });
});
