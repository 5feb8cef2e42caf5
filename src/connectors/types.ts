import type { ChargeInstrument } from '../vault/types.ts';

// The contract between Payrail and a payment processor. A connector is a thin
// client plus pure transformers: it maps these requests to the processor's
// wire format and the processor's answer to a ConnectorOutcome. It never
// touches the database or any service; Payrail persists an attempt row before
// each call and records the outcome after it ("persist, call out, reconcile").
//
// Rules for implementers:
// - Every method receives an AbortSignal (Payrail passes
//   AbortSignal.timeout(LIMITS.connectorTimeoutMs)); honour it on every
//   network call. A call that throws or is aborted is recorded as `unknown`.
// - `reference` is Payrail's attempt id (pa_...). Send it to the processor as
//   the idempotency key / merchant reference, so that `retrieve` can later find
//   what happened to a request whose answer was lost.
// - Return `unknown` (never `declined`) when you cannot tell whether the
//   processor acted: Payrail then asks `retrieve` later and never charges twice.
// - Amounts are integers in the currency's minor unit; convert inside the
//   transformer if the processor wants something else.
// - Use the shared codes of FAILURE_CODES for `failed_retryable`, so the
//   failover table (decisions.ts) can tell what is safe to try elsewhere:
//   only say `failed_retryable` when the processor certainly did not act
//   (connection refused, a 5xx documented to come before authorization, 429).

/** Shared `failed_retryable` codes (see decisions.ts). */
export const FAILURE_CODES = {
  /** Connection refused, DNS failure, TLS failure: the request never reached the processor. */
  unreachable: 'processor_unreachable',
  /** The processor said it is unavailable (503) or in maintenance. */
  unavailable: 'processor_unavailable',
  /** The processor answered 5xx before acting on the request. */
  error: 'processor_error',
  /** The processor is rate-limiting us (429). */
  rateLimited: 'processor_rate_limited',
  /** Payrail did not call: the circuit breaker for this connector is open. */
  circuitOpen: 'circuit_open',
} as const;

export type ConnectorOperation = 'authorize' | 'capture' | 'void' | 'refund';

/** What the customer must do before the payment can continue (3-D Secure). */
export interface NextActionRedirect {
  type: 'redirect_to_url';
  url: string;
}

export type ConnectorOutcome =
  | { status: 'succeeded'; connectorReference: string }
  | { status: 'requires_action'; connectorReference: string; nextAction: NextActionRedirect }
  | {
      status: 'declined';
      connectorReference: string | null;
      /** Stripe's error code: card_declined, expired_card, incorrect_cvc, ... */
      code: string;
      /** Stripe's decline_code: generic_decline, insufficient_funds, ... */
      declineCode: string | null;
      message: string;
    }
  | { status: 'failed_retryable'; code: string; message: string }
  | { status: 'unknown'; reason: string };

/** `retrieve` may also learn that the processor never saw the request. */
export type RetrieveOutcome = ConnectorOutcome | { status: 'not_found' };

export interface AuthorizeRequest {
  reference: string;
  /** The payment intent this attempt serves (pi_...); several attempts may share it. */
  paymentIntentId: string;
  amountMinor: number;
  currency: string;
  /** Capture in the same call (automatic capture). */
  capture: boolean;
  instrument: ChargeInstrument;
  /** Set when the customer completed authentication (3-D Secure) for this payment. */
  authenticated: boolean;
  statementDescriptor: string | null;
  /**
   * Where the processor sends the customer back after a 3-D Secure challenge:
   * Payrail's return page for this intent (docs/connectors.md#3-d-secure). The
   * same for every rebuild of the request (replays must match). Absent: the
   * engine has no return page to offer (unit tests, older callers).
   */
  returnUrl?: string | null;
}

/**
 * The query (or form) parameters of the customer's return from a challenge
 * that Payrail passes to a connector; any other parameter is dropped. Adyen
 * appends `redirectResult` (or `payload`); Stripe appends `payment_intent`,
 * `payment_intent_client_secret` and `redirect_status`.
 */
export const AUTHENTICATION_RETURN_KEYS = [
  'redirectResult',
  'payload',
  'payment_intent',
  'payment_intent_client_secret',
  'redirect_status',
] as const;
export type AuthenticationReturnKey = (typeof AUTHENTICATION_RETURN_KEYS)[number];

/**
 * Finishes a payment the processor challenged (`requires_action`), once the
 * customer is back: what `completeAuthentication` receives.
 */
