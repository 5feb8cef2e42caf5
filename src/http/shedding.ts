import type { FastifyInstance } from 'fastify';
import { ApiError } from '../lib/errors.ts';

// Load shedding: beyond a fixed number of requests in flight in this process,
// new requests are answered at once with 503 `overloaded` and `Retry-After`,
// before authentication, idempotency or any database work. A request that is
// shed has changed nothing, so the client may retry it with the same
// Idempotency-Key. Without this bound, a burst beyond capacity queues without
// limit: memory grows and every request waits until it times out, the
// accepted ones included.

export interface SheddingOptions {
  /** Requests in flight (onRequest until the response is closed) before new ones are shed. */
  maxInflight: number;
  /** Seconds the client is told to wait before retrying. */
  retryAfterSeconds?: number;
}

/** Liveness and scraping must answer even, and especially, under overload. */
const NEVER_SHED = new Set(['/healthz', '/metrics']);

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export interface Shedder {
  /** Requests currently counted as in flight. */
  inflight(): number;
  /** Requests shed since start. */
  shedTotal(): number;
}

/** Registers the in-flight counter as the first onRequest hook of `app`. */
export function registerShedding(app: FastifyInstance, options: SheddingOptions): Shedder {
  if (!Number.isSafeInteger(options.maxInflight) || options.maxInflight < 1) {
    throw new Error(`maxInflight must be a positive integer, got ${options.maxInflight}`);
  }
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  let inflight = 0;
  let shed = 0;

  app.addHook('onRequest', async (request, reply) => {
    if (NEVER_SHED.has(pathOf(request.url))) return;
    if (inflight >= options.maxInflight) {
      shed += 1;
      const e = new ApiError(
        'overloaded',
        'Payrail is handling more requests than it can right now; nothing was done. Retry after the Retry-After delay with the same Idempotency-Key.',
      );
      reply.header('request-id', request.id).header('retry-after', retryAfter);
      return reply.code(e.status).send(e.toBody());
    }
    inflight += 1;
    // 'close' fires once for every response, finished or aborted by the
    // client, so the count cannot leak the way onResponse alone could.
    let released = false;
    reply.raw.once('close', () => {
      if (released) return;
      released = true;
      inflight -= 1;
    });
  });

  return { inflight: () => inflight, shedTotal: () => shed };
}
