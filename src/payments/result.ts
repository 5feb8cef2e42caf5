import type { PaymentAttemptsTable } from '../db/schema.ts';
import type { StoredResponse } from '../http/idempotency.ts';
import { ApiError, ERROR_CATALOGUE, type ErrorCode } from '../lib/errors.ts';
import type { ApiPaymentIntent } from './serialize.ts';

// The result of an operation on a payment intent, and its HTTP response. The
// service hands the same value to ctx.complete (stored with the idempotency
// key) and recovery builds it the same way, so a retried request gets exactly
// the answer the first one would have had. A decline is a result, not an
// exception: it commits, then answers 402 with the intent in the error body.

export interface AttemptFailure {
  code: string;
  declineCode: string | null;
  message: string;
  chargeId: string | null;
}

export interface IntentResult {
  intent: ApiPaymentIntent;
  failure: AttemptFailure | null;
}

export function failureOf(
  attempt: PaymentAttemptsTable,
  chargeId: string | null,
): AttemptFailure | null {
  if (attempt.status !== 'declined' && attempt.status !== 'failed_retryable') return null;
  return {
    // A processor-side failure reaches the client as Stripe's processing_error.
    code:
      attempt.status === 'failed_retryable'
        ? 'processing_error'
        : (attempt.error_code ?? 'card_declined'),
    declineCode: attempt.decline_code,
    message: attempt.error_message ?? 'Your card was declined.',
    chargeId,
  };
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

export function failureError(intent: ApiPaymentIntent, failure: AttemptFailure): ApiError {
  const code: ErrorCode = isErrorCode(failure.code) ? failure.code : 'card_declined';
  return new ApiError(code, failure.message, {
    declineCode: failure.declineCode ?? undefined,
    extra: {
      payment_intent: intent,
      ...(failure.chargeId ? { charge: failure.chargeId } : {}),
      ...(intent.last_payment_error
        ? { payment_method: intent.last_payment_error.payment_method }
        : {}),
    },
  });
}

export function respondIntent(result: IntentResult): StoredResponse {
  if (!result.failure) return { status: 200, body: result.intent };
  const error = failureError(result.intent, result.failure);
  return { status: error.status, body: error.toBody() };
}
