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
  /** A connected account (0006) names the platform account that created it. */
  platform_account_id?: string | null;
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
  /** JSON: the secondary method offered when no card processor could take the payment. */
  secondary_method: string | null;
  /** Splits (0006): the platform's application fee and the connected account paid the rest. */
  application_fee_amount?: number | null;
  transfer_destination?: string | null;
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
  /** Splits (0006), copied from the intent. */
  application_fee_amount?: number | null;
  transfer_destination?: string | null;
  /** The txn_ of the charge's capture posting (0006). */
  balance_transaction?: string | null;
  /** 1 once a dispute was opened on the charge (0009); null or 0: never disputed. */
  disputed?: Bool | null;
}

export interface PaymentAttemptsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  payment_intent_id: string;
  /** `reverse` voids or refunds an extra charge found when an unknown outcome is resolved. */
  operation: 'authorize' | 'capture' | 'void' | 'refund' | 'authenticate' | 'reverse';
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
  /** When the attempt's outcome first became unknown. */
  unknown_at_ms: number | null;
  /** How an unknown outcome was resolved, in words (kept, not charged, extra charge reversed by pa_...). */
  resolution: string | null;
  /** For `reverse` attempts: the authorize attempt whose extra charge this undoes. */
  reverses_attempt_id: string | null;
  /** Authorize attempts (0012): 1 when the processor was asked to capture at once; null before 0012. */
  captures?: Bool | null;
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
  /** The txn_ of the refund's posting (0006). */
  balance_transaction?: string | null;
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

export interface ConnectorAccountsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  type: string;
  name: string;
  status: 'active' | 'disabled';
  base_url: string | null;
  /** Envelope-encrypted JSON of the credential fields. */
  credentials_enc: string;
  /** JSON: each credential field with all but its last 4 characters masked. */
  credentials_hint: string;
  /** JSON array of lowercase ISO 4217 codes, or null for every currency. */
  currencies: string | null;
  /** JSON array: card, sepa_debit, us_bank_account. */
  payment_method_types: string;
  /** Percentage fee in parts per million of the amount (2.9 % = 29000). */
  fee_rate_ppm: number;
  /** Fixed fee per payment, in the payment currency's minor unit. */
  fee_fixed: number;
  /** Timeout for one call to this processor. */
  timeout_ms: number;
  metadata: string;
  deleted: Bool;
  created: number;
  /** The currency this processor pays out in (0006); null: the presentment currency. */
  settlement_currency?: string | null;
  /** Fixed fee per dispute (0009), in the settlement currency's minor unit; null: none. */
  dispute_fee?: number | null;
}

export interface RoutingConfigsTable {
  account_id: string;
  livemode: Bool;
  /** JSON of routing/types.ts RoutingConfig. */
  config: string;
  version: number;
  updated: number;
}

export interface MaintenanceWindowsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  connector_id: string;
  /** Unix seconds. */
  starts_at: number;
  ends_at: number;
  note: string | null;
  status: 'scheduled' | 'canceled';
  created: number;
}

export interface IncidentsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  /** The connector the incident is about; null for an operator's incident about everything. */
  connector_id: string | null;
  source: 'automatic' | 'manual';
  title: string;
  /** degraded_performance | partial_outage | major_outage (statuspage.io's words). */
  impact: string;
  /** investigating | identified | monitoring | resolved */
  status: string;
  started_ms: number;
  resolved_ms: number | null;
  metadata: string;
  created: number;
}

export interface IncidentUpdatesTable {
  id: string;
  incident_id: string;
  /** opened | update | degraded | recovered | resolved */
  kind: string;
  status: string;
  message: string;
  created_ms: number;
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
  connector_accounts: ConnectorAccountsTable;
  routing_configs: RoutingConfigsTable;
  maintenance_windows: MaintenanceWindowsTable;
  incidents: IncidentsTable;
  incident_updates: IncidentUpdatesTable;
  jobs: JobsTable;
  job_cursors: JobCursorsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  notification_settings: NotificationSettingsTable;
  notifications: NotificationsTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_balances: LedgerBalancesTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_entries: LedgerEntriesTable;
  fx_rates: FxRatesTable;
  settlement_batches: SettlementBatchesTable;
  external_accounts: ExternalAccountsTable;
  payouts: PayoutsTable;
  ledger_account_mappings: LedgerAccountMappingsTable;
  reconciliations: ReconciliationsTable;
  reconciliation_lines: ReconciliationLinesTable;
  disputes: DisputesTable;
  bank_transfer_receipts: BankTransferReceiptsTable;
}

