import {
  type AuthorizeRequest,
  type CompleteAuthenticationRequest,
  type ConnectorOperation,
  type ConnectorOutcome,
  type DisputeNotice,
  type DisputeReason,
  type DisputeStatus,
  FAILURE_CODES,
  type ProcessorNotice,
  type WebhookNotice,
} from '../types.ts';

// Pure mapping between Payrail's connector contract and Adyen's Checkout API
// (v72, the version @adyen/api-library 32 speaks), for the `adyen` connector
// (docs/connectors.md#adyen). No I/O here: connector.ts makes the calls.

/** POST /payments, the fields Payrail sends. */
export interface AdyenPaymentRequest {
  amount: { value: number; currency: string };
  reference: string;
  merchantAccount: string;
  paymentMethod: {
    type: 'scheme';
    number: string;
    expiryMonth: string;
    expiryYear: string;
  };
  shopperInteraction: 'Ecommerce';
  /** 0 captures at once; manual capture is asked with additionalData.manualCapture. */
  captureDelayHours?: 0;
  additionalData?: { manualCapture: 'true' };
  shopperStatement?: string;
  metadata: { payrail_payment_intent: string };
  /** Where Adyen sends the shopper after a redirect (3-D Secure); Adyen appends `redirectResult`. */
  returnUrl?: string;
}

/** POST /payments/details after a redirect: the URL-decoded `redirectResult` (or `payload`). */
export interface AdyenPaymentDetailsRequest {
  details: { redirectResult?: string; payload?: string };
}

/** The answer to POST /payments, the fields Payrail reads. */
export interface AdyenPaymentResponse {
  resultCode?: string;
  pspReference?: string;
  refusalReason?: string;
  refusalReasonCode?: string;
  action?: { type?: string; url?: string; method?: string } | null;
  /** In /payments/details answers: our reference of the payment. */
  merchantReference?: string;
  /** In /payments/details answers, when Adyen includes it: what was authorised. */
  amount?: { value?: number; currency?: string } | null;
}

/** POST /payments/{pspReference}/captures|cancels|refunds. */
export interface AdyenModificationRequest {
  merchantAccount: string;
  reference: string;
  amount?: { value: number; currency: string };
}

/** The 201 answer to a modification: Adyen queues it and confirms by webhook. */
export interface AdyenModificationResponse {
  pspReference?: string;
  paymentPspReference?: string;
  status?: string;
}

/** Adyen's error body: {status, errorCode, message, errorType, pspReference?}. */
export interface AdyenApiError {
  status?: number;
  errorCode?: string;
  message?: string;
  errorType?: string;
  pspReference?: string;
}

/** What went wrong with one call, as plain data (the HTTP client builds it). */
export type AdyenFailure =
  | { kind: 'http'; httpStatus: number; error: AdyenApiError | null }
  | { kind: 'refused'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'connection'; message: string };

/**
 * Adyen's refusal reasons (docs.adyen.com/development-resources/refusal-reasons)
 * as Stripe error and decline codes, so the failover table reads the same
 * codes for every processor. Keyed by refusalReasonCode; the reason text is
 * the fallback key.
 */
