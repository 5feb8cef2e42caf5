import type { Db } from '../db/database.ts';
import { advanceCursor, lockCursor } from '../jobs/cursor.ts';
import type { JobStore } from '../jobs/store.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import { eventMatches } from './matching.ts';
import { deliverJob } from './service.ts';

// The fan-out: reads events after a durable cursor in `events.seq` order and
// enqueues one delivery job per matching enabled endpoint. The cursor advance
// and the job inserts commit in one transaction, so a crash at any moment
// either did both or neither: no event is skipped, none fanned out twice.
//
// On PostgreSQL a `bigserial` seq is taken when the insert runs, not when it
// commits, so seq 7 may become visible before seq 6 (whose transaction is
// still open). The cursor therefore never moves past a gap until the event
// after the gap is older than LIMITS.webhookSeqGapGraceMs: by then the slow
// transaction has committed (events are written in short transactions) or it
// rolled back and the gap is permanent. SQLite has one writer, so its seqs
// commit in order and a gap is always permanent.

const CURSOR = 'webhooks.fanout';

export function createFanout(deps: { db: Db; clock: Clock; jobs: JobStore; postgres: boolean }) {
  const { db, clock, jobs } = deps;

  /** One pass; returns how many events it consumed (a full batch means: run again). */
  async function runOnce(): Promise<number> {
    return db.transaction().execute(async (tx) => {
      const nowMs = clock.nowMs();
      const cursor = await lockCursor(tx, CURSOR, nowMs, deps.postgres);
      const rows = await tx
        .selectFrom('events')
        .select(['seq', 'id', 'account_id', 'livemode', 'type', 'created'])
        .where('seq', '>', cursor)
        .orderBy('seq')
        .limit(LIMITS.webhookFanoutBatchMax)
        .execute();
      const taken = takeUntilYoungGap(rows, cursor, nowMs, deps.postgres);
      if (taken.length === 0) return 0;
      const accounts = [...new Set(taken.map((e) => e.account_id))];
      const endpoints = await tx
        .selectFrom('webhook_endpoints')
        .select(['id', 'account_id', 'livemode', 'enabled_events', 'created'])
        .where('account_id', 'in', accounts)
        .where('status', '=', 'enabled')
        .where('deleted', '=', 0)
        .execute();
      const parsed = endpoints.map((e) => ({ ...e, patterns: JSON.parse(e.enabled_events) }));
      const newJobs = taken.flatMap((event) =>
        parsed
          .filter(
            (e) =>
              e.account_id === event.account_id &&
              e.livemode === event.livemode &&
              // An endpoint receives the events from its creation on (replay covers older ones).
              event.created >= e.created &&
              eventMatches(e.patterns, event.type),
          )
          .map((e) => deliverJob(e.id, event.id)),
      );
      await jobs.enqueue(tx, newJobs);
      const last = taken.at(-1);
      if (last) await advanceCursor(tx, CURSOR, last.seq, nowMs);
      return taken.length;
    });
  }

  return { runOnce };
}

/** The prefix of `rows` the cursor may move over (see the comment at the top). */
export function takeUntilYoungGap<T extends { seq: number; created: number }>(
  rows: T[],
  cursor: number,
  nowMs: number,
  postgres: boolean,
): T[] {
  const taken: T[] = [];
  let position = cursor;
  for (const row of rows) {
    const gap = row.seq !== position + 1;
    // `created` is in whole seconds: add one so the grace is never shorter than stated.
    const ageMs = nowMs - (row.created + 1) * 1000;
    if (gap && postgres && ageMs < LIMITS.webhookSeqGapGraceMs) break;
    taken.push(row);
    position = row.seq;
  }
  return taken;
}
