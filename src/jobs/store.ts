import { sql } from 'kysely';
import type { Db, Dialect, Executor } from '../db/database.ts';
import type { JobsTable } from '../db/schema.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';

// The durable jobs table. A job stays `queued` until it is done, dead or
// canceled; a worker runs it under a lease (`locked_by`, `locked_until_ms`).
// A process that dies mid-job simply lets its lease expire and another pass
// (or process) takes the job again: jobs run at least once, never lost.
// On PostgreSQL, claims use FOR UPDATE SKIP LOCKED so several processes share
// the work without two holding the same job; on SQLite one process owns the
// data and the UPDATE ... WHERE lease-expired claim is atomic by itself.

export interface NewJob {
  kind: string;
  ref?: string | null;
  payload: unknown;
  runAtMs?: number;
}

export type ClaimedJob = JobsTable;

export function createJobStore(deps: { db: Db; dialect: Dialect; clock: Clock }) {
  const { db, dialect, clock } = deps;

  async function enqueue(ex: Executor, jobs: NewJob[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const nowMs = clock.nowMs();
    const rows: JobsTable[] = jobs.map((job) => ({
      id: newId('job', nowMs),
      kind: job.kind,
      ref: job.ref ?? null,
      payload: JSON.stringify(job.payload),
      status: 'queued',
      attempts: 0,
      run_at_ms: job.runAtMs ?? nowMs,
      locked_by: null,
      locked_until_ms: null,
      last_error: null,
      created_ms: nowMs,
      updated_ms: nowMs,
    }));
    await ex.insertInto('jobs').values(rows).execute();
    return rows.map((r) => r.id);
  }

  /** Takes up to `limit` due jobs of these kinds under a lease of `leaseMs`. */
  async function claim(options: {
    workerId: string;
    kinds: string[];
    limit: number;
    leaseMs: number;
  }): Promise<ClaimedJob[]> {
    if (options.limit <= 0 || options.kinds.length === 0) return [];
    const nowMs = clock.nowMs();
    let due = db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'queued')
      .where('kind', 'in', options.kinds)
      .where('run_at_ms', '<=', nowMs)
      .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<', nowMs)]))
      .orderBy('run_at_ms')
      .limit(options.limit);
    if (dialect === 'postgres') due = due.forUpdate().skipLocked();
    return db
      .updateTable('jobs')
      .set({
        locked_by: options.workerId,
        locked_until_ms: nowMs + options.leaseMs,
        attempts: sql`attempts + 1`,
        updated_ms: nowMs,
      })
      .where('id', 'in', due)
      .returningAll()
      .execute();
  }

  /**
   * Ends the job's lease with a new status. Fenced by `locked_by`: a worker
   * whose lease expired and was taken over changes nothing.
   */
  async function finish(
    ex: Executor,
    job: ClaimedJob,
    outcome:
      | { status: 'done' | 'dead' | 'canceled'; error?: string | null }
      | { status: 'retry'; runAtMs: number; error: string | null },
  ): Promise<boolean> {
    const nowMs = clock.nowMs();
    const result = await ex
      .updateTable('jobs')
      .set({
        status: outcome.status === 'retry' ? 'queued' : outcome.status,
        run_at_ms: outcome.status === 'retry' ? outcome.runAtMs : job.run_at_ms,
        locked_by: null,
        locked_until_ms: null,
        last_error: outcome.error ?? null,
        updated_ms: nowMs,
      })
      .where('id', '=', job.id)
      .where('locked_by', '=', job.locked_by)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives a claimed job back without counting an attempt (it could not run now). */
  async function release(job: ClaimedJob, runAtMs: number): Promise<void> {
    await db
      .updateTable('jobs')
      .set({
        run_at_ms: runAtMs,
        locked_by: null,
        locked_until_ms: null,
        attempts: sql`attempts - 1`,
        updated_ms: clock.nowMs(),
      })
      .where('id', '=', job.id)
      .where('locked_by', '=', job.locked_by)
      .execute();
  }

  /**
   * Frees the leases of processes that are gone (kill -9), so their jobs run
   * now rather than when the lease would have expired.
   */
  async function releaseOrphans(isAlive: (instanceId: string) => Promise<boolean>) {
    const nowMs = clock.nowMs();
    const owners = await db
      .selectFrom('jobs')
      .select('locked_by')
      .distinct()
      .where('status', '=', 'queued')
      .where('locked_until_ms', '>', nowMs)
      .execute();
    let released = 0;
    for (const { locked_by: owner } of owners) {
      if (owner === null || (await isAlive(owner))) continue;
      const result = await db
        .updateTable('jobs')
        .set({ locked_by: null, locked_until_ms: null, updated_ms: nowMs })
        .where('status', '=', 'queued')
        .where('locked_by', '=', owner)
        .executeTakeFirst();
      released += Number(result.numUpdatedRows);
    }
    return released;
  }

  /** Deletes finished jobs older than the retention, a bounded batch per call. */
  async function prune(): Promise<number> {
    const beforeMs = clock.nowMs() - LIMITS.jobsRetentionMs;
    const old = db
      .selectFrom('jobs')
      .select('id')
      .where('status', 'in', ['done', 'dead', 'canceled'])
      .where('updated_ms', '<', beforeMs)
      .limit(LIMITS.jobsPruneBatchMax);
    const result = await db.deleteFrom('jobs').where('id', 'in', old).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  return { enqueue, claim, finish, release, releaseOrphans, prune };
}

export type JobStore = ReturnType<typeof createJobStore>;
