import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startEngine, type TestEngine, tableCounts } from './helpers/engine.ts';

// Bad input, property-based: random, malformed, oversized and hostile ids,
// bodies, headers and query strings at every route of /openapi.json plus the
// public routes. The engine starts on an empty database, so no id can exist.
//
// What must hold for every request:
// - an answer within REQUEST_TIMEOUT_MS (a hang fails), never a 5xx;
// - a 4xx carries Stripe's error body: error.type and a non-empty error.message;
// - a 2xx is allowed only for a GET (reads change nothing), or for a POST to a
//   route in MAY_CREATE_WITH_ANY_BODY, where every parameter is optional so an
//   empty or harmless body is a valid request (such a success re-baselines the
//   row counts; it is the only way the counts may change);
// - after any non-2xx answer, every table's row count is unchanged.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const TIME_LIMIT_MS = 20_000;
const RUNS_MAX = 2000;
const REQUEST_TIMEOUT_MS = 10_000;
/** POST routes where every parameter is optional: an empty body creates an object. */
const MAY_CREATE_WITH_ANY_BODY = new Set([
  'POST /v1/customers',
  'POST /v1/accounts',
  'POST /v1/routing',
  'POST /v1/notification_settings',
]);
/** Public routes outside the OpenAPI document. */
const PUBLIC_ROUTES = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/status/{account}' },
  { method: 'POST', path: '/v1/connector_webhooks/{connector}' },
  { method: 'GET', path: '/test_helpers/3ds/{reference}' },
];

/** Browser pages (3-D Secure challenge, status page): their errors are HTML, not JSON. */
const HTML_PAGES = ['/test_helpers/3ds/', '/status/'];

function assertStripeError(text: string, label: string): void {
  let json: { error?: { type?: unknown; message?: unknown } };
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`not JSON for ${label}: ${text.slice(0, 200)}`);
  }
  assert.equal(typeof json.error?.type, 'string', `no error.type for ${label}: ${text}`);
  assert.ok(
    typeof json.error?.message === 'string' && json.error.message.length > 0,
    `no error.message for ${label}: ${text}`,
  );
}

/** The engine's last logged unhandled error: a 5xx names its cause in the failure. */
function lastEngineError(t: TestEngine): string {
  const lines = fs.readFileSync(t.logFile, 'utf8').split('\n');
  const line = lines.reverse().find((l) => l.includes('unhandled error'));
  return line ? `engine log: ${line.slice(0, 1500)}` : 'no unhandled error in the engine log';
}

interface Route {
  method: string;
  path: string;
}

// Ids: printable, unicode, path tricks, NUL, SQL, very long. Raw path
// tricks are sent as they are; everything else is percent-encoded.
const RAW_HOSTILE = ['..', '%2e%2e%2f', '%00', '%ff', "'%20OR%201=1--", '%5C..%5C', '~', '.'];
const idArb = fc.oneof(
  fc.constantFrom(...RAW_HOSTILE).map((raw) => ({ raw })),
  fc
    .oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('pi_', 'cus_', '../../etc/passwd', "x' OR '1'='1", '\u0000', 'null', '-1'),
      fc.nat(20).map((n) => 'a'.repeat(250 + n)),
      fc.constant('z'.repeat(5000)),
      fc.stringMatching(/^(pi|ch|cus|pm|re|evt|we|acct|conn|inc)_[A-Za-z0-9]{1,30}$/),
    )
    .map((s) => ({ raw: encodeURIComponent(s) || 'x' })),
);

const asciiArb = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map(String.fromCharCode),
  maxLength: 60,
});
const jsonValueArb = fc.jsonValue({ maxDepth: 3 });
const paramNameArb = fc.oneof(
  fc.constantFrom(
    'amount',
    'currency',
    'payment_method',
    'confirm',
    'customer',
    'metadata',
    'limit',
    'starting_after',
    'ending_before',
    'email',
    'description',
    'capture_method',
    'payment_intent',
    'url',
    'enabled_events',
    '__proto__',
    'constructor',
  ),
  asciiArb.filter((s) => s.length > 0),
);

