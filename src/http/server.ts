import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import qs from 'qs';
import type { AccountsService } from '../accounts/service.ts';
import { ApiError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { parseUpload, UPLOAD_CONTENT_TYPES } from '../reconciliation/upload.ts';
import { registerShedding, type SheddingOptions } from './shedding.ts';

// The HTTP server: Stripe's wire conventions (form bodies with bracket
// notation, JSON too, Bearer or Basic keys, Stripe's error bodies) with every
// limit explicit.

const QS_OPTIONS: qs.IParseOptions = {
  depth: LIMITS.formDepthMax,
  arrayLimit: LIMITS.formArrayLengthMax,
  parameterLimit: LIMITS.formParametersMax,
  allowPrototypes: false,
  plainObjects: true,
  strictDepth: true,
  throwOnLimitExceeded: true,
};

function parseForm(text: string): unknown {
  try {
    return qs.parse(text, QS_OPTIONS);
  } catch (error) {
    throw new ApiError(
      'invalid_request_body',
      `Invalid form-encoded body: ${(error as Error).message}`,
    );
  }
}

// The router parses the query string before any hook runs, outside the
// request's error handling: a parser that throws there crashes the process.
// So a query that cannot be parsed becomes this marker, reported in preValidation.
const QUERY_ERROR = Symbol('payrail.queryError');

function parseQuery(text: string): Record<string, unknown> {
  try {
    return parseForm(text) as Record<string, unknown>;
  } catch (error) {
    return { [QUERY_ERROR]: error };
  }
}

function queryError(query: unknown): unknown {
  return typeof query === 'object' && query !== null
    ? (query as Record<symbol, unknown>)[QUERY_ERROR]
    : undefined;
}

function jsonDepthExceeds(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= LIMITS.jsonDepthMax) return true;
  return Object.values(value).some((item) => jsonDepthExceeds(item, depth + 1));
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(
      'invalid_request_body',
      'Invalid JSON body: the request body could not be parsed.',
    );
  }
  if (jsonDepthExceeds(value, 0)) {
    throw new ApiError(
      'invalid_request_body',
      `Invalid JSON body: nested deeper than ${LIMITS.jsonDepthMax} levels.`,
    );
  }
  return value;
}

/** True when a string anywhere in `value` holds U+0000; depth-bounded like the parsers. */
function hasNulChar(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (typeof value !== 'object' || value === null || depth > 64) return false;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000') || hasNulChar(item, depth + 1)) return true;
  }
  return false;
}

function bearerKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    // curl -u sk_test_...: sends the key as the user name with an empty password.
    return Buffer.from(value, 'base64').toString('utf8').split(':')[0];
  }
  return undefined;
}

