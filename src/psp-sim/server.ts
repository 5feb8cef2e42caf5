import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { constantTimeEqual } from '../lib/crypto.ts';
import { LIMITS } from '../lib/limits.ts';
import { disputeCharge } from './disputes.ts';
import { createEvidenceBook } from './evidence.ts';
import {
  captureCharge,
  createCharge,
  createRefund,
  errorReply,
  lookupByReference,
  type SimContext,
  type SimReply,
  voidCharge,
} from './handlers.ts';
import { createRandom, MODE_UP, parseModeBody, type SimMode, serializeMode } from './modes.ts';
import { openSimStore } from './store.ts';

// The standalone processor simulator (`payrail psp-sim`, docs/psp-sim.md):
// a small JSON API on node:http that charges with the sandbox's test cards,
// keeps a durable list of what it charged, records dispute evidence, and
// misbehaves on request.
//
// It listens on two ports. The main port serves /v1 (the processor) and
// /_sim (control). The control port serves /_sim only; it exists because
// `down` with `refuse_connections` really stops listening on the main port
// (callers see ECONNREFUSED, as with a dead host), and the simulator must
// still be switchable back.

export interface PspSimOptions {
  port: number;
  host?: string;
  name: string;
  /** Where the durable charge list lives. */
  dataDir: string;
  /** When set, /v1 requests must carry exactly this bearer key; otherwise any non-empty key. */
  apiKey?: string | null;
  /** The /_sim-only control port; 0 (the default) picks a free one. */
  controlPort?: number;
}

export interface PspSim {
  url: string;
  /** Serves /_sim/* even while the main port refuses connections. */
  controlUrl: string;
  close(): Promise<void>;
}

interface Reply extends SimReply {
  /** Answer nothing: hold the socket until the caller gives up (timeout_after_charge). */
  hold?: boolean;
}

function send(res: http.ServerResponse, reply: SimReply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.httpStatus, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

class BodyTooLarge extends Error {}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > LIMITS.pspSimBodyBytesMax) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(text: string): { ok: true; value: unknown } | { ok: false } {
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const badJson = (): SimReply =>
  errorReply(400, { code: 'parameter_invalid', message: 'the body is not valid JSON' });

function bearer(req: http.IncomingMessage): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}