function formEncode(entries: [string, string][]): string {
  return entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

const bodyArb: fc.Arbitrary<{ text?: string; contentType?: string } | undefined> = fc.oneof(
  fc.constant(undefined),
  fc
    .array(fc.tuple(paramNameArb, fc.oneof(asciiArb, fc.string({ maxLength: 30 }))), {
      maxLength: 8,
    })
    .map((e) => ({ text: formEncode(e), contentType: 'application/x-www-form-urlencoded' })),
  fc
    .dictionary(paramNameArb, jsonValueArb, { maxKeys: 6 })
    .map((o) => ({ text: JSON.stringify(o), contentType: 'application/json' })),
  fc
    .oneof(jsonValueArb, fc.array(fc.nat()))
    .map((v) => ({ text: JSON.stringify(v), contentType: 'application/json' })),
  fc
    .constantFrom('{', '{"amount":', '[1,2', 'nul', '{"a":1}}', '\u0000')
    .map((text) => ({ text, contentType: 'application/json' })),
  fc.nat({ max: 3 }).map((i) => {
    // Deep nesting, beyond the parser's depth limits.
    const depth = [8, 50, 500, 5000][i] ?? 8;
    return {
      text: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      contentType: 'application/json',
    };
  }),
  fc
    .constantFrom(
      `a${'[b]'.repeat(20)}=1`,
      Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&'),
      `metadata[k]=${'v'.repeat(5000)}`,
      `amount=${'9'.repeat(400)}&currency=usd`,
      `amount=-5&currency=usd`,
      `amount=1.5&currency=xxx`,
      `items[]=${Array.from({ length: 500 }, () => 'x').join('&items[]=')}`,
    )
    .map((text) => ({ text, contentType: 'application/x-www-form-urlencoded' })),
  fc.constant({
    text: JSON.stringify({ big: 'x'.repeat(300 * 1024) }),
    contentType: 'application/json',
  }),
  fc.constant({
    text: JSON.stringify({ list: Array.from({ length: 100_000 }, (_, i) => i) }),
    contentType: 'application/json',
  }),
  fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-7',
        '*/*',
        '',
      ),
      asciiArb,
    )
    .map(([contentType, text]) => ({ text: text || 'x', contentType })),
);

const queryArb = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(paramNameArb, asciiArb), { maxLength: 5 }).map((e) => formEncode(e)),
  fc.constantFrom(
    'limit=0',
    'limit=101',
    'limit=-1',
    'limit=abc',
    'limit=1e3',
    'starting_after=pi_nope',
    'starting_after=x&ending_before=y',
    `a${'[b]'.repeat(20)}=1`,
    Array.from({ length: 1500 }, (_, i) => `q${i}=1`).join('&'),
    'created[gte]=abc',
    '%zz',
    'expand[]=data.customer',
  ),
);

type AuthKind = 'secret' | 'publishable' | 'none' | 'garbage' | 'basic-garbage' | 'scheme-only';
const authArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant<AuthKind>('secret') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<AuthKind>(
      'publishable',
      'none',
      'garbage',
      'basic-garbage',
      'scheme-only',
    ),
  },
);
const idempotencyArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(''),
  asciiArb,
  fc.nat(1000).map((n) => 'k'.repeat(200 + n)),
);

function authHeader(t: TestEngine, kind: AuthKind, garbage: string): string | undefined {
  switch (kind) {
    case 'secret':
      return `Bearer ${t.secretKey}`;
    case 'publishable':
      return `Bearer ${t.publishableKey}`;
    case 'none':
      return undefined;
    case 'garbage':
      return `Bearer sk_test_${garbage}`;
    case 'basic-garbage':
      return `Basic ${garbage}`;
    case 'scheme-only':
      return 'Bearer';
  }
}

