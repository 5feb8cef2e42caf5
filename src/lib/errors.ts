// The error catalogue: every error the API returns has a code here, with its
// HTTP status and Stripe error type. Expected failures (a decline, a bad
// parameter, an illegal transition) are ApiErrors; bugs are other exceptions.

export type ErrorType =
  | 'api_error'
  | 'card_error'
  | 'idempotency_error'
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error';

interface CatalogueEntry {
  status: number;
  type: ErrorType;
}

export const ERROR_CATALOGUE = {
  // 400: the request is wrong.
  parameter_missing: { status: 400, type: 'invalid_request_error' },
  parameter_invalid_empty: { status: 400, type: 'invalid_request_error' },
  parameter_invalid_integer: { status: 400, type: 'invalid_request_error' },
  parameter_invalid_string_empty: { status: 400, type: 'invalid_request_error' },
  parameter_unknown: { status: 400, type: 'invalid_request_error' },
  parameter_invalid: { status: 400, type: 'invalid_request_error' },
  request_header_fields_too_large: { status: 431, type: 'invalid_request_error' },
  connector_notice_invalid: { status: 400, type: 'invalid_request_error' },
  parameters_exclusive: { status: 400, type: 'invalid_request_error' },
  invalid_request_body: { status: 400, type: 'invalid_request_error' },
  amount_too_small: { status: 400, type: 'invalid_request_error' },
  amount_too_large: { status: 400, type: 'invalid_request_error' },
  invalid_currency: { status: 400, type: 'invalid_request_error' },
  invalid_number: { status: 402, type: 'card_error' },
  invalid_expiry_month: { status: 402, type: 'card_error' },
  invalid_expiry_year: { status: 402, type: 'card_error' },
  invalid_cvc: { status: 402, type: 'card_error' },
  incorrect_number: { status: 402, type: 'card_error' },
  invalid_iban: { status: 400, type: 'invalid_request_error' },
  invalid_bank_account: { status: 400, type: 'invalid_request_error' },
  email_invalid: { status: 400, type: 'invalid_request_error' },
  payment_intent_unexpected_state: { status: 400, type: 'invalid_request_error' },
  payment_intent_invalid_parameter: { status: 400, type: 'invalid_request_error' },
  payment_method_unexpected_state: { status: 400, type: 'invalid_request_error' },
  payment_method_not_available: { status: 400, type: 'invalid_request_error' },
  charge_already_refunded: { status: 400, type: 'invalid_request_error' },
  charge_disputed: { status: 400, type: 'invalid_request_error' },
  charge_not_refundable: { status: 400, type: 'invalid_request_error' },
  amount_to_capture_too_large: { status: 400, type: 'invalid_request_error' },
  refund_amount_too_large: { status: 400, type: 'invalid_request_error' },
  customer_deleted: { status: 400, type: 'invalid_request_error' },
  processor_not_configured: { status: 400, type: 'invalid_request_error' },
  test_mode_only: { status: 400, type: 'invalid_request_error' },
  // 401/403: who is asking.
  api_key_missing: { status: 401, type: 'authentication_error' },
  api_key_invalid: { status: 401, type: 'authentication_error' },
  api_key_insufficient_permissions: { status: 403, type: 'permission_error' },
  // 402: the card said no.
  card_declined: { status: 402, type: 'card_error' },
  expired_card: { status: 402, type: 'card_error' },
  incorrect_cvc: { status: 402, type: 'card_error' },
  processing_error: { status: 402, type: 'card_error' },
  authentication_required: { status: 402, type: 'card_error' },
  payment_intent_authentication_failure: { status: 402, type: 'card_error' },
  // 404
  resource_missing: { status: 404, type: 'invalid_request_error' },
  route_missing: { status: 404, type: 'invalid_request_error' },
  // 405/413/415
  method_not_allowed: { status: 405, type: 'invalid_request_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_content_type: { status: 415, type: 'invalid_request_error' },
  // Idempotency.
  idempotency_key_in_use: { status: 409, type: 'idempotency_error' },
  idempotency_key_reused: { status: 400, type: 'idempotency_error' },
  idempotency_key_too_long: { status: 400, type: 'invalid_request_error' },
  // 429/5xx
  rate_limit: { status: 429, type: 'rate_limit_error' },
  lock_timeout: { status: 429, type: 'rate_limit_error' },
  api_error: { status: 500, type: 'api_error' },
  service_unavailable: { status: 503, type: 'api_error' },
  overloaded: { status: 503, type: 'api_error' },
  // Payments (appended).
  payment_intent_incompatible_payment_method: { status: 400, type: 'invalid_request_error' },
  payment_intent_action_required: { status: 402, type: 'card_error' },
  // Routing admin (appended).
  connector_limit_reached: { status: 400, type: 'invalid_request_error' },
  maintenance_window_unexpected_state: { status: 400, type: 'invalid_request_error' },
  routing_config_version_mismatch: { status: 409, type: 'invalid_request_error' },
  // Incidents (appended).
  incident_already_resolved: { status: 400, type: 'invalid_request_error' },
  incident_updates_limit: { status: 400, type: 'invalid_request_error' },
  // Payouts (appended).
  invalid_bic: { status: 400, type: 'invalid_request_error' },
  bank_account_exists: { status: 400, type: 'invalid_request_error' },
  balance_insufficient: { status: 400, type: 'invalid_request_error' },
  payout_not_cancelable: { status: 400, type: 'invalid_request_error' },
  // Connect (appended).
  account_invalid: { status: 403, type: 'permission_error' },
  // FX rates and accounting exports (appended).
  fx_rate_conflict: { status: 400, type: 'invalid_request_error' },
  export_too_large: { status: 400, type: 'invalid_request_error' },
  account_mapping_limit_reached: { status: 400, type: 'invalid_request_error' },
  // Reconciliation (appended).
  reconciliation_file_invalid: { status: 400, type: 'invalid_request_error' },
  reconciliation_line_unexpected_state: { status: 400, type: 'invalid_request_error' },
  dispute_unexpected_state: { status: 400, type: 'invalid_request_error' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ApiErrorOptions {
  param?: string | undefined;
  declineCode?: string | undefined;
  /** Extra top-level fields of the error body, such as `payment_intent`. */
  extra?: Record<string, unknown> | undefined;
  headers?: Record<string, string> | undefined;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | undefined;
  readonly declineCode: string | undefined;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    super(message);
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.code = code;
    this.status = entry.status;
    this.type = entry.type;
    this.param = options.param;
    this.declineCode = options.declineCode;
    this.extra = options.extra;
    this.headers = options.headers;
  }

  /** Stripe's error body. */
  toBody(): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = {
      type: this.type,
      code: this.code,
      message: this.message,
      doc_url: `https://docs.payrail.dev/errors#${this.code}`,
    };
    if (this.param !== undefined) error.param = this.param;
    if (this.declineCode !== undefined) error.decline_code = this.declineCode;
    if (this.extra) Object.assign(error, this.extra);
    return { error };
  }
}

export function notFound(kind: string, id: string, param = 'id'): ApiError {
  return new ApiError('resource_missing', `No such ${kind}: '${id}'`, { param });
}

export function invalidParam(param: string, message: string): ApiError {
  return new ApiError('parameter_invalid', message, { param });
}