export async function startPspSim(options: PspSimOptions): Promise<PspSim> {
  const host = options.host ?? '127.0.0.1';
  const store = openSimStore(options.dataDir);
  const evidence = createEvidenceBook();
  const sockets = new Set<net.Socket>();
  const mainSockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let mode: SimMode = MODE_UP;
  let random = createRandom(null);
  let closing = false;
  let mainPort = options.port;
  let main: http.Server | null = null;

  const origin = (port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ctx: SimContext = {
    store,
    nowMs: () => Date.now(),
    challengeUrl: (id) => `${origin(mainPort)}/_sim/3ds/${id}`,
  };

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  function track(server: http.Server, own: Set<net.Socket> | null): void {
    server.on('connection', (socket) => {
      sockets.add(socket);
      own?.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        own?.delete(socket);
      });
    });
  }

  /** The fault gate: what the mode answers before the request is handled. */
  function fault(): SimReply | null {
    if (mode.mode === 'down') {
      return errorReply(503, {
        type: 'api_error',
        code: 'processor_unavailable',
        message: `psp-sim ${options.name} is down`,
      });
    }
    const failing = mode.mode === 'errors' || (mode.mode === 'flaky' && random() < mode.errorRate);
    if (!failing) return null;
    return errorReply(500, {
      type: 'api_error',
      code: 'processor_error',
      message: `psp-sim ${options.name} failed before acting (${mode.mode})`,
    });
  }

  async function handleV1(req: http.IncomingMessage, url: URL, body: string): Promise<Reply> {
    const arrivalMode = mode;
    const refused = fault();
    if (refused) return refused;
    if (arrivalMode.mode === 'slow') await sleep(arrivalMode.latencyMs);
    const key = bearer(req);
    const keyOk =
      key !== null && (options.apiKey ? constantTimeEqual(key, options.apiKey) : key.length > 0);
    if (!keyOk) {
      return errorReply(401, {
        code: 'invalid_api_key',
        message: 'Authorization: Bearer <api_key> is missing or wrong',
      });
    }
    const reply = routeV1(req.method ?? 'GET', url, body);
    // timeout_after_charge: act (above), then never answer a state-changing request.
    const hold = arrivalMode.mode === 'timeout_after_charge' && req.method === 'POST';
    return { ...reply, hold };
  }

  function routeV1(method: string, url: URL, text: string): SimReply {
    const route = `${method} ${url.pathname}`;
    if (route === 'GET /v1/health')
      return { httpStatus: 200, body: { status: 'ok', name: options.name } };
    if (route === 'GET /v1/charges')
      return lookupByReference(ctx, url.searchParams.get('reference'));
    if (method !== 'POST') return notFound(route);
    const body = parseJsonBody(text);
    if (!body.ok) return badJson();
    if (url.pathname === '/v1/charges') return createCharge(ctx, body.value);
    if (url.pathname === '/v1/refunds') return createRefund(ctx, body.value);
    const submission = /^\/v1\/disputes\/([^/]+)\/evidence$/.exec(url.pathname);
    if (submission?.[1]) {
      return evidence.submit(decodeURIComponent(submission[1]), body.value, ctx.nowMs());
    }
    const match = /^\/v1\/charges\/([^/]+)\/(capture|void)$/.exec(url.pathname);
    if (match?.[1] && match[2] === 'capture') {
      return captureCharge(ctx, decodeURIComponent(match[1]), body.value);
    }
    if (match?.[1] && match[2] === 'void')
      return voidCharge(ctx, decodeURIComponent(match[1]), body.value);
    return notFound(route);
  }

  const notFound = (route: string): SimReply =>
    errorReply(404, { code: 'resource_missing', message: `no route ${route}` });

  async function handleSim(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    body: string,
  ): Promise<void> {
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /_sim/charges') {
      return send(res, { httpStatus: 200, body: { name: options.name, charges: store.charges() } });
    }
    if (route === 'GET /_sim/evidence') {
      return send(res, {
        httpStatus: 200,
        body: { name: options.name, evidence: evidence.list() },
      });
    }
    if (route === 'GET /_sim/mode')
      return send(res, { httpStatus: 200, body: serializeMode(mode) });
    if (route === 'POST /_sim/mode') return setMode(res, body);
    const dispute = /^POST \/_sim\/charges\/([^/]+)\/dispute$/.exec(route);
    if (dispute?.[1]) {
      const json = parseJsonBody(body);
      if (!json.ok) return send(res, badJson());
      const apiKey = options.apiKey ?? null;
      const reply = disputeCharge({ ...ctx, apiKey }, decodeURIComponent(dispute[1]), json.value);
      // Remember what this dispute was last said to be: closed ones refuse evidence.
      const issued = (reply.body as { notice?: { id: string; status: string } }).notice;
      if (reply.httpStatus === 200 && issued) evidence.noteDisputeStatus(issued.id, issued.status);
      return send(res, reply);
    }
    const challenge = /^GET \/_sim\/3ds\/([\w-]+)$/.exec(route);
    if (challenge) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>psp-sim 3-D Secure</title><h1>Simulated 3-D Secure challenge</h1><p>charge ${challenge[1]} on ${options.name}</p>`,
      );
      return;
    }
    send(res, notFound(route));
  }

  async function setMode(res: http.ServerResponse, text: string): Promise<void> {
    const json = parseJsonBody(text);
    if (!json.ok) return send(res, badJson());
    const parsed = parseModeBody(json.value);
    if (!parsed.ok) {
      return send(
        res,
        errorReply(400, {
          code: 'parameter_invalid',
          param: parsed.param,
          message: parsed.message,
        }),
      );
    }
    mode = parsed.mode;
    random = createRandom(mode.seed);
    if (mode.refuseConnections) {
      // Answer first, then stop listening: this request may have come in on the main port.
      res.once('finish', stopMain);
      return send(res, { httpStatus: 200, body: serializeMode(mode) });
    }
    if (!main) {
      try {
        await startMain();
      } catch (error) {
        const message = `could not listen on ${mainPort} again: ${(error as Error).message}`;
        return send(res, errorReply(500, { type: 'api_error', code: 'listen_failed', message }));
      }
    }
    send(res, { httpStatus: 200, body: serializeMode(mode) });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, onControl: boolean) {
    const url = new URL(req.url ?? '/', 'http://psp-sim.invalid');
    let body: string;
    try {
      body = await readBody(req);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      res.setHeader('connection', 'close');
      return send(
        res,
        errorReply(413, {
          code: 'body_too_large',
          message: `the body exceeds ${LIMITS.pspSimBodyBytesMax} bytes`,
        }),
      );
    }
    if (url.pathname.startsWith('/_sim/')) return handleSim(req, res, url, body);
    if (onControl || !url.pathname.startsWith('/v1/')) {
      return send(res, notFound(`${req.method} ${url.pathname}`));
    }
    const reply = await handleV1(req, url, body);
    if (closing || reply.hold) return; // held: the socket stays open until the caller gives up
    send(res, reply);
  }

  function serve(onControl: boolean): http.Server {
    const server = http.createServer((req, res) => {
      handle(req, res, onControl).catch((error: unknown) => {
        if (res.headersSent) return res.destroy();
        send(res, errorReply(500, { type: 'api_error', code: 'internal', message: String(error) }));
      });
    });
    // Held requests must not be cut by Node's own timeouts: the caller decides.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    return server;
  }

  async function listen(server: http.Server, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async function startMain(): Promise<void> {
    const server = serve(false);
    track(server, mainSockets);
    mainPort = await listen(server, mainPort);
    main = server;
  }

  function stopMain(): void {
    if (!main) return;
    main.close();
    main = null;
    for (const socket of mainSockets) socket.destroy();
  }

  const control = serve(true);
  track(control, null);
  try {
    await startMain();
    const controlPort = await listen(control, options.controlPort ?? 0);
    return {
      url: origin(mainPort),
      controlUrl: origin(controlPort),
      async close() {
        closing = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const servers = [main, control].filter((s): s is http.Server => s?.listening === true);
        main = null;
        for (const socket of sockets) socket.destroy();
        await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
        store.close();
      },
    };
  } catch (error) {
    stopMain();
    control.close();
    store.close();
    throw error;
  }
}

/** The default data directory of a simulator: ./data/psp-sim-<name>. */
export function defaultPspSimDataDir(name: string): string {
  return path.resolve('data', `psp-sim-${name}`);
}