export const ADYEN_REFUSALS: readonly {
  refusalReasonCode: string;
  refusalReason: string;
  code: string;
  declineCode: string;
}[] = [
  {
    refusalReasonCode: '2',
    refusalReason: 'Refused',
    code: 'card_declined',
    declineCode: 'generic_decline',
  },
  {
    refusalReasonCode: '3',
    refusalReason: 'Referral',
    code: 'card_declined',
    declineCode: 'call_issuer',
  },
  {
    refusalReasonCode: '4',
    refusalReason: 'Acquirer Error',
    code: 'processing_error',
    declineCode: 'processing_error',
  },
  {
    refusalReasonCode: '5',
    refusalReason: 'Blocked Card',
    code: 'card_declined',
    declineCode: 'restricted_card',
  },
  {
    refusalReasonCode: '6',
    refusalReason: 'Expired Card',
    code: 'expired_card',
    declineCode: 'expired_card',
  },
  {
    refusalReasonCode: '7',
    refusalReason: 'Invalid Amount',
    code: 'card_declined',
    declineCode: 'invalid_amount',
  },
  {
    refusalReasonCode: '8',
    refusalReason: 'Invalid Card Number',
    code: 'incorrect_number',
    declineCode: 'incorrect_number',
  },
  {
    refusalReasonCode: '9',
    refusalReason: 'Issuer Unavailable',
    code: 'card_declined',
    declineCode: 'issuer_not_available',
  },
  {
    refusalReasonCode: '10',
    refusalReason: 'Not supported',
    code: 'card_declined',
    declineCode: 'card_not_supported',
  },
  {
    refusalReasonCode: '11',
    refusalReason: '3D Not Authenticated',
    code: 'card_declined',
    declineCode: 'authentication_required',
  },
  {
    refusalReasonCode: '12',
    refusalReason: 'Not enough balance',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
  },
  {
    refusalReasonCode: '14',
    refusalReason: 'Acquirer Fraud',
    code: 'card_declined',
    declineCode: 'fraudulent',
  },
  {
    refusalReasonCode: '15',
    refusalReason: 'Cancelled',
    code: 'card_declined',
    declineCode: 'generic_decline',
  },
  {
    refusalReasonCode: '16',
    refusalReason: 'Shopper Cancelled',
    code: 'card_declined',
    declineCode: 'generic_decline',
  },
  {
    refusalReasonCode: '17',
    refusalReason: 'Invalid Pin',
    code: 'card_declined',
    declineCode: 'incorrect_pin',
  },
  {
    refusalReasonCode: '18',
    refusalReason: 'Pin tries exceeded',
    code: 'card_declined',
    declineCode: 'pin_try_exceeded',
  },
  {
    refusalReasonCode: '20',
    refusalReason: 'FRAUD',
    code: 'card_declined',
    declineCode: 'fraudulent',
  },
  {
    refusalReasonCode: '22',
    refusalReason: 'FRAUD-CANCELLED',
    code: 'card_declined',
    declineCode: 'fraudulent',
  },
  {
    refusalReasonCode: '23',
    refusalReason: 'Transaction Not Permitted',
    code: 'card_declined',
    declineCode: 'transaction_not_allowed',
  },
  {
    refusalReasonCode: '24',
    refusalReason: 'CVC Declined',
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
  },
  {
    refusalReasonCode: '25',
    refusalReason: 'Restricted Card',
    code: 'card_declined',
    declineCode: 'restricted_card',
  },
  {
    refusalReasonCode: '26',
    refusalReason: 'Revocation Of Auth',
    code: 'card_declined',
    declineCode: 'revocation_of_authorization',
  },
  {
    refusalReasonCode: '27',
    refusalReason: 'Declined Non Generic',
    code: 'card_declined',
    declineCode: 'generic_decline',
  },
  {
    refusalReasonCode: '28',
    refusalReason: 'Withdrawal amount exceeded',
    code: 'card_declined',
    declineCode: 'card_velocity_exceeded',
  },
  {
    refusalReasonCode: '29',
    refusalReason: 'Withdrawal count exceeded',
    code: 'card_declined',
    declineCode: 'withdrawal_count_limit_exceeded',
  },
  {
    refusalReasonCode: '31',
    refusalReason: 'Issuer Suspected Fraud',
    code: 'card_declined',
    declineCode: 'fraudulent',
  },
  {
    refusalReasonCode: '32',
    refusalReason: 'AVS Declined',
    code: 'incorrect_zip',
    declineCode: 'incorrect_zip',
  },
  {
    refusalReasonCode: '38',
    refusalReason: 'Authentication required',
    code: 'card_declined',
    declineCode: 'authentication_required',
  },
  {
    refusalReasonCode: '42',
    refusalReason: '3DS Authentication Error',
    code: 'card_declined',
    declineCode: 'authentication_required',
  },
];

