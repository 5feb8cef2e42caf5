import {
  type AuthorizeRequest,
  type CompleteAuthenticationRequest,
  type ConnectorOutcome,
  DISPUTE_REASONS,
  DISPUTE_STATUSES,
  type DisputeEvidenceOutcome,
  type DisputeNotice,
  type DisputeReason,
  type DisputeStatus,
  FAILURE_CODES,
  type ProcessorNotice,
  type WebhookNotice,
} from '../types.ts';

// Pure mapping between Payrail's connector contract and Stripe's API, for the
// `stripe` connector (docs/connectors.md#stripe). No I/O here: connector.ts
// makes the calls with the official SDK and hands plain data to these
// functions. The wire types below are the subset of Stripe's objects we read.

/** The part of a Stripe PaymentIntent the connector reads. */
export interface StripePaymentIntent {
  id: string;
  status: string;
  amount?: number | null;
  currency?: string | null;
  next_action?: { type: string; redirect_to_url?: { url?: string | null } | null } | null;
  last_payment_error?: StripeErrorBody | null;
  metadata?: Record<string, string> | null;
}

/** The part of a Stripe Refund the connector reads. */
export interface StripeRefund {
  id: string;
  status: string | null;
  failure_reason?: string | null;
  metadata?: Record<string, string> | null;
}

/** Stripe's error body (`{"error": {...}}`), as the SDK exposes it. */
export interface StripeErrorBody {
  type?: string | null;
  code?: string | null;
  decline_code?: string | null;
  message?: string | null;
  payment_intent?: { id: string } | null;
  /** The parameter Stripe names in a 400 (`evidence[receipt]`, say). */
  param?: string | null;
}

/** What went wrong with one call, as plain data (connector.ts builds it from the SDK's errors). */
export type StripeFailure =
  | { kind: 'api'; httpStatus: number; error: StripeErrorBody }
  /** The TCP connection was refused: the request never reached Stripe. */
  | { kind: 'refused'; message: string }
  /** The SDK's timeout, or Payrail's AbortSignal, fired after the request may have left. */
  | { kind: 'timeout'; message: string }
  /** Any other connection failure (reset, TLS, DNS after connect...). */
  | { kind: 'connection'; message: string };

/** The body of POST /v1/payment_intents for an authorization (card instruments only). */
export interface StripeCreateIntentParams {
  amount: number;
  currency: string;
  confirm: true;
  capture_method: 'automatic' | 'manual';
  payment_method_data: {
    type: 'card';
    card: { number: string; exp_month: number; exp_year: number };
  };
  metadata: { payrail_reference: string; payrail_payment_intent: string };
  statement_descriptor?: string;
  /** Where Stripe sends the customer after 3-D Secure: with it, Stripe answers `redirect_to_url`. */
  return_url?: string;
}

/** Stripe's card error code for "try again, nothing was charged": parity with the sandbox. */
const RETRYABLE_CARD_CODE = 'processing_error';

/**
 * The create params for an authorization, or a decline for instruments this
 * connector cannot send. The card number is revealed here, into the request
 * body only; the caller must not log the result.
 */
export function toStripeCreateIntent(
  request: AuthorizeRequest,
): { ok: true; params: StripeCreateIntentParams } | { ok: false; outcome: ConnectorOutcome } {
  const instrument = request.instrument;
  switch (instrument.type) {
    case 'card':
      return {
        ok: true,
        params: {
          amount: request.amountMinor,
          currency: request.currency.toLowerCase(),
          confirm: true,
          capture_method: request.capture ? 'automatic' : 'manual',
          payment_method_data: {
            type: 'card',
            card: {
              number: instrument.number.reveal(),
              exp_month: instrument.expMonth,
              exp_year: instrument.expYear,
            },
          },
          metadata: {
            payrail_reference: request.reference,
            payrail_payment_intent: request.paymentIntentId,
          },
          ...(request.statementDescriptor
            ? { statement_descriptor: request.statementDescriptor }
            : {}),
          ...(request.returnUrl ? { return_url: request.returnUrl } : {}),
        },
      };
    case 'sepa_debit':
    case 'us_bank_account':
    case 'wallet':
      // Bank debits need mandates and wallets need network tokens: neither
      // can be sent as raw data here, so no money moves.
      return unsupportedMethod('stripe', instrument.type);
    default: {
      const never: never = instrument;
      throw new Error(`unhandled instrument ${JSON.stringify(never)}`);
    }
  }
}

