import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAccountsService } from '../src/accounts/service.ts';
import { type DatabaseHandle, migrate, openDatabase } from '../src/db/database.ts';
import { systemClock } from '../src/lib/clock.ts';
import { randomToken } from '../src/lib/ids.ts';
import { createPgDatabase, testDialect } from './helpers/engine.ts';

// First start on a new database: the default account and its keys are made
// once and all together, however many engines start at the same moment.

describe(`bootstrap of a new database (${testDialect()})`, () => {
  let dir: string;
  let pgUrl: string | undefined;
  let drop: (() => Promise<void>) | undefined;
  const handles: DatabaseHandle[] = [];

  const open = async () => {
    const handle = openDatabase({ dataDir: dir, databaseUrl: pgUrl });
    handles.push(handle);
    await migrate(handle);
    return handle;
  };
  const counts = async (handle: DatabaseHandle) => ({
    accounts: (await handle.db.selectFrom('accounts').select('id').execute()).length,
    keys: (await handle.db.selectFrom('api_keys').select('id').execute()).length,
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-boot-'));
    if (testDialect() === 'postgres') {
      const pg = await createPgDatabase();
      pgUrl = pg.url;
      drop = pg.drop;
    }
  });

  after(async () => {
    for (const handle of handles) await handle.close();
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a failing bootstrap leaves no account without keys, and the next start makes one', async () => {
    const handle = await open();
    const accounts = createAccountsService(handle.db, systemClock);
    // A live key where a test key is asked for: the second write fails.
    await assert.rejects(
      accounts.bootstrap({ secretKey: `sk_live_${randomToken(28)}` }),
      /does not look like a test secret key/,
    );
    assert.deepEqual(await counts(handle), { accounts: 0, keys: 0 });
    const boot = await accounts.bootstrap({});
    assert.ok(boot);
    assert.deepEqual(await counts(handle), { accounts: 1, keys: 2 });
    // Wipe for the next test.
    await handle.db.deleteFrom('api_keys').execute();
    await handle.db.deleteFrom('accounts').execute();
  });

  // On SQLite, engines are separate processes and BEGIN IMMEDIATE serialises
  // them; several SQLite engines in this one process would block each other's
  // event loop on the busy timeout, so that case runs on PostgreSQL only.
  const concurrent = testDialect() === 'postgres' ? test : test.skip;
  concurrent('engines starting together make exactly one account', async () => {
    const engines = await Promise.all([open(), open(), open()]);
    const results = await Promise.all(
      engines.map((h) => createAccountsService(h.db, systemClock).bootstrap({})),
    );
    assert.equal(results.filter((r) => r !== null).length, 1, 'one engine bootstrapped');
    assert.deepEqual(await counts(engines[0] as DatabaseHandle), { accounts: 1, keys: 2 });
  });
});