const GENERIC_REFUSAL = { code: 'card_declined', declineCode: 'generic_decline' } as const;

/** The Stripe codes for an Adyen refusal; unknown reasons are a generic (hard) decline. */
export function adyenRefusalCodes(
  refusalReasonCode: string | undefined,
  refusalReason: string | undefined,
): { code: string; declineCode: string } {
  const reason = refusalReason?.toLowerCase();
  const row =
    ADYEN_REFUSALS.find((r) => r.refusalReasonCode === refusalReasonCode) ??
    ADYEN_REFUSALS.find((r) => r.refusalReason.toLowerCase() === reason);
  return row ? { code: row.code, declineCode: row.declineCode } : { ...GENERIC_REFUSAL };
}

/** The /payments body, or a decline for instruments this connector cannot send. */
export function toAdyenPaymentRequest(
  request: AuthorizeRequest,
  merchantAccount: string,
): { ok: true; body: AdyenPaymentRequest } | { ok: false; outcome: ConnectorOutcome } {
  const instrument = request.instrument;
  switch (instrument.type) {
    case 'card':
      return {
        ok: true,
        body: {
          amount: { value: request.amountMinor, currency: request.currency.toUpperCase() },
          reference: request.reference,
          merchantAccount,
          // Raw card data: the Adyen account needs the PCI permission for it
          // (docs/connectors.md#adyen). Revealed into the request body only.
          paymentMethod: {
            type: 'scheme',
            number: instrument.number.reveal(),
            expiryMonth: String(instrument.expMonth).padStart(2, '0'),
            expiryYear: String(instrument.expYear),
          },
          shopperInteraction: 'Ecommerce',
          ...(request.capture
            ? { captureDelayHours: 0 }
            : { additionalData: { manualCapture: 'true' } }),
          ...(request.statementDescriptor ? { shopperStatement: request.statementDescriptor } : {}),
          metadata: { payrail_payment_intent: request.paymentIntentId },
          ...(request.returnUrl ? { returnUrl: request.returnUrl } : {}),
        },
      };
    case 'sepa_debit':
    case 'us_bank_account':
    case 'wallet':
      // Bank debits need mandates and wallets need network tokens: neither
      // can be sent as raw data here, so no money moves.
      return unsupportedMethod('adyen', instrument.type);
    default: {
      const never: never = instrument;
      throw new Error(`unhandled instrument ${JSON.stringify(never)}`);
    }
  }
}

/** A /payments answer (HTTP 200) as an authorization outcome, by resultCode. */
export function fromAdyenPaymentResponse(response: AdyenPaymentResponse): ConnectorOutcome {
  const psp = response.pspReference ?? null;
  switch (response.resultCode) {
    case 'Authorised':
      return psp
        ? { status: 'succeeded', connectorReference: psp }
        : { status: 'unknown', reason: 'adyen Authorised without pspReference' };
    case 'Refused': {
      const codes = adyenRefusalCodes(response.refusalReasonCode, response.refusalReason);
      const message = `Refused: ${response.refusalReason ?? 'no reason given'}`;
      if (codes.code === 'processing_error') {
        // Parity with the sandbox: an acquirer error charged nothing; try elsewhere.
        return { status: 'failed_retryable', code: 'processing_error', message };
      }
      return { status: 'declined', connectorReference: psp, ...codes, message };
    }
    case 'RedirectShopper':
    case 'IdentifyShopper':
    case 'ChallengeShopper': {
      const url = response.action?.url;
      if (!url || !psp) {
        // A native 3DS2 action has no URL to send a customer to; nothing was charged.
        return {
          status: 'declined',
          connectorReference: psp,
          code: 'authentication_required',
          declineCode: 'authentication_required',
          message: `adyen ${response.resultCode} without a redirect URL`,
        };
      }
      return {
        status: 'requires_action',
        connectorReference: psp,
        nextAction: { type: 'redirect_to_url', url },
      };
    }
    case 'Error':
      // "An error occurred during processing" (Adyen's result codes): the
      // payment was not authorised. Like an acquirer error, another processor may take it.
      return {
        status: 'declined',
        connectorReference: psp,
        code: 'processing_error',
        declineCode: 'processing_error',
        message: `adyen Error: ${response.refusalReason ?? 'no reason given'}`,
      };
    case 'Cancelled':
      return {
        status: 'declined',
        connectorReference: psp,
        ...GENERIC_REFUSAL,
        message: 'adyen Cancelled',
      };
    default:
      // Pending, Received, PresentToShopper, ... : not final, resolve later.
      return { status: 'unknown', reason: `adyen resultCode ${response.resultCode ?? 'missing'}` };
  }
}