function declinedFromError(error: StripeErrorBody, connectorReference: string | null) {
  const code = error.code ?? 'card_declined';
  const message = error.message ?? 'The card was declined.';
  if (code === RETRYABLE_CARD_CODE) {
    return { status: 'failed_retryable', code, message } as const;
  }
  return {
    status: 'declined',
    connectorReference,
    code,
    declineCode: error.decline_code ?? null,
    message,
  } as const;
}

/** A PaymentIntent after create/confirm/retrieve, as an authorization outcome. */
export function fromStripeIntent(intent: StripePaymentIntent): ConnectorOutcome {
  switch (intent.status) {
    case 'succeeded':
    case 'requires_capture':
      return { status: 'succeeded', connectorReference: intent.id };
    case 'requires_action': {
      const url = intent.next_action?.redirect_to_url?.url;
      if (intent.next_action?.type === 'redirect_to_url' && url) {
        return {
          status: 'requires_action',
          connectorReference: intent.id,
          nextAction: { type: 'redirect_to_url', url },
        };
      }
      // `use_stripe_sdk` (no return_url) cannot be relayed to a customer as a
      // link: nothing was charged, and the payment needs another method.
      return {
        status: 'declined',
        connectorReference: intent.id,
        code: 'authentication_required',
        declineCode: 'authentication_required',
        message: `Stripe asked for ${intent.next_action?.type ?? 'an action'} that Payrail cannot relay.`,
      };
    }
    case 'requires_payment_method':
      return declinedFromError(intent.last_payment_error ?? {}, intent.id);
    case 'canceled':
      return {
        status: 'declined',
        connectorReference: intent.id,
        code: 'payment_intent_canceled',
        declineCode: null,
        message: 'The PaymentIntent was canceled at the processor.',
      };
    default:
      // `processing` and `requires_confirmation`: not final; retrieve later.
      return { status: 'unknown', reason: `stripe payment intent is ${intent.status}` };
  }
}

/**
 * The challenged PaymentIntent, read after the customer came back from 3-D
 * Secure. Stripe finishes the payment itself when the challenge ends
 * (docs.stripe.com/payments/paymentintents/lifecycle): `succeeded` or
 * `requires_capture` is the authorization; a failed or abandoned challenge
 * leaves `requires_payment_method` with `last_payment_error`
 * (`payment_intent_authentication_failure`); still `requires_action` means
 * the customer came back without finishing, and may try the same link again.
 */
export function fromStripeCompletion(
  intent: StripePaymentIntent,
  expected: Pick<
    CompleteAuthenticationRequest,
    'connectorReference' | 'challengeReference' | 'amountMinor' | 'currency'
  >,
): ConnectorOutcome {
  const { connectorReference } = expected;
  if (intent.id !== connectorReference) {
    // Never settle one payment with another's answer.
    return {
      status: 'unknown',
      reason: `stripe answered for ${intent.id}, not ${connectorReference}`,
    };
  }
  const reference = intent.metadata?.payrail_reference;
  if (reference && expected.challengeReference && reference !== expected.challengeReference) {
    return {
      status: 'unknown',
      reason: `stripe intent ${intent.id} belongs to ${reference}, not ${expected.challengeReference}`,
    };
  }
  // Never a success for another amount than the one challenged: for an operator.
  const amountDiffers =
    typeof intent.amount === 'number' &&
    expected.amountMinor !== undefined &&
    intent.amount !== expected.amountMinor;
  const currencyDiffers =
    typeof intent.currency === 'string' &&
    expected.currency !== undefined &&
    intent.currency.toLowerCase() !== expected.currency.toLowerCase();
  if (amountDiffers || currencyDiffers) {
    return {
      status: 'unknown',
      reason: `stripe intent ${intent.id} is for ${intent.amount} ${intent.currency}, challenged ${expected.amountMinor} ${expected.currency}`,
    };
  }
  if (intent.status === 'requires_payment_method' && !intent.last_payment_error?.code) {
    return {
      status: 'declined',
      connectorReference: intent.id,
      code: 'payment_intent_authentication_failure',
      declineCode: null,
      message:
        intent.last_payment_error?.message ??
        'The customer did not complete 3-D Secure authentication.',
    };
  }
  return fromStripeIntent(intent);
}