// --- ledger (0004_ledger) ---

/** One book account: per merchant account, mode, currency, purpose (and connector for receivables). */
export interface LedgerAccountsTable {
  id: string;
  natural_key: string;
  account_id: string;
  livemode: Bool;
  currency: string;
  /** See src/ledger/accounts.ts LedgerPurpose. */
  purpose: string;
  connector_id: string | null;
  created: number;
}

/**
 * Part of a ledger account's balance (0011_balance_slots): the account's
 * balance is the sum of its slots, and that equals the sum of its entries,
 * debit positive, credit negative, in minor units.
 */
export interface LedgerBalancesTable {
  ledger_account_id: string;
  slot: number;
  balance: number;
}

/** A group of entries summing to zero per currency; the charge/refund ones are Stripe balance transactions. */
export interface LedgerTransactionsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  /** See src/ledger/service.ts BALANCE_TRANSACTION_TYPES; internal: settlement, payout_paid, funds_release. */
  type: string;
  /** The cause: ch_, re_, or the txn_ a release makes available. */
  source: string;
  reporting_category: string;
  description: string | null;
  amount: number;
  fee: number;
  net: number;
  /** JSON array of Stripe fee_details. */
  fee_details: string;
  currency: string;
  status: 'pending' | 'available';
  available_on: number;
  created: number;
  /** FX (0006): the rate used (decimal string), and the presentment amount and currency. */
  exchange_rate?: string | null;
  source_amount?: number | null;
  source_currency?: string | null;
  /** The connector whose money this is (charges, refunds, settlement). */
  connector_id?: string | null;
  settlement_batch_id?: string | null;
  /** The po_ this transaction belongs to (a payout and its failure or cancellation). */
  payout_id?: string | null;
}

/** Insert-only (a trigger refuses UPDATE and DELETE). */
export interface LedgerEntriesTable {
  id: string;
  transaction_id: string;
  ledger_account_id: string;
  /** Debit positive, credit negative, minor units. */
  amount: number;
  currency: string;
  created: number;
}

// --- notifications (0005_notifications) ---

/** Receipts and operator alerts of one account in one mode; absent means the defaults. */
export interface NotificationSettingsTable {
  account_id: string;
  livemode: Bool;
  /** Display name of the From header; null: the account's business name. */
  sender_name: string | null;
  reply_to: string | null;
  /** JSON arrays of addresses (emails) and E.164 numbers (SMS) that get operator alerts. */
  operator_emails: string;
  operator_phones: string;
  receipts_enabled: Bool;
  /** A failed-payment spike: this many payment_failed events within the window. */
  failed_payments_threshold: number;
  failed_payments_window_seconds: number;
  updated: number;
}

/** One message to one recipient on one channel, and how sending it went. */
export interface NotificationsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  event_id: string;
  kind: string;
  channel: 'email' | 'sms';
  /** The full address or number: needed to send; the API and logs show it masked. */
  recipient: string;
  /** `event:kind:channel:recipient`, unique: one event never notifies one recipient twice. */
  dedupe_key: string;
  /** JSON: the template's variables (amounts, ids, titles), never a rendered body. */
  data: string;
  status: 'queued' | 'sent' | 'failed' | 'skipped';
  attempts: number;
  error: string | null;
  /** SMTP message id or SMS provider sid. */
  provider_id: string | null;
  created: number;
  created_ms: number;
  sent_ms: number | null;
}

// --- jobs and webhooks (0003_webhooks) ---

/** A durable job: `queued` until done; a lease (`locked_by`, `locked_until_ms`) marks who runs it. */
export interface JobsTable {
  id: string;
  kind: string;
  /** What the job is about, for lookups (a webhook delivery: the event id). */
  ref: string | null;
  payload: string;
  status: 'queued' | 'done' | 'dead' | 'canceled';
  attempts: number;
  run_at_ms: number;
  locked_by: string | null;
  locked_until_ms: number | null;
  last_error: string | null;
  created_ms: number;
  updated_ms: number;
}

