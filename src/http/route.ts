import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { OpContext, Scope } from '../db/context.ts';
import type { Tx } from '../db/database.ts';
import { ApiError } from '../lib/errors.ts';
import type { IdempotencyStore, KeyRef, StoredResponse } from './idempotency.ts';
import { registerRouteDoc } from './openapi.ts';
import { parseWith } from './validation.ts';

// defineRoute: one place where every API route gets its schema-checked input,
// its OpenAPI entry, its authentication rule and, for POST, idempotency.
// Handlers stay thin: parse (done here), call one service function, respond.

export type AuthRule = 'secret' | 'publishable' | 'none';

declare module 'fastify' {
  interface FastifyRequest {
    scope?: Scope;
    keyKind?: 'secret' | 'publishable';
  }
  interface FastifyContextConfig {
    auth?: AuthRule;
  }
}

export interface HandlerInput<B, Q> {
  ctx: OpContext;
  body: B;
  query: Q;
  params: Record<string, string>;
  request: FastifyRequest;
}

export interface RouteSpec<B extends z.ZodType, Q extends z.ZodType, R> {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  auth?: AuthRule;
  body?: B;
  query?: Q;
  handler(input: HandlerInput<z.output<B>, z.output<Q>>): Promise<R>;
  /** Maps the handler's result to the response; default 200 with the result as body. */
  respond?(result: R): StoredResponse;
}

export interface RouteDeps {
  idempotency: IdempotencyStore;
}

function defaultRespond(result: unknown): StoredResponse {
  return { status: 200, body: result };
}

function send(reply: FastifyReply, response: StoredResponse, replayed: boolean): FastifyReply {
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(response.status).send(response.body);
}

export function defineRoute<B extends z.ZodType, Q extends z.ZodType, R>(
  app: FastifyInstance,
  deps: RouteDeps,
  spec: RouteSpec<B, Q, R>,
): void {
  const auth = spec.auth ?? 'secret';
  const respond = spec.respond ?? defaultRespond;
  registerRouteDoc({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    tag: spec.tag,
    auth,
    body: spec.body,
    query: spec.query,
  });

  app.route({
    method: spec.method,
    url: spec.path,
    config: { auth },
    handler: async (request, reply) => {
      const body = spec.body ? parseWith(spec.body, request.body) : ({} as z.output<B>);
      const query = spec.query ? parseWith(spec.query, request.query) : ({} as z.output<Q>);
      const params = request.params as Record<string, string>;
      const scope = request.scope ?? { accountId: '', livemode: false };
      const keyHeader = request.headers['idempotency-key'];
      const key = spec.method === 'POST' && typeof keyHeader === 'string' ? keyHeader : null;
      const ref: KeyRef | null = key !== null && request.scope ? { scope, key } : null;

      if (ref) {
        const begun = await deps.idempotency.begin(ref, {
          method: spec.method,
          path: request.url.split('?')[0] ?? '',
          params: request.body ?? {},
        });
        if (begun.kind === 'replay') return send(reply, begun.response, true);
      }

      let completed: StoredResponse | null = null;
      const ctx: OpContext = {
        scope,
        requestId: request.id,
        idempotencyKey: key,
        complete: async (tx: Tx, result: unknown) => {
          const response = respond(result as R);
          if (ref) await deps.idempotency.complete(tx, ref, response);
          completed = response;
        },
        checkpoint: async (tx: Tx, resourceId: string) => {
          if (ref) await deps.idempotency.checkpoint(tx, ref, resourceId);
        },
      };

      try {
        const result = await spec.handler({ ctx, body, query, params, request });
        const response: StoredResponse = completed ?? respond(result);
        if (ref && !completed) {
          await deps.idempotency.completeOutside(ref, response);
        }
        return send(reply, response, false);
      } catch (error) {
        if (!ref) throw error;
        const settled = await deps.idempotency.settleFailure(ref, error);
        if (typeof settled === 'object') return send(reply, settled, false);
        throw error;
      }
    },
  });
}

export function ensureScope(request: FastifyRequest): Scope {
  if (!request.scope) throw new ApiError('api_key_missing', 'You did not provide an API key.');
  return request.scope;
}