/** A PaymentIntent after capture (`succeeded`) or cancel (`canceled`). */
export function fromStripeModification(
  intent: StripePaymentIntent,
  expected: 'succeeded' | 'canceled',
): ConnectorOutcome {
  if (intent.status === expected) return { status: 'succeeded', connectorReference: intent.id };
  return {
    status: 'unknown',
    reason: `stripe payment intent is ${intent.status}, expected ${expected}`,
  };
}

/** A Refund after create: pending counts as accepted (Stripe confirms by webhook). */
export function fromStripeRefund(refund: StripeRefund): ConnectorOutcome {
  switch (refund.status) {
    case 'succeeded':
    case 'pending':
      return { status: 'succeeded', connectorReference: refund.id };
    case 'failed':
    case 'canceled':
      return {
        status: 'declined',
        connectorReference: refund.id,
        code: 'refund_failed',
        declineCode: refund.failure_reason ?? null,
        message: `The refund ${refund.status}.`,
      };
    default:
      return { status: 'unknown', reason: `stripe refund is ${refund.status}` };
  }
}

/**
 * A failed call, mapped by what Stripe documents about it
 * (https://docs.stripe.com/error-handling): only a refused connection, a
 * 429 and a 401/403 prove nothing happened and may fail over as
 * `failed_retryable`; 4xx request errors are answers (nothing charged) and
 * become declines; every 5xx, timeout or broken connection may have acted and
 * is `unknown`, resolved later by `retrieve`.
 */
export function fromStripeFailure(failure: StripeFailure): ConnectorOutcome {
  switch (failure.kind) {
    case 'refused':
      return {
        status: 'failed_retryable',
        code: FAILURE_CODES.unreachable,
        message: failure.message,
      };
    case 'timeout':
    case 'connection':
      return { status: 'unknown', reason: failure.message };
    case 'api':
      return fromStripeApiError(failure.httpStatus, failure.error);
    default: {
      const never: never = failure;
      throw new Error(`unhandled stripe failure ${JSON.stringify(never)}`);
    }
  }
}

function fromStripeApiError(httpStatus: number, error: StripeErrorBody): ConnectorOutcome {
  const message = error.message ?? `stripe answered HTTP ${httpStatus}`;
  if (httpStatus === 402 || error.type === 'card_error') {
    return declinedFromError(error, error.payment_intent?.id ?? null);
  }
  if (httpStatus === 429) {
    return { status: 'failed_retryable', code: FAILURE_CODES.rateLimited, message };
  }
  if (httpStatus === 401 || httpStatus === 403) {
    // A wrong or restricted key: Stripe refused before acting. The next
    // connector can take the payment; the breaker and the message tell the
    // operator to fix the credentials.
    return {
      status: 'failed_retryable',
      code: FAILURE_CODES.error,
      message: `stripe rejected the secret_key (${httpStatus}): ${message}`,
    };
  }
  if (error.type === 'idempotency_error' || httpStatus === 409) {
    // The key is in use by a concurrent request, or was used with other
    // parameters: the original may have charged. Recovery asks again.
    return { status: 'unknown', reason: `stripe idempotency conflict: ${message}` };
  }
  if (httpStatus === 400 || httpStatus === 404) {
    // An invalid request: Stripe stored no charge. `processing_error` is a
    // soft decline the default failover table may try elsewhere.
    return {
      status: 'declined',
      connectorReference: error.payment_intent?.id ?? null,
      code: 'processing_error',
      declineCode: null,
      message: `stripe rejected the request (${httpStatus} ${error.code ?? error.type ?? ''}): ${message}`,
    };
  }
  return { status: 'unknown', reason: `stripe answered HTTP ${httpStatus}: ${message}` };
}