export interface CompleteAuthenticationRequest {
  /**
   * Payrail's attempt id for this completion (operation `authenticate`): the
   * idempotency key, the same when recovery asks again.
   */
  reference: string;
  /** The processor's id of the challenged payment (the requires_action connectorReference). */
  connectorReference: string;
  /**
   * The return's parameters, only AUTHENTICATION_RETURN_KEYS, each at most
   * LIMITS.authenticationDetailLengthMax characters. Empty when recovery asks
   * again (Payrail does not keep them) or for the test helper.
   */
  details: Partial<Record<AuthenticationReturnKey, string>>;
  /**
   * Payrail's reference of the challenged payment (the authorize attempt that
   * answered requires_action): what the processor holds as its merchant
   * reference. An answer naming another is never applied.
   */
  challengeReference?: string;
  /**
   * What the processor challenged: an answer that reports another amount or
   * currency is `unknown` (for an operator), never a success for the wrong
   * amount.
   */
  amountMinor?: number;
  currency?: string;
}

export interface CaptureRequest {
  reference: string;
  /** The connector reference of the authorization. */
  authorizationReference: string;
  amountMinor: number;
  currency: string;
}

export interface VoidRequest {
  reference: string;
  authorizationReference: string;
  amountMinor: number;
  currency: string;
}

export interface RefundRequest {
  reference: string;
  /** The connector reference of the (captured) payment. */
  paymentReference: string;
  amountMinor: number;
  currency: string;
}

/**
 * Asks what happened to an earlier request, by Payrail's reference. `original`
 * is the request as it was sent, rebuilt from stored data; real processors
 * need only the reference, an in-process simulator may use it to re-derive
 * the answer after a restart.
 */
export type RetrieveRequest =
  | { reference: string; operation: 'authorize'; original: AuthorizeRequest }
  | { reference: string; operation: 'capture'; original: CaptureRequest }
  | { reference: string; operation: 'void'; original: VoidRequest }
  | { reference: string; operation: 'refund'; original: RefundRequest };

/** The processors Payrail ships a connector for. */
export const CONNECTOR_TYPES = ['sandbox', 'psp_sim', 'stripe', 'adyen'] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

/** What a connector is built from: one configured connector account. */
export interface ConnectorSettings {
  /** What attempts and charges store: the connector account id (conn_...), or `sandbox` for the built-in one. */
  id: string;
  type: ConnectorType;
  /** The processor's API base URL, where the type has one (psp_sim, stripe, adyen). */
  baseUrl: string | null;
  /** Decrypted credentials, validated against the type's credential schema. */
  credentials: Record<string, string>;
}

/** The answer to a health probe: can the processor take payments right now? */
export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  detail: string;
}

/**
 * A processor's asynchronous notice about one of our requests, parsed from an
 * inbound webhook. `reference` is Payrail's attempt id, as sent.
 */
export interface WebhookNotice {
  reference: string;
  operation: ConnectorOperation;
  outcome: ConnectorOutcome;
}

/** Stripe's dispute statuses (src/disputes/states.ts orders them). */
export const DISPUTE_STATUSES = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'won',
  'lost',
] as const;
export type DisputeStatus = (typeof DISPUTE_STATUSES)[number];

/** Stripe's dispute reasons; a processor's own codes map onto them (else `general`). */
export const DISPUTE_REASONS = [
  'bank_cannot_process',
  'check_returned',
  'credit_not_processed',
  'customer_initiated',
  'debit_not_authorized',
  'duplicate',
  'fraudulent',
  'general',
  'incorrect_account_details',
  'insufficient_funds',
  'noncompliant',
  'product_not_received',
  'product_unacceptable',
  'subscription_canceled',
  'unrecognized',
] as const;
export type DisputeReason = (typeof DISPUTE_REASONS)[number];

/**
 * A processor's notice that one of our payments is disputed, or that its
 * dispute moved on. `disputeReference` is the processor's id of the dispute
 * (the same on every notice about it); `paymentReferences` are the ids that
 * may name our charge (the processor's payment reference, our attempt id).
 */
export interface DisputeNotice {
  kind: 'dispute';
  disputeReference: string;
  paymentReferences: string[];
  status: DisputeStatus;
  /** 1: the chargeback; 2: a second chargeback or pre-arbitration (Adyen). */
  cycle: 1 | 2;
  /** In the currency's minor unit; null: the processor did not say (the charge's amount). */
  amountMinor: number | null;
  currency: string | null;
  reason: DisputeReason;
  networkReasonCode: string | null;
  /** Unix seconds; null when the processor gave no due date. */
  evidenceDueBy: number | null;
}

