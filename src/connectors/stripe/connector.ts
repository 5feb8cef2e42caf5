import Stripe from 'stripe';
import { LIMITS } from '../../lib/limits.ts';
import { retrieveByReplay } from '../replay.ts';
import type {
  AuthorizeRequest,
  CaptureRequest,
  CompleteAuthenticationRequest,
  Connector,
  ConnectorDefinition,
  ConnectorOutcome,
  ConnectorSettings,
  DisputeEvidenceOutcome,
  DisputeEvidenceRequest,
  ProbeResult,
  RefundRequest,
  RetrieveOutcome,
  RetrieveRequest,
  VoidRequest,
  WebhookNotice,
} from '../types.ts';
import { attemptNotices, type ProcessorNotice } from '../types.ts';
import {
  fromStripeCompletion,
  fromStripeEventNotices,
  fromStripeEvidenceFailure,
  fromStripeFailure,
  fromStripeIntent,
  fromStripeModification,
  fromStripeRefund,
  parseStripeBaseUrl,
  type StripeEvent,
  type StripeFailure,
  type StripePaymentIntent,
  type StripeRefund,
  toStripeCreateIntent,
  toStripeDisputeEvidence,
} from './transformers.ts';

// The `stripe` connector: the official SDK pointed at Stripe or any
// Stripe-compatible API (another Payrail, say). Thin: it makes one SDK call
// per operation and hands the answer to transformers.ts. Every call carries
// our attempt reference as its Idempotency-Key, which is also how `retrieve`
// works: replaying a request with the same key returns Stripe's stored answer
// and never acts twice, for as long as Stripe keeps the key (24 h).

const DEFAULT_BASE_URL = 'https://api.stripe.com';

export interface StripeConnectorOptions {
  /** The clock `retrieve` reads to stay inside the replay window (tests move it). */
  nowMs?: () => number;
}

class AbortedError extends Error {
  override name = 'AbortedError';
}

