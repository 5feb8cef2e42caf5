import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { GroupCommitSqliteDialect, type SqliteHandle } from './group-commit.ts';

interface Db {
  items: { id: number; note: string };
}

describe('grouped commits on SQLite', () => {
  let dir: string;
  let file: string;
  let db: Kysely<Db>;
  let commits = 0;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-group-'));
    file = path.join(dir, 'g.sqlite');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    const handle: SqliteHandle = {
      prepare: (text) => {
        if (text === 'commit') commits += 1;
        return sqlite.prepare(text);
      },
      close: () => sqlite.close(),
      get inTransaction() {
        return sqlite.inTransaction;
      },
    };
    db = new Kysely<Db>({ dialect: new GroupCommitSqliteDialect(handle) });
    await sql`create table items (id integer primary key, note text not null)`.execute(db);
  });

  after(async () => {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What another connection sees: only what is committed. */
  function committedIds(): number[] {
    const other = new SQLite(file, { readonly: true });
    try {
      return (other.prepare('select id from items order by id').all() as { id: number }[]).map(
        (r) => r.id,
      );
    } finally {
      other.close();
    }
  }

  test('concurrent transactions share commits; each is all-or-nothing', async () => {
    commits = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        db.transaction().execute(async (tx) => {
          await tx
            .insertInto('items')
            .values({ id: i + 1, note: 'a' })
            .execute();
          await tx
            .insertInto('items')
            .values({ id: 1000 + i, note: 'b' })
            .execute();
          if (i % 3 === 0) throw new Error(`transaction ${i} fails after two writes`);
        }),
      ),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    assert.equal(failed, 20);
    const ids = committedIds();
    const expected: number[] = [];
    for (let i = 0; i < 60; i++) if (i % 3 !== 0) expected.push(i + 1, 1000 + i);
    assert.deepEqual(
      ids,
      expected.sort((a, b) => a - b),
    );
    assert.ok(commits < 40, `40 transactions committed in ${commits} commits`);
  });

  test('a resolved commit is visible to another connection (on disk), a plain write too', async () => {
    await db.transaction().execute(async (tx) => {
      await tx.insertInto('items').values({ id: 5000, note: 'durable' }).execute();
    });
    assert.ok(committedIds().includes(5000));
    await db.insertInto('items').values({ id: 5001, note: 'plain' }).execute();
    assert.ok(committedIds().includes(5001));
    const row = await db.selectFrom('items').selectAll().where('id', '=', 5001).executeTakeFirst();
    assert.equal(row?.note, 'plain');
  });

  test('a failing statement rolls back only its own transaction', async () => {
    const [bad, good] = await Promise.allSettled([
      db.transaction().execute(async (tx) => {
        await tx.insertInto('items').values({ id: 6000, note: 'x' }).execute();
        await tx.insertInto('items').values({ id: 6000, note: 'duplicate' }).execute();
      }),
      db.transaction().execute(async (tx) => {
        await tx.insertInto('items').values({ id: 6001, note: 'y' }).execute();
      }),
    ]);
    assert.equal(bad?.status, 'rejected');
    assert.equal(good?.status, 'fulfilled');
    const ids = committedIds();
    assert.ok(!ids.includes(6000));
    assert.ok(ids.includes(6001));
  });
});
