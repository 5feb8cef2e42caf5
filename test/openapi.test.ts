import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ERROR_CATALOGUE } from '../src/lib/errors.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// The OpenAPI document describes every route, and the error catalogue is
// documented in docs/errors.md with the same statuses and types.

const ROOT = path.resolve(import.meta.dirname, '..');
/** The API is everything under /v1/; other routes (/healthz, /openapi.json, browser pages) are not. */
const isApi = (p: string) => p.startsWith('/v1/');

/** Method + path of every route Fastify serves, from printRoutes' tree. */
function servedRoutes(tree: string): { method: string; variants: string[] }[] {
  const out: { method: string; variants: string[] }[] = [];
  const stack: string[][] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    // Fastify merges parameters with different names: `/:id|:customer`.
    const alternatives = (match[2] ?? '')
      .split('|')
      .map((alt, i) => (i === 0 ? alt : `/${alt.replace(/^\//, '')}`));
    const parents = stack[depth - 1] ?? [''];
    stack[depth] = parents.flatMap((p) => alternatives.map((a) => p + a));
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) {
      out.push({ method, variants: stack[depth] ?? [] });
    }
  }
  return out;
}

function documentedCodes(markdown: string): Map<string, { status: number; type: string }> {
  const rows = new Map<string, { status: number; type: string }>();
  for (const match of markdown.matchAll(
    /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*([a-z_]+)\s*\|/gm,
  )) {
    rows.set(match[1] ?? '', { status: Number(match[2]), type: match[3] ?? '' });
  }
  return rows;
}

describe('openapi and error docs', () => {
  let t: TestEngine;
  // biome-ignore lint/suspicious/noExplicitAny: the document is checked field by field.
  let doc: any;
  before(async () => {
    t = await startEngine();
    const res = await rawRequest(t, 'GET', '/openapi.json', { key: null });
    assert.equal(res.status, 200);
    doc = res.json;
  });
  after(async () => {
    await t.close();
  });

  test('is an OpenAPI 3.1 document with security schemes', () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof doc.info.title, 'string');
    assert.equal(typeof doc.info.version, 'string');
    assert.equal(doc.components.securitySchemes.bearerAuth.scheme, 'bearer');
    assert.equal(typeof doc.paths, 'object');
  });

  test('POST /v1/customers documents its body, with email and metadata', () => {
    const post = doc.paths['/v1/customers']?.post;
    assert.ok(post, 'POST /v1/customers is documented');
    for (const type of ['application/x-www-form-urlencoded', 'application/json']) {
      const schema = post.requestBody.content[type].schema;
      assert.equal(schema.type, 'object');
      assert.equal(
        schema.additionalProperties,
        false,
        'unknown parameters are refused, and the document says so',
      );
      assert.ok(schema.properties.email, 'email');
      assert.ok(schema.properties.metadata, 'metadata');
      assert.ok(schema.properties.address, 'address');
    }
    const list = doc.paths['/v1/customers']?.get;
    const limit = list.parameters.find((p: { name: string }) => p.name === 'limit');
    assert.equal(limit.in, 'query');
    assert.equal(limit.schema.maximum, 100);
    const retrieve = doc.paths['/v1/customers/{id}']?.get;
    assert.deepEqual(retrieve.parameters.find((p: { in: string }) => p.in === 'path')?.name, 'id');
  });

  test('every /v1 route the server serves is in the document, and nothing else', async () => {
    const served = servedRoutes(t.engine.app.printRoutes({ commonPrefix: false }));
    assert.ok(served.length >= 8, `parsed ${served.length} routes`);
    const toDoc = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');
    let documented = 0;
    for (const route of served) {
      if (!route.variants.some(isApi)) continue;
      const found = route.variants.some((v) => doc.paths[toDoc(v)]?.[route.method.toLowerCase()]);
      assert.ok(found, `${route.method} ${route.variants.join(' | ')} is not in /openapi.json`);
      documented += 1;
    }
    // And the reverse: every documented operation is served.
    let operations = 0;
    for (const [p, methods] of Object.entries(
      doc.paths as Record<string, Record<string, unknown>>,
    )) {
      for (const method of Object.keys(methods)) {
        const url = p.replace(/\{([A-Za-z_]+)\}/g, ':$1');
        assert.ok(
          t.engine.app.hasRoute({ method: method.toUpperCase() as 'GET', url }),
          `${method} ${p} is not served`,
        );
        operations += 1;
      }
    }
    assert.equal(operations, documented);
  });

  test('every catalogue code is in docs/errors.md with its status and type', () => {
    const markdown = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
    const documented = documentedCodes(markdown);
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      const row = documented.get(code);
      assert.ok(row, `error code ${code} is not documented in docs/errors.md`);
      assert.equal(
        row.status,
        entry.status,
        `${code}: docs say ${row.status}, catalogue ${entry.status}`,
      );
      assert.equal(row.type, entry.type, `${code}: docs say ${row.type}, catalogue ${entry.type}`);
    }
    for (const code of documented.keys()) {
      assert.ok(
        code in ERROR_CATALOGUE,
        `docs/errors.md documents ${code}, which the catalogue does not have`,
      );
    }
  });
});
