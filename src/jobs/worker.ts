import type { Logger } from '../lib/logger.ts';
import type { ClaimedJob, JobStore } from './store.ts';

// A poll loop over the jobs table. Each tick runs the optional `beforeClaim`
// step (the webhook fan-out), then claims as many due jobs as there are free
// slots and runs them concurrently, so one slow job never blocks the others.
// Handlers finish their job themselves (store.finish), in the transaction
// that records their result; a handler that throws gets its job retried once
// its lease expires.

export interface JobWorkerOptions {
  store: JobStore;
  workerId: string;
  logger: Logger;
  kinds: string[];
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  closeWaitMs: number;
  run(job: ClaimedJob): Promise<void>;
  beforeClaim?(): Promise<void>;
}

export interface JobWorker {
  start(): void;
  /** Runs a tick now instead of at the next poll. */
  wake(): void;
  /** Stops polling and waits (bounded) for jobs in flight. */
  stop(): Promise<void>;
}

export function createJobWorker(options: JobWorkerOptions): JobWorker {
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking = false;
  let again = false;
  let current: Promise<void> | undefined;

  async function tick(): Promise<void> {
    if (options.beforeClaim) await options.beforeClaim();
    const free = options.concurrency - inFlight.size;
    const jobs = await options.store.claim({
      workerId: options.workerId,
      kinds: options.kinds,
      limit: free,
      leaseMs: options.leaseMs,
    });
    for (const job of jobs) {
      const task = options
        .run(job)
        .catch((err) => options.logger.error({ err, jobId: job.id, kind: job.kind }, 'job failed'))
        .finally(() => {
          inFlight.delete(task);
          if (running) wake();
        });
      inFlight.add(task);
    }
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      current = loop();
    }, delayMs);
    timer.unref();
  }

  async function loop(): Promise<void> {
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      do {
        again = false;
        await tick();
      } while (again && running);
    } catch (err) {
      options.logger.error({ err }, 'job worker tick failed');
    } finally {
      ticking = false;
      schedule(options.pollIntervalMs);
    }
  }

  function wake(): void {
    if (running) schedule(0);
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    wake,
    async stop() {
      running = false;
      clearTimeout(timer);
      const deadline = new Promise<void>((resolve) =>
        setTimeout(resolve, options.closeWaitMs).unref(),
      );
      const drained = (async () => {
        await current;
        await Promise.allSettled([...inFlight]);
      })();
      await Promise.race([drained, deadline]);
    },
  };
}