/** A named durable position in a stream (the webhook fan-out's position in `events.seq`). */
export interface JobCursorsTable {
  name: string;
  position: number;
  updated_ms: number;
}

export interface WebhookEndpointsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  url: string;
  description: string | null;
  /** JSON array of event types, or ["*"]. */
  enabled_events: string;
  metadata: string;
  status: 'enabled' | 'disabled';
  /** Envelope-encrypted signing secret (AAD bound to the endpoint id). */
  secret_enc: string;
  /** The secret before the last roll, still signing until it expires. */
  previous_secret_enc: string | null;
  previous_secret_expires_ms: number | null;
  /** Start of the current run of failed deliveries; null while healthy. */
  failing_since_ms: number | null;
  /** Why it is disabled: 'failing' (automatic) or 'manual'. */
  disabled_reason: string | null;
  deleted: Bool;
  created: number;
}

/** One delivery attempt of one event to one endpoint. */
export interface WebhookDeliveriesTable {
  id: string;
  account_id: string;
  livemode: Bool;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  job_id: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  response_status: number | null;
  /** The response body, truncated. */
  response_body: string | null;
  error: string | null;
  duration_ms: number;
  created: number;
}

// --- finance (0006_finance) ---

/** One FX rate: 1 unit of base = `rate` units of quote, from `effective_from` on. */
export interface FxRatesTable {
  id: string;
  account_id: string;
  livemode: Bool;
  base_currency: string;
  quote_currency: string;
  /** Decimal string, e.g. "1.0834"; never a float in storage. */
  rate: string;
  effective_from: number;
  source: 'api' | 'file';
  created: number;
}

/** End-of-day settlement of one connector's balance transactions in one currency. */
export interface SettlementBatchesTable {
  id: string;
  account_id: string;
  livemode: Bool;
  connector_id: string;
  currency: string;
  /** The batch holds balance transactions created before this time (unix seconds). */
  cutoff: number;
  gross: number;
  fee: number;
  net: number;
  count: number;
  status: 'settled';
  /** What the processor's deposit on the bank statement carries. */
  reference: string;
  created: number;
}

/** A merchant's bank account for payouts (Stripe's bank_account external account). */
export interface ExternalAccountsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  currency: string;
  country: string;
  account_holder_name: string | null;
  account_holder_type: string | null;
  /** Envelope-encrypted IBAN (the pain.001 file needs it in full). */
  iban_enc: string;
  last4: string;
  bic: string | null;
  bank_name: string | null;
  fingerprint: string;
  default_for_currency: Bool;
  status: string;
  metadata: string;
  deleted: Bool;
  created: number;
}

export interface PayoutsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  amount: number;
  currency: string;
  status: 'pending' | 'in_transit' | 'paid' | 'failed' | 'canceled';
  /** The ba_ external account. */
  destination: string;
  method: 'standard';
  description: string | null;
  statement_descriptor: string | null;
  arrival_date: number;
  failure_code: string | null;
  failure_message: string | null;
  balance_transaction: string | null;
  failure_balance_transaction: string | null;
  /** The pain.001 message id of the file that carried it. */
  export_id: string | null;
  metadata: string;
  version: number;
  created: number;
}

// --- reconciliation (0007_reconciliation) ---

/** One imported settlement report or bank statement; unique per account, mode and sha256. */
export interface ReconciliationsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  /** stripe_balance_change | adyen_settlement_details | camt053 */
  type: string;
  /** The conn_ the report comes from (null: not given). */
  connector_id: string | null;
  file_name: string | null;
  sha256: string;
  size_bytes: number;
  status: 'completed';
  /** The report lines' time range (unix seconds), used to find ledger transactions it missed. */
  period_start: number | null;
  period_end: number | null;
  lines_count: number;
  /** JSON: counts per status and totals per currency at import time. */
  summary: string;
  created: number;
}