/**
 * The /payments/details body for a completion, or null when the return
 * carried neither `redirectResult` nor `payload` (recovery asking again, or
 * the test helper): then only a replay under the same Idempotency-Key can
 * answer, from what Adyen stored for the first call.
 */
export function toAdyenDetailsRequest(
  details: CompleteAuthenticationRequest['details'],
): AdyenPaymentDetailsRequest | null {
  if (details.redirectResult) return { details: { redirectResult: details.redirectResult } };
  if (details.payload) return { details: { payload: details.payload } };
  return null;
}

/**
 * A /payments/details answer, mapped like /payments (Authorised, Refused,
 * Cancelled, Error; Pending and Received are not final). An answer that
 * names another payment than the one challenged is never applied to ours:
 * a redirectResult from some other payment must not complete this one.
 */
export function fromAdyenDetailsResponse(
  response: AdyenPaymentResponse,
  expected: Pick<
    CompleteAuthenticationRequest,
    'connectorReference' | 'challengeReference' | 'amountMinor' | 'currency'
  >,
): ConnectorOutcome {
  const { connectorReference } = expected;
  if (response.pspReference && response.pspReference !== connectorReference) {
    return {
      status: 'unknown',
      reason: `adyen /payments/details answered for ${response.pspReference}, not ${connectorReference}`,
    };
  }
  // Without a pspReference, the merchantReference says whose answer it is.
  const reference = response.merchantReference;
  if (reference && expected.challengeReference && reference !== expected.challengeReference) {
    return {
      status: 'unknown',
      reason: `adyen /payments/details answered for reference ${reference}, not ${expected.challengeReference}`,
    };
  }
  // Never a success for another amount than the one challenged: for an operator.
  const amount = response.amount;
  const amountDiffers =
    typeof amount?.value === 'number' &&
    expected.amountMinor !== undefined &&
    amount.value !== expected.amountMinor;
  const currencyDiffers =
    typeof amount?.currency === 'string' &&
    expected.currency !== undefined &&
    amount.currency.toLowerCase() !== expected.currency.toLowerCase();
  if (amountDiffers || currencyDiffers) {
    return {
      status: 'unknown',
      reason: `adyen /payments/details answered ${amount?.value} ${amount?.currency}, challenged ${expected.amountMinor} ${expected.currency}`,
    };
  }
  return fromAdyenPaymentResponse({ ...response, pspReference: connectorReference });
}

/**
 * A failed /payments/details call. With the shopper's redirectResult, it is
 * mapped like any call (a 422 is Adyen refusing it: nothing was authorised by
 * it). Without one (`replay`), a 4xx only says Adyen holds no answer under
 * our key: the first call may never have arrived while the payment completed
 * at Adyen anyway, so it stays unknown for the AUTHORISATION webhook, the
 * shopper's next return or an operator.
 */
export function fromAdyenDetailsFailure(failure: AdyenFailure, replay: boolean): ConnectorOutcome {
  if (replay && failure.kind === 'http' && failure.httpStatus >= 400 && failure.httpStatus < 500) {
    return {
      status: 'unknown',
      reason: `adyen holds no /payments/details answer for this key (${failure.httpStatus}); the redirectResult is not kept`,
    };
  }
  return fromAdyenFailure(failure);
}

