import { z } from 'zod';

// The OpenAPI document is generated from the same zod schemas that validate
// requests (registered by defineRoute), so the two cannot drift apart.

export interface RouteDoc {
  method: string;
  path: string;
  summary: string;
  tag: string;
  auth: 'secret' | 'publishable' | 'none';
  body?: z.ZodType | undefined;
  query?: z.ZodType | undefined;
}

const routes: RouteDoc[] = [];

export function registerRouteDoc(doc: RouteDoc): void {
  if (!routes.some((r) => r.method === doc.method && r.path === doc.path)) routes.push(doc);
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        type: { type: 'string' },
        code: { type: 'string' },
        decline_code: { type: 'string' },
        message: { type: 'string' },
        param: { type: 'string' },
        doc_url: { type: 'string' },
      },
      required: ['type', 'message'],
    },
  },
};

export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const params = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [route.tag],
      parameters: params,
      security: route.auth === 'none' ? [] : [{ bearerAuth: [] }, { basicAuth: [] }],
      responses: {
        '200': { description: 'OK' },
        default: { description: 'Error', content: { 'application/json': { schema: errorSchema } } },
      },
    };
    if (route.query) {
      const schema = jsonSchema(route.query);
      const props = (schema.properties ?? {}) as Record<string, unknown>;
      for (const [name, s] of Object.entries(props)) {
        params.push({ name, in: 'query', required: false, schema: s as { type: string } });
      }
    }
    if (route.body) {
      const schema = jsonSchema(route.body);
      operation.requestBody = {
        content: {
          'application/x-www-form-urlencoded': { schema },
          'application/json': { schema },
        },
      };
    }
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Payrail API', version, description: 'A Stripe-compatible payment engine.' },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer' },
        basicAuth: { type: 'http', scheme: 'basic' },
      },
    },
    paths,
  };
}
