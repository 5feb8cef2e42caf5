import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { availableOn } from './book.ts';

// End-of-day settlement: funds become available at the first daily cutoff
// after the delay, so a day's funds settle together.

const DAY = 86_400;
// Sunday 2026-11-22 00:00:00 UTC.
const MIDNIGHT = Date.UTC(2026, 10, 22) / 1000;

describe('availableOn', () => {
  test('with a 00:00 cutoff, funds wait for the midnight after the delay', () => {
    const schedule = { availableAfterSeconds: 2 * DAY, settlementCutoffSeconds: 0 };
    // 10:30 → two days later at 10:30 → the next midnight.
    assert.equal(availableOn(MIDNIGHT + 37_800, schedule), MIDNIGHT + 3 * DAY);
    // Due exactly at a cutoff: that cutoff.
    assert.equal(availableOn(MIDNIGHT, schedule), MIDNIGHT + 2 * DAY);
    // One second after midnight waits almost a day more.
    assert.equal(availableOn(MIDNIGHT + 1, schedule), MIDNIGHT + 3 * DAY);
  });

  test('every payment of one day becomes available at the same cutoff', () => {
    const schedule = { availableAfterSeconds: 3600, settlementCutoffSeconds: 18 * 3600 };
    const times = [MIDNIGHT + 17 * 3600 + 1, MIDNIGHT + 20 * 3600, MIDNIGHT + DAY + 16 * 3600];
    const due = times.map((t) => availableOn(t, schedule));
    assert.deepEqual(due, [
      MIDNIGHT + DAY + 18 * 3600,
      MIDNIGHT + DAY + 18 * 3600,
      MIDNIGHT + DAY + 18 * 3600,
    ]);
    for (const [i, t] of times.entries()) {
      const available = due[i] as number;
      assert.ok(available >= t + 3600 && available < t + 3600 + DAY);
    }
  });

  test('no cutoff, or no delay: exactly after the delay', () => {
    assert.equal(
      availableOn(MIDNIGHT + 5, { availableAfterSeconds: 3600, settlementCutoffSeconds: null }),
      MIDNIGHT + 3605,
    );
    assert.equal(
      availableOn(MIDNIGHT + 5, { availableAfterSeconds: 0, settlementCutoffSeconds: 0 }),
      MIDNIGHT + 5,
    );
    assert.equal(availableOn(MIDNIGHT + 5, { availableAfterSeconds: 60 }), MIDNIGHT + 65);
  });
});