/** The SDK has no AbortSignal: race it, so Payrail's deadline holds (the SDK's own timeout ends the socket). */
function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new AbortedError('aborted before the call'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError('Payrail deadline reached'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The SDK's exceptions as plain data for the transformers; anything else is a bug and rethrown. */
export function toStripeFailure(error: unknown): StripeFailure {
  if (error instanceof AbortedError) return { kind: 'timeout', message: error.message };
  if (error instanceof Stripe.errors.StripeConnectionError) {
    const detail = (error as { detail?: { code?: string } }).detail;
    if (detail?.code === 'ECONNREFUSED') return { kind: 'refused', message: error.message };
    if (detail?.code === 'ETIMEDOUT' || /timeout/i.test(error.message)) {
      return { kind: 'timeout', message: error.message };
    }
    return { kind: 'connection', message: `${error.message} (${detail?.code ?? 'no code'})` };
  }
  if (error instanceof Stripe.errors.StripeError && typeof error.statusCode === 'number') {
    return {
      kind: 'api',
      httpStatus: error.statusCode,
      error: {
        type: error.rawType ?? null,
        code: error.code ?? null,
        decline_code: error.decline_code ?? null,
        message: error.message,
        payment_intent: error.payment_intent ? { id: error.payment_intent.id } : null,
        param: error.param ?? null,
      },
    };
  }
  throw error;
}

export function createStripeConnector(
  settings: ConnectorSettings,
  options: StripeConnectorOptions = {},
): Connector {
  const secretKey = settings.credentials.secret_key;
  if (!secretKey) throw new Error('stripe connector needs credentials.secret_key');
  const webhookSecret = settings.credentials.webhook_secret ?? null;
  const nowMs = options.nowMs ?? Date.now;
  // Our AbortSignal normally ends a call first; the SDK timeout is the ceiling
  // that closes the socket of a call we stopped waiting for.
  const timeoutMs = LIMITS.connectorTimeoutMsMax;
  const stripe = new Stripe(secretKey, {
    ...parseStripeBaseUrl(settings.baseUrl ?? DEFAULT_BASE_URL),
    maxNetworkRetries: 0,
    timeout: timeoutMs,
  });

  /** One SDK call under our deadline; failures become outcomes, never exceptions. */
  async function call<T>(
    run: () => Promise<T>,
    signal: AbortSignal,
    map: (value: T) => ConnectorOutcome,
  ): Promise<ConnectorOutcome> {
    try {
      return map(await withSignal(run(), signal));
    } catch (error) {
      return fromStripeFailure(toStripeFailure(error));
    }
  }

  const requestOptions = (reference: string) => ({ idempotencyKey: reference, timeout: timeoutMs });

  async function authorize(request: AuthorizeRequest, signal: AbortSignal) {
    const built = toStripeCreateIntent(request);
    if (!built.ok) return built.outcome;
    return call(
      () =>
        stripe.paymentIntents.create(
          built.params as Stripe.PaymentIntentCreateParams,
          requestOptions(request.reference),
        ),
      signal,
      (intent) => fromStripeIntent(intent as StripePaymentIntent),
    );
  }

  function capture(request: CaptureRequest, signal: AbortSignal) {
    const params = {
      amount_to_capture: request.amountMinor,
      metadata: { payrail_capture_reference: request.reference },
    };
    return call(
      () =>
        stripe.paymentIntents.capture(
          request.authorizationReference,
          params,
          requestOptions(request.reference),
        ),
      signal,
      (intent) => fromStripeModification(intent as StripePaymentIntent, 'succeeded'),
    );
  }

  function voidAuthorization(request: VoidRequest, signal: AbortSignal) {
    return call(
      () =>
        stripe.paymentIntents.cancel(
          request.authorizationReference,
          {},
          requestOptions(request.reference),
        ),
      signal,
      (intent) => fromStripeModification(intent as StripePaymentIntent, 'canceled'),
    );
  }

  function refund(request: RefundRequest, signal: AbortSignal) {
    const params = {
      payment_intent: request.paymentReference,
      amount: request.amountMinor,
      metadata: { payrail_reference: request.reference },
    };
    return call(
      () => stripe.refunds.create(params, requestOptions(request.reference)),
      signal,
      (created) => fromStripeRefund(created as StripeRefund),
    );
  }

  /**
   * Replays the original request with the same idempotency key: Stripe
   * returns the stored answer without acting again. For an authorization
   * that made a PaymentIntent, the intent is then read for its current state
   * (a 3-D Secure payment may have completed since). Past the replay window
   * the key may be forgotten and a replay would charge again: unknown.
   */
  async function retrieve(request: RetrieveRequest, signal: AbortSignal): Promise<RetrieveOutcome> {
    return retrieveByReplay(request, signal, {
      nowMs: nowMs(),
      windowMs: LIMITS.stripeReplayWindowMs,
      tooOld: 'older than Stripe keeps idempotency keys (24 h): resolve in the Stripe dashboard',
      operations: { authorize: replayAuthorize, capture, void: voidAuthorization, refund },
    });
  }

  /** A replayed authorization that needed 3-D Secure may have completed since: read the intent. */
  async function replayAuthorize(
    original: AuthorizeRequest,
    signal: AbortSignal,
  ): Promise<ConnectorOutcome> {
    const replayed = await authorize(original, signal);
    if (replayed.status !== 'requires_action') return replayed;
    return call(
      () => stripe.paymentIntents.retrieve(replayed.connectorReference, {}, { timeout: timeoutMs }),
      signal,
      (intent) => fromStripeIntent(intent as StripePaymentIntent),
    );
  }

  /**
   * 3-D Secure happens on Stripe's own PaymentIntent, which Stripe finishes
   * when the challenge ends: completing is reading it (GET, safe to repeat,
   * no replay window). The return's parameters are not needed: the intent id
   * comes from our attempt, never from the customer's URL.
   */
  function completeAuthentication(request: CompleteAuthenticationRequest, signal: AbortSignal) {
    return call(
      () => stripe.paymentIntents.retrieve(request.connectorReference, {}, { timeout: timeoutMs }),
      signal,
      (intent) => fromStripeCompletion(intent as StripePaymentIntent, request),
    );
  }

  /** POST /v1/disputes/:id with evidence and submit=true, keyed by our submission reference. */
  async function submitDisputeEvidence(
    request: DisputeEvidenceRequest,
    signal: AbortSignal,
  ): Promise<DisputeEvidenceOutcome> {
    try {
      await withSignal(
        stripe.disputes.update(
          request.disputeReference,
          toStripeDisputeEvidence(request.evidence) as Stripe.DisputeUpdateParams,
          requestOptions(request.reference),
        ),
        signal,
      );
      return { status: 'submitted' };
    } catch (error) {
      return fromStripeEvidenceFailure(toStripeFailure(error));
    }
  }

  /** GET /v1/account: cheap, authenticated, acts on nothing. */
  async function probe(signal: AbortSignal): Promise<ProbeResult> {
    const startedMs = performance.now();
    const latency = () => Math.round(performance.now() - startedMs);
    try {
      const account = await withSignal(
        stripe.accounts.retrieve(null, {}, { timeout: LIMITS.probeTimeoutMs }),
        signal,
      );
      return { ok: true, latencyMs: latency(), detail: `GET /v1/account ok (${account.id})` };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, latencyMs: latency(), detail: `GET /v1/account failed: ${detail}` };
    }
  }

  function parseNotices(webhook: {
    headers: Record<string, unknown>;
    rawBody: string;
  }): ProcessorNotice[] {
    if (!webhookSecret) {
      throw new Error('stripe connector has no webhook_secret: cannot verify webhooks');
    }
    const header = webhook.headers['stripe-signature'];
    if (typeof header !== 'string') throw new Error('missing Stripe-Signature header');
    // Throws StripeSignatureVerificationError on a bad signature or an old timestamp.
    const event = stripe.webhooks.constructEvent(webhook.rawBody, header, webhookSecret);
    return fromStripeEventNotices(event as unknown as StripeEvent);
  }

  function parseWebhook(webhook: { headers: Record<string, unknown>; rawBody: string }) {
    return attemptNotices(parseNotices(webhook)) satisfies WebhookNotice[];
  }

  return {
    name: settings.id,
    type: 'stripe',
    authorize,
    capture,
    void: voidAuthorization,
    refund,
    retrieve,
    probe,
    parseWebhook,
    parseNotices,
    submitDisputeEvidence,
    completeAuthentication,
    // Stripe appends payment_intent to the return: without it, nothing came back from Stripe.
    completionDetailsRequired: ['payment_intent'],
  };
}

export const stripeDefinition: ConnectorDefinition = {
  type: 'stripe',
  credentialFields: ['secret_key'],
  optionalCredentialFields: ['webhook_secret'],
  baseUrl: 'optional',
  create: (settings) => createStripeConnector(settings),
};
