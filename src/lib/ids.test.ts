import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hasPrefix, newId, randomBase36, randomToken } from './ids.ts';

describe('ids', () => {
  test('format: prefix, underscore, 24 lowercase base-36 characters', () => {
    for (const prefix of ['cus', 'evt', 'pi', 'acct'] as const) {
      const id = newId(prefix);
      assert.match(id, new RegExp(`^${prefix}_[0-9a-z]{24}$`));
      assert.ok(hasPrefix(id, prefix));
    }
    assert.equal(hasPrefix('cus_x', 'cu' as 'cus'), false);
  });

  test('10,000 ids made in a tight loop are unique and sort in creation order', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('evt'));
    assert.equal(new Set(ids).size, ids.length);
    const sorted = [...ids].sort();
    assert.deepEqual(sorted, ids);
    // Also as the databases compare them: byte order.
    for (let i = 1; i < ids.length; i++) {
      assert.ok(Buffer.compare(Buffer.from(ids[i - 1] ?? ''), Buffer.from(ids[i] ?? '')) < 0);
    }
  });

  test('ids stay ordered when the clock goes backwards', () => {
    const now = Date.now() + 60_000;
    const a = newId('cus', now);
    const b = newId('cus', now - 30_000);
    const c = newId('cus', now);
    assert.ok(a < b && b < c, `${a} ${b} ${c}`);
  });

  test('later times sort later', () => {
    const base = Date.now() + 120_000;
    const ids = [0, 1, 1000, 86_400_000].map((d) => newId('pi', base + d));
    assert.deepEqual([...ids].sort(), ids);
  });

  test('random parts use their whole alphabet and have the requested length', () => {
    const token = randomToken(4096);
    assert.equal(token.length, 4096);
    assert.match(token, /^[A-Za-z0-9]+$/);
    assert.equal(new Set(token).size, 62);
    const base36 = randomBase36(2048);
    assert.match(base36, /^[0-9a-z]{2048}$/);
    assert.equal(new Set(base36).size, 36);
    assert.notEqual(randomToken(32), randomToken(32));
  });
});
