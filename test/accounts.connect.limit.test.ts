import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AccountsTable } from '../src/db/schema.ts';
import { newId } from '../src/lib/ids.ts';
import { LIMITS } from '../src/lib/limits.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// The per-platform limit of connected accounts holds under concurrency: the
// create locks the platform row before it counts, so creates racing at the
// limit are counted one after the other and only the ones that fit pass. The
// refusal names its param. Runs on both legs.

const LIMIT = LIMITS.connectedAccountsPerPlatformMax;
const ROOM = 2;
const RACERS = 8;
const INSERT_BATCH = 500;

async function connectedCount(t: TestEngine): Promise<number> {
  const row = await t.engine.database.db
    .selectFrom('accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('platform_account_id', '=', t.accountId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Fills the platform up to `LIMIT - ROOM` connected accounts, directly: the API would be slow. */
async function fill(t: TestEngine): Promise<void> {
  const created = Math.floor(Date.now() / 1000);
  const total = LIMIT - ROOM;
  for (let done = 0; done < total; done += INSERT_BATCH) {
    const rows: AccountsTable[] = Array.from(
      { length: Math.min(INSERT_BATCH, total - done) },
      () => ({
        id: newId('acct', Date.now()),
        business_name: null,
        email: null,
        country: 'DE',
        default_currency: 'eur',
        metadata: '{}',
        created,
        platform_account_id: t.accountId,
      }),
    );
    await t.engine.database.db.insertInto('accounts').values(rows).execute();
  }
}

describe('connected accounts: the per-platform limit', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
    await fill(t);
  });
  after(async () => {
    await t.close();
  });

  test(`${RACERS} concurrent creates with room for ${ROOM}: exactly ${ROOM} pass`, async () => {
    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        rawRequest(t, 'POST', '/v1/accounts', { body: `type=custom&email=r${i}%40example.com` }),
      ),
    );
    const passed = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    assert.equal(passed.length, ROOM, JSON.stringify(results.map((r) => r.status)));
    for (const r of refused) {
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'parameter_invalid');
      assert.equal(r.json.error.param, 'account');
      assert.match(r.json.error.message, new RegExp(`already has ${LIMIT} connected accounts`));
    }
    assert.equal(await connectedCount(t), LIMIT);
  });

  test('at the limit, a create is refused with the param named and nothing written', async () => {
    const before = await connectedCount(t);
    const res = await rawRequest(t, 'POST', '/v1/accounts', { body: 'type=custom' });
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.error.param, 'account');
    assert.equal(await connectedCount(t), before);
  });
});