/** An attempt notice (the outcome of one of our requests) or a dispute notice. */
export type ProcessorNotice = ({ kind: 'attempt' } & WebhookNotice) | DisputeNotice;

export interface InboundWebhook {
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

/**
 * Evidence for one of the processor's disputes, to be submitted (not staged):
 * what `POST /v1/disputes/:id` with `submit` forwards (docs/disputes.md).
 */
export interface DisputeEvidenceRequest {
  /**
   * Payrail's reference for this submission, the same for a retry of the same
   * evidence: send it as the idempotency key so a retry never submits twice.
   */
  reference: string;
  /** The processor's id of the dispute (the notice's disputeReference). */
  disputeReference: string;
  /** Stripe's evidence field names, only the fields that hold a value. */
  evidence: Record<string, string>;
}

/**
 * What became of a submission. `refused`: the processor answered that it will
 * not take it (nothing was submitted); `unavailable`: it could not be reached,
 * failed, or the answer was lost; it may have been taken, so a retry must
 * carry the same reference.
 */
export type DisputeEvidenceOutcome =
  | { status: 'submitted' }
  | { status: 'refused'; code: string; message: string; param: string | null }
  | { status: 'unavailable'; message: string };

export interface Connector {
  /** Stable id stored on attempts and charges: the connector account id, or `sandbox`. */
  readonly name: string;
  readonly type: ConnectorType;
  authorize(request: AuthorizeRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  capture(request: CaptureRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  void(request: VoidRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  refund(request: RefundRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  retrieve(request: RetrieveRequest, signal: AbortSignal): Promise<RetrieveOutcome>;
  /** A cheap request that tells whether the processor is up (active health checks). Never throws. */
  probe(signal: AbortSignal): Promise<ProbeResult>;
  /**
   * Parses and authenticates an inbound webhook from the processor. Throws
   * an Error with a clear message if the signature or the body is invalid.
   */
  parseWebhook(webhook: InboundWebhook): WebhookNotice[];
  /**
   * Like parseWebhook, with the dispute notices too: what the engine's
   * webhook route calls. parseWebhook is the attempt notices of this.
   */
  parseNotices(webhook: InboundWebhook): ProcessorNotice[];
  /**
   * Submits evidence for one of this processor's disputes. Never throws for a
   * processor's answer or a network failure. Absent: the processor has no
   * dispute API that Payrail speaks (evidence is then only recorded).
   */
  submitDisputeEvidence?(
    request: DisputeEvidenceRequest,
    signal: AbortSignal,
  ): Promise<DisputeEvidenceOutcome>;
  /**
   * Finishes a challenged payment at the processor after the customer's
   * return, answering like authorize. Must be safe to call again with the
   * same request (recovery does, with empty details): a read, or a request
   * under `reference` as idempotency key. Never throws for a processor's
   * answer or a network failure. Absent: Payrail authorizes again with
   * `authenticated: true` (the sandbox and psp-sim).
   */
  completeAuthentication?(
    request: CompleteAuthenticationRequest,
    signal: AbortSignal,
  ): Promise<ConnectorOutcome>;
  /**
   * The return parameters a completion needs: a return that carries none of
   * them (a typed URL, a link scanner, a prefetch) begins nothing and changes
   * nothing. Absent or empty: the return needs none.
   */
  readonly completionDetailsRequired?: readonly AuthenticationReturnKey[];
}

/** The attempt notices among `notices`, as parseWebhook returns them. */
export function attemptNotices(notices: readonly ProcessorNotice[]): WebhookNotice[] {
  return notices.flatMap((n) =>
    n.kind === 'attempt'
      ? [{ reference: n.reference, operation: n.operation, outcome: n.outcome }]
      : [],
  );
}

/**
 * How a connector type is described to the engine: its credential fields and
 * whether it needs a base URL. `create` must not do I/O.
 */
export interface ConnectorDefinition {
  type: ConnectorType;
  /** Required credential field names (strings). Values are never returned by the API. */
  credentialFields: readonly string[];
  /** Credential fields that may be left out (a webhook signing secret, say). */
  optionalCredentialFields: readonly string[];
  baseUrl: 'required' | 'optional' | 'none';
  create(settings: ConnectorSettings): Connector;
}