/** Stripe's SDK takes host, port and protocol separately; a base URL names all three. */
export function parseStripeBaseUrl(baseUrl: string): {
  host: string;
  port: number;
  protocol: 'http' | 'https';
} {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`stripe base URL must be http(s), got ${url.protocol}`);
  }
  if (url.pathname !== '/' || url.search) {
    throw new Error('stripe base URL must have no path (the SDK adds /v1/...)');
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, protocol };
}

export { referenceCreatedMs, replayAllowed } from '../replay.ts';

import { unsupportedMethod } from '../replay.ts';

/** The part of a Stripe Event the connector reads. */
export interface StripeEvent {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
}

/**
 * The notices in one verified event. Only objects that carry our reference in
 * metadata produce one: PaymentIntents (`payrail_reference`, set on create;
 * `payrail_capture_reference`, set on capture) and Refunds
 * (`payrail_reference`). Other events are acknowledged with no notice.
 */
export function fromStripeEvent(event: StripeEvent): WebhookNotice[] {
  const object = event.data.object;
  switch (event.type) {
    case 'payment_intent.succeeded':
    case 'payment_intent.amount_capturable_updated':
    case 'payment_intent.payment_failed':
      return intentNotices(object as unknown as StripePaymentIntent, event.type);
    case 'charge.refunded': {
      const refunds = (object.refunds as { data?: StripeRefund[] } | undefined)?.data ?? [];
      return refunds.flatMap(refundNotice);
    }
    case 'refund.created':
    case 'refund.updated':
    case 'charge.refund.updated':
      return refundNotice(object as unknown as StripeRefund);
    default:
      return [];
  }
}

function intentNotices(intent: StripePaymentIntent, type: string): WebhookNotice[] {
  const metadata = intent.metadata ?? {};
  const notices: WebhookNotice[] = [];
  const reference = metadata.payrail_reference;
  if (reference) {
    const outcome =
      type === 'payment_intent.payment_failed'
        ? declinedFromError(intent.last_payment_error ?? {}, intent.id)
        : ({ status: 'succeeded', connectorReference: intent.id } as const);
    notices.push({ reference, operation: 'authorize', outcome });
  }
  const captureReference = metadata.payrail_capture_reference;
  if (captureReference && type === 'payment_intent.succeeded') {
    notices.push({
      reference: captureReference,
      operation: 'capture',
      outcome: { status: 'succeeded', connectorReference: intent.id },
    });
  }
  return notices;
}

function refundNotice(refund: StripeRefund): WebhookNotice[] {
  const reference = refund.metadata?.payrail_reference;
  if (!reference) return [];
  const outcome = fromStripeRefund(refund);
  // A refund still pending says nothing new: only final states are notices.
  if (refund.status !== 'succeeded' && outcome.status === 'succeeded') return [];
  return [{ reference, operation: 'refund', outcome }];
}

/** The part of a Stripe Dispute the connector reads. */
export interface StripeDispute {
  id: string;
  charge?: string | null;
  payment_intent?: string | null;
  amount?: number | null;
  currency?: string | null;
  reason?: string | null;
  status?: string | null;
  network_reason_code?: string | null;
  evidence_details?: { due_by?: number | null } | null;
}