describe('fuzz: hostile input at every route', () => {
  let t: TestEngine;
  let routes: Route[];
  before(async () => {
    t = await startEngine();
    const doc = (await (
      await fetch(`${t.url}/openapi.json`, { signal: AbortSignal.timeout(5000) })
    ).json()) as { paths: Record<string, Record<string, unknown>> };
    routes = [
      ...Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
      ),
      ...PUBLIC_ROUTES,
    ];
  });
  after(async () => t?.close());

  test(`4xx with a clear error, never 5xx or a hang, nothing changed (seed ${SEED})`, async () => {
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays it); ${routes.length} routes`);
    assert.ok(routes.length >= 20, `only ${routes.length} routes in /openapi.json`);
    let counts = await tableCounts(t);
    const statuses: Record<string, number> = {};

    const property = fc.asyncProperty(
      fc.nat(),
      fc.oneof(
        { weight: 9, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
      fc.array(idArb, { minLength: 3, maxLength: 3 }),
      bodyArb,
      queryArb,
      authArb,
      asciiArb,
      idempotencyArb,
      async (routeIndex, wrongMethod, ids, body, query, auth, garbage, idemKey) => {
        const route = routes[routeIndex % routes.length] as Route;
        let n = 0;
        const pathname = route.path.replace(/\{[^}]+\}/g, () => ids[n++ % ids.length]?.raw ?? 'x');
        const method = wrongMethod ? (route.method === 'GET' ? 'DELETE' : 'PUT') : route.method;
        const headers: Record<string, string> = {};
        const authorization = authHeader(t, auth, garbage);
        if (authorization !== undefined) headers.authorization = authorization;
        if (idemKey !== undefined) headers['idempotency-key'] = idemKey;
        const sendsBody = body !== undefined && method !== 'GET';
        if (sendsBody && body.contentType) headers['content-type'] = body.contentType;
        const url = `${t.url}${pathname}${query ? `?${query}` : ''}`;
        const label = `${method} ${url.slice(0, 200)} body=${body?.text?.slice(0, 120)}`;

        const response = await fetch(url, {
          method,
          headers,
          body: sendsBody ? body.text : undefined,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await response.text();
        const status = response.status;
        statuses[status] = (statuses[status] ?? 0) + 1;
        assert.ok(
          status < 500,
          `${status} for ${label}: ${text.slice(0, 300)}\n${lastEngineError(t)}`,
        );

        if (status >= 200 && status < 300) {
          const key = `${method} ${route.path.replace(/\{([^}]+)\}/g, ':$1')}`;
          const allowed = method === 'GET' || MAY_CREATE_WITH_ANY_BODY.has(key);
          assert.ok(allowed, `${status} success for ${label}: ${text.slice(0, 300)}`);
          counts = await tableCounts(t);
          return;
        }
        assert.ok(status >= 400, `${status} for ${label}`);
        if (HTML_PAGES.some((prefix) => route.path.startsWith(prefix)) && status !== 431) {
          // Pages for a customer's browser answer with an HTML error page.
          // (A request line + headers over 16 KiB is refused by Node's HTTP
          // parser before routing, with a 431 in Stripe's shape everywhere.)
          assert.ok(text.length > 0, `empty ${status} page for ${label}`);
        } else {
          assertStripeError(text, label);
        }
        assert.deepEqual(await tableCounts(t), counts, `rows changed by a rejected ${label}`);
      },
    );
    await fc.assert(property, {
      seed: SEED,
      numRuns: RUNS_MAX,
      interruptAfterTimeLimit: TIME_LIMIT_MS,
      markInterruptAsFailure: false,
      endOnFailure: true,
    });
    const total = Object.values(statuses).reduce((s, x) => s + x, 0);
    console.log(`fuzz: ${total} requests, statuses ${JSON.stringify(statuses)}`);
    assert.ok(total >= 100, `only ${total} requests ran in ${TIME_LIMIT_MS} ms`);
  });
});
