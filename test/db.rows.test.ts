import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DatabaseHandle, migrate, openDatabase } from '../src/db/database.ts';
import { insertRows, selectRow, selectRows, updateRows } from '../src/db/insert.ts';
import type { IdempotencyKeysTable } from '../src/db/schema.ts';
import { createPgDatabase, testDialect } from './helpers/engine.ts';

// The raw row helpers of src/db/insert.ts (the hot paths use them instead of
// the query builder), on the dialect under test: the SQL they make must mean
// what the Kysely query it replaced meant.

function key(name: string, overrides: Partial<IdempotencyKeysTable> = {}): IdempotencyKeysTable {
  return {
    account_id: 'acct_rows',
    livemode: 0,
    key: name,
    request_method: 'POST',
    request_path: '/v1/things',
    request_hash: 'h',
    status: 'in_progress',
    locked_by: 'me',
    locked_at_ms: 1,
    recovery_resource: null,
    response_status: null,
    response_body: null,
    created_ms: 1,
    ...overrides,
  };
}

describe(`row helpers (${testDialect()})`, () => {
  let handle: DatabaseHandle;
  let dir: string;
  let drop: (() => Promise<void>) | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-rows-'));
    if (testDialect() === 'postgres') {
      const pg = await createPgDatabase();
      drop = pg.drop;
      handle = openDatabase({ dataDir: dir, databaseUrl: pg.url });
    } else {
      handle = openDatabase({ dataDir: dir });
    }
    await migrate(handle);
  });

  after(async () => {
    await handle.close();
    await drop?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('insert several rows in one statement; a conflicting row is skipped when asked', async () => {
    const { db } = handle;
    assert.equal(await insertRows(db, 'idempotency_keys', [key('a'), key('b'), key('c')]), 3);
    assert.equal(
      await insertRows(db, 'idempotency_keys', [key('a', { request_hash: 'other' })], {
        onConflictDoNothing: true,
      }),
      0,
    );
    assert.equal(
      (await selectRow(db, 'idempotency_keys', { ...scope, key: 'a' }))?.request_hash,
      'h',
    );
    await assert.rejects(insertRows(db, 'idempotency_keys', [key('a')]), /unique|UNIQUE|duplicate/);
  });

  test('undefined values are left out of an insert; rows of one insert must agree', async () => {
    const { db } = handle;
    const row = { ...key('d'), response_body: undefined } as unknown as IdempotencyKeysTable;
    assert.equal(await insertRows(db, 'idempotency_keys', [row]), 1);
    assert.equal(
      (await selectRow(db, 'idempotency_keys', { ...scope, key: 'd' }))?.response_body,
      null,
    );
    await assert.rejects(insertRows(db, 'idempotency_keys', [key('e'), row]), /same columns/);
    assert.equal(await selectRow(db, 'idempotency_keys', { ...scope, key: 'e' }), undefined);
  });

  test('equality, IN lists and IS NULL select exactly the matching rows', async () => {
    const { db } = handle;
    await updateRows(db, 'idempotency_keys', { recovery_resource: 'pi_1' }, { ...scope, key: 'b' });
    const inList = await selectRows(db, 'idempotency_keys', ['key'], {
      ...scope,
      key: ['a', 'b', 'zzz'],
    });
    assert.deepEqual(inList.map((r) => r.key).sort(), ['a', 'b']);
    const unset = await selectRows(db, 'idempotency_keys', ['key'], {
      ...scope,
      recovery_resource: null,
    });
    assert.deepEqual(unset.map((r) => r.key).sort(), ['a', 'c', 'd']);
    const other = await selectRows(db, 'idempotency_keys', ['key'], { ...scope, livemode: 1 });
    assert.deepEqual(other, []);
  });

  test('an update changes only the rows its conditions match and says how many', async () => {
    const { db } = handle;
    const changed = await updateRows(
      db,
      'idempotency_keys',
      { status: 'done', response_status: 200, response_body: '{}' },
      { ...scope, key: ['a', 'c'], status: 'in_progress' },
    );
    assert.equal(changed, 2);
    assert.equal(
      await updateRows(
        db,
        'idempotency_keys',
        { status: 'done' },
        { ...scope, key: 'a', status: 'in_progress' },
      ),
      0,
    );
    const done = await selectRows(db, 'idempotency_keys', ['key'], { ...scope, status: 'done' });
    assert.deepEqual(done.map((r) => r.key).sort(), ['a', 'c']);
  });

  test('a condition without a value or an empty IN list is refused before anything runs', async () => {
    const { db } = handle;
    const before = await selectRows(db, 'idempotency_keys', ['key', 'status'], scope);
    await assert.rejects(
      updateRows(db, 'idempotency_keys', { status: 'done' }, { ...scope, key: undefined }),
      /condition on key has a value/,
    );
    await assert.rejects(
      updateRows(db, 'idempotency_keys', { status: 'done' }, { ...scope, key: [] }),
      /IN list on key is not empty/,
    );
    await assert.rejects(
      updateRows(db, 'idempotency_keys', { status: 'done' }, {}),
      /at least one condition/,
    );
    assert.deepEqual(await selectRows(db, 'idempotency_keys', ['key', 'status'], scope), before);
  });
});

const scope = { account_id: 'acct_rows', livemode: 0 } as const;
