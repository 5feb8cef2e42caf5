import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type DatabaseHandle, migrate, openDatabase } from '../db/database.ts';
import { InvariantError } from '../lib/assert.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import {
  createIdempotencyStore,
  type IdempotencyStore,
  type KeyRef,
  requestHash,
} from './idempotency.ts';

// The idempotency store on a real SQLite database, with a clock the test moves.

class FakeClock {
  ms = 1_700_000_000_000;
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const request = { method: 'POST', path: '/v1/customers', params: { email: 'a@example.com' } };
let keySeq = 0;
const alive = new Set(['inst_a', 'inst_b']);
const freshRef = (): KeyRef => ({
  scope: { accountId: 'acct_unit', livemode: false },
  key: `k-${++keySeq}`,
});

describe('idempotency store', () => {
  let dir: string;
  let handle: DatabaseHandle;
  let clock: FakeClock;
  let a: IdempotencyStore;
  let b: IdempotencyStore;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-idem-'));
    handle = openDatabase({ dataDir: dir });
    await migrate(handle);
  });
  after(async () => {
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = new FakeClock();
    // Two engine processes sharing one database.
    a = createIdempotencyStore(handle.db, clock, 'inst_a', {
      isAlive: async (id) => alive.has(id),
    });
    b = createIdempotencyStore(handle.db, clock, 'inst_b', {
      isAlive: async (id) => alive.has(id),
    });
  });

  async function row(ref: KeyRef) {
    return handle.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', ref.key)
      .executeTakeFirst();
  }

  test('request hashes ignore key order but not values, methods or paths', () => {
    const h = requestHash('POST', '/v1/x', { a: '1', b: { c: '2', d: '3' } });
    assert.equal(h, requestHash('POST', '/v1/x', { b: { d: '3', c: '2' }, a: '1' }));
    assert.notEqual(h, requestHash('POST', '/v1/x', { a: '1', b: { c: '2', d: '4' } }));
    assert.notEqual(h, requestHash('POST', '/v1/y', { a: '1', b: { c: '2', d: '3' } }));
    assert.notEqual(
      requestHash('POST', '/v1/x', { a: ['1', '2'] }),
      requestHash('POST', '/v1/x', { a: ['2', '1'] }),
    );
  });

  test('a completed key replays its response; other params are rejected', async () => {
    const ref = freshRef();
    assert.equal((await a.begin(ref, request)).kind, 'execute');
    await a.completeOutside(ref, { status: 200, body: { id: 'cus_1' } });
    assert.deepEqual(await b.begin(ref, request), {
      kind: 'replay',
      response: { status: 200, body: { id: 'cus_1' } },
    });
    await assert.rejects(
      b.begin(ref, { ...request, params: { email: 'b@example.com' } }),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.code, 'idempotency_key_reused');
        return true;
      },
    );
  });

  test('an in-progress key within its lease is in use (409)', async () => {
    const ref = freshRef();
    await a.begin(ref, request);
    clock.advance(LIMITS.idempotencyLeaseMs);
    await assert.rejects(b.begin(ref, request), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 'idempotency_key_in_use');
      assert.equal(e.status, 409);
      return true;
    });
  });

  test('an expired lease with nothing committed is taken over, and the old holder cannot complete', async () => {
    const ref = freshRef();
    await a.begin(ref, request);
    clock.advance(LIMITS.idempotencyLeaseMs + 1);
    assert.equal((await b.begin(ref, request)).kind, 'execute');
    assert.equal((await row(ref))?.locked_by, 'inst_b');
    await assert.rejects(
      a.completeOutside(ref, { status: 200, body: { from: 'a' } }),
      InvariantError,
    );
    await b.completeOutside(ref, { status: 200, body: { from: 'b' } });
    const replay = await a.begin(ref, request);
    assert.deepEqual(replay, { kind: 'replay', response: { status: 200, body: { from: 'b' } } });
  });

  test('a checkpointed key is never taken over; recovery completes it', async () => {
    await handle.db.deleteFrom('idempotency_keys').execute();
    const ref = freshRef();
    await a.begin(ref, request);
    await handle.db.transaction().execute((tx) => a.checkpoint(tx, ref, 'pi_unit_1'));
    clock.advance(LIMITS.idempotencyLeaseMs * 10);
    await assert.rejects(b.begin(ref, request), { code: 'idempotency_key_in_use' });
    assert.equal(await b.releaseAbandoned(), 0, 'a checkpointed key is not released');
    assert.equal((await row(ref))?.locked_by, 'inst_a');

    const n = await b.completeRecovered('pi_unit_1', async (scope) => ({
      status: 200,
      body: { id: 'pi_unit_1', scope },
    }));
    assert.equal(n, 1);
    const replay = await b.begin(ref, request);
    assert.equal(replay.kind, 'replay');
  });

  test('settleFailure stores expected errors and releases the key after a bug', async () => {
    const stored = freshRef();
    await a.begin(stored, request);
    const response = await a.settleFailure(stored, new ApiError('customer_deleted', 'gone'));
    assert.ok(typeof response === 'object');
    assert.equal(response.status, 400);
    assert.equal((await row(stored))?.status, 'done');

    const released = freshRef();
    await a.begin(released, request);
    assert.equal(await a.settleFailure(released, new Error('bug')), 'released');
    assert.equal(await row(released), undefined);
    assert.equal((await b.begin(released, request)).kind, 'execute', 'a retry executes again');
  });

  test('releaseAbandoned frees only expired, uncheckpointed keys of other holders', async () => {
    await handle.db.deleteFrom('idempotency_keys').execute();
    const fresh = freshRef();
    const stale = freshRef();
    const own = freshRef();
    await a.begin(stale, request);
    clock.advance(LIMITS.idempotencyLeaseMs + 1);
    await a.begin(fresh, request);
    await b.begin(own, request);
    assert.equal(await b.releaseAbandoned(), 1, 'lease expired');
    assert.equal(await row(stale), undefined);
    assert.ok(await row(fresh));
    assert.ok(await row(own));
    alive.delete('inst_a');
    assert.equal(await b.releaseAbandoned(), 1, 'holder gone: released at once');
    alive.add('inst_a');
    assert.ok(await row(own));
  });

  test('prune removes completed keys after the retention period, not before', async () => {
    await handle.db.deleteFrom('idempotency_keys').execute();
    const done = freshRef();
    const pending = freshRef();
    await a.begin(done, request);
    await a.completeOutside(done, { status: 200, body: {} });
    await a.begin(pending, request);
    clock.advance(LIMITS.idempotencyRetentionMs);
    assert.equal(await a.prune(), 0);
    clock.advance(1);
    assert.equal(await a.prune(), 1);
    assert.equal(await row(done), undefined);
    assert.ok(await row(pending), 'in-progress keys are not pruned');
    assert.equal((await a.begin(done, request)).kind, 'execute', 'a pruned key is new again');
  });

  test('keys must be 1 to 255 characters', async () => {
    const scope = { accountId: 'acct_unit', livemode: false };
    await assert.rejects(a.begin({ scope, key: '' }, request), {
      code: 'idempotency_key_too_long',
    });
    await assert.rejects(
      a.begin({ scope, key: 'x'.repeat(LIMITS.idempotencyKeyLengthMax + 1) }, request),
      {
        code: 'idempotency_key_too_long',
      },
    );
    assert.equal(
      (await a.begin({ scope, key: 'x'.repeat(LIMITS.idempotencyKeyLengthMax) }, request)).kind,
      'execute',
    );
  });
});