/** A modification's 201 `received`: accepted, the webhook confirms it later. */
export function fromAdyenModificationResponse(
  response: AdyenModificationResponse,
): ConnectorOutcome {
  if (response.status === 'received' && response.pspReference) {
    return { status: 'succeeded', connectorReference: response.pspReference };
  }
  return { status: 'unknown', reason: `adyen modification status ${response.status ?? 'missing'}` };
}

/**
 * A failed call, mapped by Adyen's response-handling docs: 401/403 are
 * credential problems and 400/422 validation errors, all refused before
 * acting; 429 is a rate limit; a 5xx, a timeout or a broken connection may
 * have acted and is `unknown` (Adyen documents no 5xx as "not processed").
 * Error code 704 (request with this key already in progress) is unknown too.
 */
export function fromAdyenFailure(failure: AdyenFailure): ConnectorOutcome {
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
    case 'http':
      return fromAdyenHttpError(failure.httpStatus, failure.error);
    default: {
      const never: never = failure;
      throw new Error(`unhandled adyen failure ${JSON.stringify(never)}`);
    }
  }
}

function fromAdyenHttpError(httpStatus: number, error: AdyenApiError | null): ConnectorOutcome {
  const detail = error
    ? `${error.errorType ?? 'error'} ${error.errorCode ?? ''}: ${error.message ?? ''}`.trim()
    : 'no Adyen error body';
  const message = `adyen answered ${httpStatus} (${detail})`;
  if (error?.errorCode === '704') return { status: 'unknown', reason: message };
  if (httpStatus === 429) {
    return { status: 'failed_retryable', code: FAILURE_CODES.rateLimited, message };
  }
  if (httpStatus === 401 || httpStatus === 403) {
    return { status: 'failed_retryable', code: FAILURE_CODES.error, message };
  }
  if (httpStatus === 400 || httpStatus === 422 || httpStatus === 404) {
    // Validation: Adyen stored nothing. A soft decline, so the default
    // failover table may try a processor configured for this request.
    return {
      status: 'declined',
      connectorReference: error?.pspReference ?? null,
      code: 'processing_error',
      declineCode: null,
      message,
    };
  }
  return { status: 'unknown', reason: message };
}

export { referenceCreatedMs, replayAllowed } from '../replay.ts';

import { unsupportedMethod } from '../replay.ts';

/** Adyen's standard notification item (the fields Payrail reads and signs). */
export interface AdyenNotificationItem {
  eventCode: string;
  success: string;
  pspReference: string;
  originalReference?: string;
  merchantAccountCode?: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  reason?: string;
  additionalData?: Record<string, string>;
}

export interface AdyenNotification {
  live: string;
  notificationItems: { NotificationRequestItem: AdyenNotificationItem }[];
}

const NOTICE_OPERATIONS: Readonly<Record<string, ConnectorOperation>> = {
  AUTHORISATION: 'authorize',
  CAPTURE: 'capture',
  CANCELLATION: 'void',
  REFUND: 'refund',
};

/** One verified notification item as a notice; other event codes give none. */
export function fromAdyenNotificationItem(item: AdyenNotificationItem): WebhookNotice | null {
  const operation = NOTICE_OPERATIONS[item.eventCode];
  if (!operation) return null;
  const outcome: ConnectorOutcome =
    item.success === 'true'
      ? { status: 'succeeded', connectorReference: item.pspReference }
      : operation === 'authorize'
        ? {
            status: 'declined',
            connectorReference: item.pspReference,
            ...adyenRefusalCodes(undefined, item.reason),
            message: `Refused: ${item.reason ?? 'no reason given'}`,
          }
        : {
            status: 'declined',
            connectorReference: item.pspReference,
            code: `${operation}_failed`,
            declineCode: null,
            message: `adyen ${item.eventCode} failed: ${item.reason ?? 'no reason given'}`,
          };
  return { reference: item.merchantReference, operation, outcome };
}