const STRIPE_DISPUTE_EVENTS = new Set([
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
]);

/**
 * Every notice in one verified event: the attempt notices of fromStripeEvent
 * and, for `charge.dispute.*`, the dispute as it now stands. The status says
 * where the money is (funds_withdrawn / funds_reinstated carry a status that
 * implies them), so each of the five events is handled the same way.
 */
export function fromStripeEventNotices(event: StripeEvent): ProcessorNotice[] {
  if (STRIPE_DISPUTE_EVENTS.has(event.type)) {
    const notice = fromStripeDispute(event.data.object as unknown as StripeDispute);
    return notice ? [notice] : [];
  }
  return fromStripeEvent(event).map((n) => ({ kind: 'attempt' as const, ...n }));
}

/** A Stripe dispute as a notice; null for a status Payrail does not model (appeals, prevented). */
export function fromStripeDispute(dispute: StripeDispute): DisputeNotice | null {
  const status = dispute.status ?? '';
  if (!(DISPUTE_STATUSES as readonly string[]).includes(status)) return null;
  if (typeof dispute.id !== 'string' || dispute.id === '') return null;
  const reason = dispute.reason ?? 'general';
  const amount = dispute.amount;
  return {
    kind: 'dispute',
    disputeReference: dispute.id,
    // Our charge's processor reference is the Stripe PaymentIntent; the charge id may also match.
    paymentReferences: [dispute.payment_intent, dispute.charge].filter(
      (r): r is string => typeof r === 'string' && r !== '',
    ),
    status: status as DisputeStatus,
    cycle: 1,
    amountMinor: typeof amount === 'number' && Number.isSafeInteger(amount) ? amount : null,
    currency: dispute.currency ? dispute.currency.toLowerCase() : null,
    reason: (DISPUTE_REASONS as readonly string[]).includes(reason)
      ? (reason as DisputeReason)
      : 'general',
    networkReasonCode: dispute.network_reason_code ?? null,
    evidenceDueBy: dispute.evidence_details?.due_by ?? null,
  };
}

/**
 * POST /v1/disputes/:id with `evidence[…]` and `submit=true` (Stripe's
 * update-a-dispute): only the fields that hold a value are sent, so a field
 * unset on Payrail stays as Stripe has it.
 */
export function toStripeDisputeEvidence(evidence: Record<string, string>): {
  evidence: Record<string, string>;
  submit: true;
} {
  return { evidence: { ...evidence }, submit: true };
}

/**
 * 4xx answers that say nothing about the evidence: 401/403 are our key or its
 * permissions (configuration), 409 is Stripe still running a request under
 * the same Idempotency-Key, 429 a rate limit. Retrying may succeed.
 */
const STRIPE_EVIDENCE_RETRYABLE_4XX: ReadonlySet<number> = new Set([401, 403, 409, 429]);

/**
 * A failed evidence submission. A 4xx other than STRIPE_EVIDENCE_RETRYABLE_4XX
 * is Stripe refusing it (the dispute is closed there, a file id is
 * unknown...): nothing was submitted. Everything else may or may not have
 * reached Stripe.
 */
export function fromStripeEvidenceFailure(failure: StripeFailure): DisputeEvidenceOutcome {
  if (failure.kind !== 'api') {
    return { status: 'unavailable', message: `stripe: ${failure.message}` };
  }
  const { httpStatus, error } = failure;
  const message = error.message ?? `stripe answered HTTP ${httpStatus}`;
  const retryable = STRIPE_EVIDENCE_RETRYABLE_4XX.has(httpStatus);
  if (httpStatus >= 400 && httpStatus < 500 && !retryable) {
    return {
      status: 'refused',
      code: error.code ?? `http_${httpStatus}`,
      message,
      param: error.param ?? null,
    };
  }
  return { status: 'unavailable', message: `stripe answered HTTP ${httpStatus}: ${message}` };
}
