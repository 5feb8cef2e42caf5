import { setTimeout as sleep } from 'node:timers/promises';
import { assert } from '../../lib/assert.ts';
import { LIMITS } from '../../lib/limits.ts';
import type {
  AuthorizeRequest,
  Connector,
  ConnectorOutcome,
  RetrieveOutcome,
  RetrieveRequest,
} from '../types.ts';
import { sandboxOutcome } from './outcomes.ts';

// The sandbox processor: in-process and deterministic by card number (see
// outcomes.ts), with a configurable latency. It remembers the outcome of every
// reference it answered, so `retrieve` can tell what happened to a request whose
// answer was lost. That memory dies with the process: after a restart,
// `retrieve` re-derives the same deterministic outcome from the original
// request (which Payrail rebuilds from its attempt rows), so recovery gives the
// answer the lost call would have given.

export interface SandboxOptions {
  latencyMs: number;
  /** Where a 3-D Secure challenge is shown, given the attempt reference. */
  challengeUrl(reference: string): string;
}

/** Bound on remembered references; the oldest are forgotten first (retrieve re-derives them). */
const REMEMBERED_MAX = 100_000;

export function createSandboxConnector(options: SandboxOptions, name = 'sandbox'): Connector {
  assert(
    options.latencyMs >= 0 && options.latencyMs <= LIMITS.sandboxLatencyMsMax,
    'sandbox latency in range',
  );
  const answered = new Map<string, ConnectorOutcome>();

  function remember(reference: string, outcome: ConnectorOutcome): void {
    if (answered.size >= REMEMBERED_MAX) {
      const oldest = answered.keys().next().value;
      if (oldest !== undefined) answered.delete(oldest);
    }
    answered.set(reference, outcome);
  }

  function deriveAuthorize(request: AuthorizeRequest): ConnectorOutcome {
    const connectorReference = `sbx_${request.reference}`;
    const outcome = sandboxOutcome(request.instrument, request.authenticated);
    switch (outcome.kind) {
      case 'succeed':
        return { status: 'succeeded', connectorReference };
      case 'decline':
        return { status: 'declined', connectorReference, ...outcome };
      case 'retryable':
        return { status: 'failed_retryable', code: outcome.code, message: outcome.message };
      case 'authenticate':
        return {
          status: 'requires_action',
          connectorReference,
          nextAction: { type: 'redirect_to_url', url: options.challengeUrl(request.reference) },
        };
      default: {
        const never: never = outcome;
        throw new Error(`unhandled sandbox outcome ${JSON.stringify(never)}`);
      }
    }
  }

  /** The processor acts, then the answer travels back (and may be lost on the way). */
  async function answer(reference: string, outcome: ConnectorOutcome, signal: AbortSignal) {
    signal.throwIfAborted();
    remember(reference, outcome);
    if (options.latencyMs > 0) await sleep(options.latencyMs, undefined, { signal });
    return outcome;
  }

  const succeeded = (reference: string): ConnectorOutcome => ({
    status: 'succeeded',
    connectorReference: `sbx_${reference}`,
  });

  async function retrieve(request: RetrieveRequest, signal: AbortSignal): Promise<RetrieveOutcome> {
    signal.throwIfAborted();
    const known = answered.get(request.reference);
    if (known) return known;
    return request.operation === 'authorize'
      ? deriveAuthorize(request.original)
      : succeeded(request.reference);
  }

  return {
    name,
    type: 'sandbox',
    probe: async () => ({ ok: true, latencyMs: 0, detail: 'in-process sandbox' }),
    parseWebhook: () => {
      throw new Error('the sandbox connector sends no webhooks');
    },
    // Sandbox disputes arise in process (the dispute test card, src/disputes/sandbox.ts).
    parseNotices: () => {
      throw new Error('the sandbox connector sends no webhooks');
    },
    authorize: (request, signal) => answer(request.reference, deriveAuthorize(request), signal),
    capture: (request, signal) => answer(request.reference, succeeded(request.reference), signal),
    void: (request, signal) => answer(request.reference, succeeded(request.reference), signal),
    refund: (request, signal) => answer(request.reference, succeeded(request.reference), signal),
    retrieve,
  };
}