export function buildServer(deps: {
  logger: Logger;
  accounts: AccountsService;
  shedding?: SheddingOptions;
}): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: LIMITS.bodyBytesMax,
    routerOptions: {
      maxParamLength: LIMITS.paramLengthMax,
      querystringParser: parseQuery,
    },
    // Errors the router raises before a route is found: Stripe's error body too.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const e =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(
              'resource_missing',
              `No such object: ids are at most ${LIMITS.paramLengthMax} characters.`,
              {
                param: 'id',
              },
            )
          : new ApiError('invalid_request_body', 'The request URL could not be parsed.');
      return reply.code(e.status).send(e.toBody());
    },
    genReqId: () => newId('req'),
    requestIdHeader: false,
    // Requests Node's HTTP parser refuses (headers over 16 KiB, malformed
    // request lines) never reach Fastify's routing: answer them in Stripe's
    // error shape too, then close the connection.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const tooLarge = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW';
      const e = tooLarge
        ? new ApiError(
            'request_header_fields_too_large',
            'The request line and headers together are too large (at most 16 KiB).',
          )
        : new ApiError('invalid_request_body', 'The request could not be parsed as HTTP.');
      const body = JSON.stringify(e.toBody());
      const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
      socket.end(
        `HTTP/1.1 ${e.status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Report files (reconciliation imports): streamed with their own size limit.
  app.addContentTypeParser(UPLOAD_CONTENT_TYPES, (req, payload, done) => {
    parseUpload(req, payload).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    if ((body as string).length === 0) return done(null, {});
    done(
      new ApiError(
        'unsupported_content_type',
        `Unsupported Content-Type ${req.headers['content-type'] ?? ''}: send application/x-www-form-urlencoded or application/json.`,
      ),
      undefined,
    );
  });

  // First hook: an overloaded process answers before it authenticates anything.
  registerShedding(app, deps.shedding ?? { maxInflight: LIMITS.inflightDefault });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('request-id', request.id);
    const rule = request.routeOptions.config?.auth;
    if (rule === undefined || rule === 'none') return;
    const key = bearerKey(request);
    if (!key) {
      throw new ApiError(
        'api_key_missing',
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
      );
    }
    const identity = await deps.accounts.authenticate(key);
    if (!identity) {
      const hint = key.length > 12 ? `${key.slice(0, 8)}*********${key.slice(-4)}` : '***';
      throw new ApiError('api_key_invalid', `Invalid API Key provided: ${hint}`);
    }
    if (identity.kind === 'publishable' && rule !== 'publishable') {
      throw new ApiError(
        'api_key_insufficient_permissions',
        'This API call cannot be made with a publishable API key. Please use a secret API key.',
      );
    }
    const scope = { accountId: identity.accountId, livemode: identity.livemode };
    request.scope = scope;
    request.keyKind = identity.kind;
    const onBehalf = request.headers['stripe-account'];
    if (onBehalf !== undefined) request.scope = await actingScope(request, scope, onBehalf);
  });

  /** Stripe-Account: a platform reads in one of its connected accounts' scope (docs/connect.md). */
  async function actingScope(
    request: FastifyRequest,
    scope: { accountId: string; livemode: boolean },
    header: string | string[],
  ) {
    if (typeof header !== 'string' || request.method !== 'GET') {
      // Writes stay in the key's own account: silently ignoring the header
      // there would put money movements in the wrong books.
      throw new ApiError(
        'parameter_invalid',
        'The Stripe-Account header is honored on GET requests only, once per request.',
        { param: 'Stripe-Account' },
      );
    }
    return deps.accounts.connect.actingScope(scope, header.trim());
  }

  app.addHook('preValidation', async (request) => {
    const error = queryError(request.query);
    if (error) throw error;
    // PostgreSQL text cannot hold U+0000: refused here on both databases
    // rather than failing as a 500 deep in a query.
    for (const [where, value] of [
      ['URL', request.params],
      ['query string', request.query],
      ['body', request.body],
    ] as const) {
      if (hasNulChar(value, 0)) {
        throw new ApiError(
          'invalid_request_body',
          `The ${where} contains a NUL (\\u0000) character.`,
        );
      }
    }
  });

  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      if (error.headers) reply.headers(error.headers);
      return reply.code(error.status).send(error.toBody());
    }
    const fe = error as FastifyError;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const e = new ApiError(
        'request_too_large',
        `Request body is larger than ${LIMITS.bodyBytesMax} bytes.`,
      );
      return reply.code(e.status).send(e.toBody());
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const e = new ApiError('unsupported_content_type', 'Unsupported Content-Type.');
      return reply.code(e.status).send(e.toBody());
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      const e = new ApiError('invalid_request_body', fe.message);
      return reply.code(fe.statusCode).send(e.toBody());
    }
    request.log.error({ err: error }, 'unhandled error');
    const e = new ApiError(
      'api_error',
      'An unexpected error occurred in Payrail. The request id identifies it in the logs.',
    );
    return reply.code(500).send(e.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const e = new ApiError(
      'route_missing',
      `Unrecognized request URL (${request.method}: ${request.url.split('?')[0]}).`,
    );
    return reply.code(404).send(e.toBody());
  });

  return app;
}