/**
 * Adyen's dispute event codes (Disputes webhooks) as Stripe statuses. A
 * notification of chargeback comes before any money moves, like Stripe's
 * inquiries (warning_*); CHARGEBACK takes the funds; a second chargeback and
 * pre-arbitration are the second cycle (funds taken again, given back again).
 */
const ADYEN_DISPUTE_EVENTS: Readonly<Record<string, { status: DisputeStatus; cycle: 1 | 2 }>> = {
  NOTIFICATION_OF_CHARGEBACK: { status: 'warning_needs_response', cycle: 1 },
  CHARGEBACK: { status: 'needs_response', cycle: 1 },
  CHARGEBACK_REVERSED: { status: 'won', cycle: 1 },
  SECOND_CHARGEBACK: { status: 'lost', cycle: 2 },
  PREARBITRATION_WON: { status: 'won', cycle: 2 },
  PREARBITRATION_LOST: { status: 'lost', cycle: 2 },
};

/** CHARGEBACK's additionalData.disputeStatus, where it says more than "needs a response". */
const ADYEN_CHARGEBACK_STATUS: Readonly<Record<string, DisputeStatus>> = {
  Responded: 'under_review',
  Lost: 'lost',
  Accepted: 'lost',
  Expired: 'lost',
};

/** Scheme reason codes (Visa, Mastercard, Amex) that have a Stripe reason; others are `general`. */
const ADYEN_REASON_CODES: Readonly<Record<string, DisputeReason>> = {
  '10.1': 'fraudulent',
  '10.2': 'fraudulent',
  '10.3': 'fraudulent',
  '10.4': 'fraudulent',
  '10.5': 'fraudulent',
  '4837': 'fraudulent',
  '4863': 'fraudulent',
  '4870': 'fraudulent',
  '4871': 'fraudulent',
  F24: 'fraudulent',
  F29: 'fraudulent',
  '12.6.1': 'duplicate',
  '4834': 'duplicate',
  '13.1': 'product_not_received',
  '4855': 'product_not_received',
  '13.3': 'product_unacceptable',
  '4853': 'product_unacceptable',
  '13.6': 'credit_not_processed',
  '4860': 'credit_not_processed',
  '13.2': 'subscription_canceled',
  '4841': 'subscription_canceled',
};

/** One verified notification item as a notice of either kind; other event codes give none. */
export function fromAdyenNotificationItemNotice(
  item: AdyenNotificationItem,
): ProcessorNotice | null {
  const dispute = fromAdyenDisputeItem(item);
  if (dispute) return dispute;
  const notice = fromAdyenNotificationItem(item);
  return notice ? { kind: 'attempt', ...notice } : null;
}

/** A dispute event as a notice; null for other event codes and unsuccessful items. */
export function fromAdyenDisputeItem(item: AdyenNotificationItem): DisputeNotice | null {
  const event = ADYEN_DISPUTE_EVENTS[item.eventCode];
  if (!event || item.success !== 'true') return null;
  const data = item.additionalData ?? {};
  const status =
    item.eventCode === 'CHARGEBACK'
      ? (ADYEN_CHARGEBACK_STATUS[data.disputeStatus ?? ''] ?? event.status)
      : event.status;
  const code = data.chargebackReasonCode ?? null;
  const dueMs = data.defensePeriodEndsAt ? Date.parse(data.defensePeriodEndsAt) : Number.NaN;
  const value = item.amount?.value;
  return {
    kind: 'dispute',
    // Every event of one dispute carries the dispute's own PSP reference.
    disputeReference: item.pspReference,
    paymentReferences: [item.originalReference, item.merchantReference].filter(
      (r): r is string => typeof r === 'string' && r !== '',
    ),
    status,
    cycle: event.cycle,
    amountMinor: typeof value === 'number' && Number.isSafeInteger(value) ? value : null,
    currency: item.amount?.currency ? item.amount.currency.toLowerCase() : null,
    reason: (code && ADYEN_REASON_CODES[code]) || 'general',
    networkReasonCode: code,
    evidenceDueBy: Number.isFinite(dueMs) ? Math.floor(dueMs / 1000) : null,
  };
}
