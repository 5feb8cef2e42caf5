import type {
  Connector,
  ConnectorDefinition,
  ConnectorOperation,
  ConnectorOutcome,
  ConnectorSettings,
  InboundWebhook,
  ProbeResult,
  ProcessorNotice,
} from '../types.ts';
import { attemptNotices } from '../types.ts';
import {
  fromPspSimEvidenceAnswer,
  toPspSimEvidenceBody,
  toPspSimEvidencePath,
} from './evidence.ts';
import {
  fromPspSimAnswer,
  fromPspSimLookup,
  fromPspSimNotices,
  fromPspSimTransportError,
  type PspSimHttpAnswer,
  toPspSimChargeRequest,
  verifyPspSimSignature,
} from './transformers.ts';
import { PSP_SIM_SIGNATURE_HEADER } from './wire.ts';

// The psp_sim connector: a thin fetch client for the standalone simulator
// (`payrail psp-sim`, docs/psp-sim.md). Mapping lives in transformers.ts.
// Every call carries the caller's AbortSignal; a call that throws after the
// request may have left is `unknown` (see fromPspSimTransportError).

interface Client {
  send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<PspSimHttpAnswer>;
}

function createClient(baseUrl: string, apiKey: string, signal: AbortSignal): Client {
  const root = baseUrl.replace(/\/+$/, '');
  return {
    async send(method, path, body) {
      const response = await fetch(`${root}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await response.text();
      return { httpStatus: response.status, body: parseJson(text) };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function header(headers: InboundWebhook['headers'], name: string): string | undefined {
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(found) ? found[0] : found;
}

export function createPspSimConnector(settings: ConnectorSettings): Connector {
  const baseUrl = settings.baseUrl;
  const apiKey = settings.credentials.api_key;
  if (!baseUrl) throw new Error('the psp_sim connector needs a base URL');
  if (!apiKey) throw new Error('the psp_sim connector needs credentials.api_key');

  async function call(
    operation: ConnectorOperation,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<ConnectorOutcome> {
    try {
      const answer = await createClient(baseUrl!, apiKey!, signal).send('POST', path, body);
      return fromPspSimAnswer(answer, operation);
    } catch (error) {
      return fromPspSimTransportError(error);
    }
  }

  async function probe(signal: AbortSignal): Promise<ProbeResult> {
    const startedMs = Date.now();
    try {
      const answer = await createClient(baseUrl!, apiKey!, signal).send('GET', '/v1/health');
      const latencyMs = Date.now() - startedMs;
      const ok = answer.httpStatus === 200;
      return { ok, latencyMs, detail: ok ? 'psp-sim is up' : `HTTP ${answer.httpStatus}` };
    } catch (error) {
      return {
        ok: false,
        latencyMs: Date.now() - startedMs,
        detail: `psp-sim probe failed: ${(error as Error).message}`,
      };
    }
  }

  function parseNotices(webhook: InboundWebhook): ProcessorNotice[] {
    verifyPspSimSignature({
      header: header(webhook.headers, PSP_SIM_SIGNATURE_HEADER),
      rawBody: webhook.rawBody,
      apiKey: apiKey!,
      nowMs: Date.now(),
    });
    return fromPspSimNotices(webhook.rawBody);
  }

  return {
    name: settings.id,
    type: 'psp_sim',
    authorize: (request, signal) =>
      call('authorize', '/v1/charges', toPspSimChargeRequest(request), signal),
    capture: (request, signal) =>
      call(
        'capture',
        `/v1/charges/${encodeURIComponent(request.authorizationReference)}/capture`,
        { reference: request.reference, amount: request.amountMinor },
        signal,
      ),
    void: (request, signal) =>
      call(
        'void',
        `/v1/charges/${encodeURIComponent(request.authorizationReference)}/void`,
        { reference: request.reference },
        signal,
      ),
    refund: (request, signal) =>
      call(
        'refund',
        '/v1/refunds',
        {
          reference: request.reference,
          charge: request.paymentReference,
          amount: request.amountMinor,
        },
        signal,
      ),
    async retrieve(request, signal) {
      try {
        const path = `/v1/charges?reference=${encodeURIComponent(request.reference)}`;
        const answer = await createClient(baseUrl, apiKey, signal).send('GET', path);
        return fromPspSimLookup(answer, request.operation);
      } catch (error) {
        // Even "refused" only means we cannot ask now: the earlier call may have acted.
        return { status: 'unknown', reason: `psp-sim lookup failed: ${(error as Error).message}` };
      }
    },
    probe,
    parseWebhook: (webhook) => attemptNotices(parseNotices(webhook)),
    parseNotices,
    async submitDisputeEvidence(request, signal) {
      try {
        const client = createClient(baseUrl, apiKey, signal);
        const body = toPspSimEvidenceBody(request);
        return fromPspSimEvidenceAnswer(
          await client.send('POST', toPspSimEvidencePath(request), body),
        );
      } catch (error) {
        return { status: 'unavailable', message: `psp-sim: ${(error as Error).message}` };
      }
    },
  };
}

export const pspSimDefinition: ConnectorDefinition = {
  type: 'psp_sim',
  credentialFields: ['api_key'],
  optionalCredentialFields: [],
  baseUrl: 'required',
  create: createPspSimConnector,
};
