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
  amountMinor: number;
  currency: string;
  /** Capture in the same call (automatic capture). */
  capture: boolean;
  instrument: ChargeInstrument;
  /** Set when the customer completed authentication (3-D Secure) for this payment. */
  authenticated: boolean;
  statementDescriptor: string | null;
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

export interface Connector {
  /** Stable name stored on attempts and charges: `sandbox`, `stripe`, `adyen`. */
  readonly name: string;
  authorize(request: AuthorizeRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  capture(request: CaptureRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  void(request: VoidRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  refund(request: RefundRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  retrieve(request: RetrieveRequest, signal: AbortSignal): Promise<RetrieveOutcome>;
}