/** One line of a report (kind `report`) or a ledger transaction the report missed (kind `ledger`). */
export interface ReconciliationLinesTable {
  id: string;
  reconciliation_id: string;
  account_id: string;
  livemode: Bool;
  kind: 'report' | 'ledger';
  /** The line in the file (CSV line, or the entry's number in a camt.053); null for ledger lines. */
  line_number: number | null;
  /** charge | refund | payout | fee | chargeback | bank_credit | bank_debit | other */
  category: string;
  reference: string | null;
  currency: string;
  /** Gross in minor units, signed as the report signs it (money in positive). */
  amount: number;
  fee: number | null;
  net: number | null;
  occurred_at: number | null;
  description: string | null;
  /** JSON: the parsed fields of the line, for the operator. */
  fields: string;
  /** matched | amount_mismatch | fee_mismatch | unmatched_report | unmatched_ledger */
  status: string;
  /** ledger_transaction | settlement_batch | payout */
  match_type: string | null;
  match_id: string | null;
  /** Report minus ledger, in minor units. */
  amount_difference: number | null;
  fee_difference: number | null;
  /** What the import did: payout_paid | payout_failed. */
  action: string | null;
  /** Why the line matched or not, in words. */
  note: string | null;
  resolved_at: number | null;
  /** The api key id (key_...) or `cli`. */
  resolved_by: string | null;
  resolution_note: string | null;
  created: number;
}

// --- accounting exports (0008_exports) ---

/** A ledger account purpose (and optionally connector) mapped to the merchant's chart of accounts. */
export interface LedgerAccountMappingsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  /** See src/ledger/accounts.ts LedgerPurpose. */
  purpose: string;
  /** '' for every connector; a conn_ id (or `sandbox`) for that connector only. */
  connector_id: string;
  /** QuickBooks Online account name ("Parent:Sub" for a sub-account). */
  quickbooks_account: string | null;
  /** Xero account code (e.g. "610"). */
  xero_account_code: string | null;
  created: number;
  updated: number;
}

// --- disputes (0009_disputes) ---

/** A processor's dispute (chargeback or inquiry) of one charge; Stripe's `dispute`. */
export interface DisputesTable {
  id: string;
  account_id: string;
  livemode: Bool;
  charge_id: string;
  payment_intent_id: string;
  /** The connector that reported it (`sandbox` for the built-in one). */
  connector: string;
  /** The processor's own id of the dispute; unique per connector. */
  connector_dispute_id: string;
  amount: number;
  currency: string;
  reason: string;
  /** Stripe's statuses: warning_needs_response … won, lost (src/disputes/states.ts). */
  status: string;
  /** 1: the first chargeback; 2: a second chargeback / pre-arbitration (Adyen). */
  cycle: number;
  /** How many of the ledger's dispute postings were made, in order (src/ledger/disputes.ts). */
  funds_moves: number;
  network_reason_code: string | null;
  /** JSON: Stripe's evidence fields (strings or null). */
  evidence: string;
  due_by: number | null;
  submission_count: number;
  has_evidence: Bool;
  past_due: Bool;
  is_charge_refundable: Bool;
  metadata: string;
  version: number;
  created: number;
  updated: number;
  /** 0014: the token of the request sending evidence to the processor now; null: none. */
  submission_claim: string | null;
  /** 0014: the reference of the claimed submission, kept after an unknown outcome until expiry. */
  submission_reference: string | null;
  /** 0014: epoch ms after which the claim (or the kept reference) no longer counts. */
  submission_claim_expires: number | null;
}

// --- bank transfers (0013_bank_transfers) ---

/** A bank transfer received for a payment intent offered the secondary method (docs/bank-transfers.md). */
export interface BankTransferReceiptsTable {
  id: string;
  account_id: string;
  livemode: Bool;
  payment_intent_id: string;
  amount: number;
  currency: string;
  /** The reference the customer was asked to quote (next_action). */
  reference: string;
  /** The bank's reference of the credit (AcctSvcrRef, or the operator's); unique per account and mode. */
  bank_reference: string | null;
  received_at: number;
  /** api | camt053 */
  source: string;
  reconciliation_id: string | null;
  /** The charge this receipt completed (the last one of a fully funded intent). */
  charge_id: string | null;
  /** What was still due after this receipt. */
  amount_remaining: number;
  created: number;
}
