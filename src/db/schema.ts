import type { Generated } from 'kysely';

// Row types for every table. Booleans are stored as 0/1 integers and JSON as
// text on both dialects, so one set of queries serves SQLite and PostgreSQL.
// Amounts are integers in the currency's minor unit.

export type Bool = 0 | 1;

export interface AccountsTable {
  id: string;
  business_name: string | null;
  email: string | null;
  country: string;
  default_currency: string;
  metadata: string;
  created: number;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  livemode: Bool;
  kind: 'secret' | 'publishable';
  key_hash: string;
  key_hint: string;
  created: number;
  revoked_at: number | null;
}

export interface IdempotencyKeysTable {
  account_id: string;
  livemode: Bool;
  key: string;
  request_method: string;
  request_path: string;
  request_hash: string;
  status: 'in_progress' | 'done';
  locked_by: string;
  locked_at_ms: number;
  /** Set once work committed under this key: recovery finishes it, retries wait. */
  recovery_resource: string | null;
  response_status: number | null;
  response_body: string | null;
  created_ms: number;
}

export interface CustomersTable {
  id: string;
  account_id: string;
  livemode: Bool;
  email: string | null;
  name: string | null;
  phone: string | null;
  description: string | null;
  address: string | null;
  shipping: string | null;
  invoice_prefix: string;
  metadata: string;
  deleted: Bool;
  created: number;
}

export interface PaymentMethodsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  type: string;
  customer_id: string | null;
  billing_details: string;
  /** Public details of the method (brand, last4, ...), as JSON; never secrets. */
  details: string;
  /** Envelope-encrypted secret part (card number, IBAN, account number). */
  secret_enc: string | null;
  fingerprint: string | null;
  /** Stripe's allow_redisplay: 'always' | 'limited' | 'unspecified'. */
  allow_redisplay: string;
  metadata: string;
  created: number;
}

export interface PaymentIntentsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  amount: number;
  currency: string;
  status: string;
  capture_method: 'automatic' | 'automatic_async' | 'manual';
  confirmation_method: 'automatic' | 'manual';
  customer_id: string | null;
  payment_method_id: string | null;
  payment_method_types: string;
  description: string | null;
  receipt_email: string | null;
  statement_descriptor: string | null;
  setup_future_usage: string | null;
  metadata: string;
  amount_capturable: number;
  amount_received: number;
  latest_charge: string | null;
  last_payment_error: string | null;
  next_action: string | null;
  cancellation_reason: string | null;
  canceled_at: number | null;
  client_secret: string;
  return_url: string | null;
  version: number;
  created: number;
}

export interface ChargesTable {
  id: string;
  account_id: string;
  livemode: Bool;
  payment_intent_id: string;
  customer_id: string | null;
  payment_method_id: string;
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  status: 'succeeded' | 'pending' | 'failed';
  captured: Bool;
  /** Authorization released (manual capture canceled or partially captured). */
  released: Bool;
  connector: string;
  connector_reference: string | null;
  failure_code: string | null;
  failure_message: string | null;
  outcome: string;
  payment_method_details: string;
  description: string | null;
  receipt_email: string | null;
  metadata: string;
  created: number;
}

export interface PaymentAttemptsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  payment_intent_id: string;
  operation: 'authorize' | 'capture' | 'void' | 'refund' | 'authenticate';
  connector: string;
  connector_reference: string | null;
  status: 'pending' | 'succeeded' | 'requires_action' | 'declined' | 'failed_retryable' | 'unknown';
  amount: number;
  currency: string;
  error_code: string | null;
  decline_code: string | null;
  error_message: string | null;
  routing_reason: string;
  latency_ms: number | null;
  refund_id: string | null;
  /** The engine process that wrote it; recovery takes it over only once that process is gone. */
  instance_id: string | null;
  created_ms: number;
  completed_ms: number | null;
}

export interface RefundsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  payment_intent_id: string;
  charge_id: string;
  amount: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled' | 'requires_action';
  reason: string | null;
  failure_reason: string | null;
  metadata: string;
  created: number;
}

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  account_id: string;
  livemode: Bool;
  type: string;
  api_version: string;
  data_object: string;
  previous_attributes: string | null;
  request_id: string | null;
  idempotency_key: string | null;
  created: number;
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  customers: CustomersTable;
  payment_methods: PaymentMethodsTable;
  payment_intents: PaymentIntentsTable;
  charges: ChargesTable;
  payment_attempts: PaymentAttemptsTable;
  refunds: RefundsTable;
  events: EventsTable;
}
