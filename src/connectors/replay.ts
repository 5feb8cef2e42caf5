import type {
  AuthorizeRequest,
  CaptureRequest,
  ConnectorOutcome,
  RefundRequest,
  RetrieveOutcome,
  RetrieveRequest,
  VoidRequest,
} from './types.ts';

// Retrieving by replay: processors that keep idempotency keys for a while
// (Stripe 24 h, Adyen 7 days) answer a replayed request with the stored
// result instead of acting again. A replay is only safe while the processor
// still holds the key, so the connector checks the age of our reference
// first: Payrail ids start with their creation time (src/lib/ids.ts).

/** When a Payrail reference (`pa_` + 9 base-36 time characters ...) was made, or null. */
export function referenceCreatedMs(reference: string): number | null {
  const match = /^[a-z]+_([0-9a-z]{9})[0-9a-z]{15}$/.exec(reference);
  if (!match?.[1]) return null;
  const ms = Number.parseInt(match[1], 36);
  return Number.isSafeInteger(ms) ? ms : null;
}

/**
 * Whether replaying a request under its idempotency key is still safe: the
 * processor must still hold the key, or the replay would act a second time.
 * A reference whose age cannot be read is never replayed.
 */
export function replayAllowed(reference: string, nowMs: number, windowMs: number): boolean {
  const createdMs = referenceCreatedMs(reference);
  return createdMs !== null && nowMs - createdMs < windowMs;
}

/** The operations a connector replays under their original idempotency keys. */
export interface Replayable {
  authorize(request: AuthorizeRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  capture(request: CaptureRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  void(request: VoidRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
  refund(request: RefundRequest, signal: AbortSignal): Promise<ConnectorOutcome>;
}

/**
 * `retrieve` by replay: inside the processor's retention window the original
 * request is sent again under its key (the processor answers what it did);
 * past it, the outcome stays unknown for an operator to resolve.
 */
export async function retrieveByReplay(
  request: RetrieveRequest,
  signal: AbortSignal,
  options: { nowMs: number; windowMs: number; tooOld: string; operations: Replayable },
): Promise<RetrieveOutcome> {
  if (!replayAllowed(request.reference, options.nowMs, options.windowMs))
    return { status: 'unknown', reason: options.tooOld };
  const ops = options.operations;
  switch (request.operation) {
    case 'authorize':
      return ops.authorize(request.original, signal);
    case 'capture':
      return ops.capture(request.original, signal);
    case 'void':
      return ops.void(request.original, signal);
    case 'refund':
      return ops.refund(request.original, signal);
    default: {
      const never: never = request;
      throw new Error(`unhandled retrieve ${JSON.stringify(never)}`);
    }
  }
}

/** A payment method the connector cannot send: declined before any money moves (no failover by default). */
export function unsupportedMethod(connectorType: string, methodType: string) {
  return {
    ok: false as const,
    outcome: {
      status: 'declined' as const,
      connectorReference: null,
      code: 'payment_method_not_supported',
      declineCode: null,
      message: `The ${connectorType} connector does not send ${methodType} payment methods.`,
    },
  };
}
