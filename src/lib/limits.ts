// Every limit the engine enforces, named in one place. Changing a number here
// changes it everywhere; tests and the OpenAPI document read the same values.
export const LIMITS = {
  /** Largest request body accepted, in bytes. */
  bodyBytesMax: 256 * 1024,
  /** Longest accepted URL path parameter (ids), in characters. */
  paramLengthMax: 255,
  /** List pages: `limit` accepted range and default, like Stripe. */
  pageSizeMin: 1,
  pageSizeMax: 100,
  pageSizeDefault: 10,
  /** Metadata, like Stripe: 50 keys, key 40 characters, value 500 characters. */
  metadataKeysMax: 50,
  metadataKeyLengthMax: 40,
  metadataValueLengthMax: 500,
  /** Free-text fields (description, name, ...). */
  shortStringLengthMax: 256,
  longStringLengthMax: 1000,
  emailLengthMax: 512,
  statementDescriptorLengthMax: 22,
  /** Idempotency keys: longest key, how long results are kept, in-progress lease. */
  idempotencyKeyLengthMax: 255,
  idempotencyRetentionMs: 24 * 60 * 60 * 1000,
  /** How often expired idempotency results are pruned and abandoned keys released. */
  idempotencySweepIntervalMs: 10 * 60 * 1000,
  idempotencyLeaseMs: 60 * 1000,
  /** Amounts: the largest amount in minor units (Stripe's 8-digit limit for most currencies). */
  amountMinorMax: 99_999_999,
  /** Payment attempts under one payment intent. */
  attemptsPerIntentMax: 50,
  /** Completions one 3-D Secure challenge may begin (customers' returns): well under attemptsPerIntentMax. */
  completionsPerChallengeMax: 20,
  /** Longest value of one 3-D Secure return parameter passed to a processor (Adyen's redirectResult is the long one). */
  authenticationDetailLengthMax: 8192,
  /** Connector calls: timeout for one call to a processor. */
  connectorTimeoutMs: 30_000,
  /** Sandbox processor: upper bound for configured latency. */
  sandboxLatencyMsMax: 60_000,
  /** Query strings: parameters accepted and nesting depth for bracket notation. */
  formParametersMax: 1000,
  formDepthMax: 5,
  formArrayLengthMax: 100,
  /** How many cached API keys the auth layer keeps in memory. */
  apiKeyCacheEntriesMax: 10_000,
  /** Vault: card number digits (ISO/IEC 7812 allows 8 to 19; payment cards use 12 to 19). */
  cardNumberDigitsMin: 12,
  cardNumberDigitsMax: 19,
  /** Vault: how far ahead a card's expiry year may be, in years. */
  cardExpiryYearsAheadMax: 50,
  /** Vault: longest IBAN (ISO 13616), in characters. */
  ibanLengthMax: 34,
  /** Vault: US bank account numbers, in digits (like Stripe: 4 to 17). */
  usBankAccountDigitsMin: 4,
  usBankAccountDigitsMax: 17,
  /** Payments recovery: how often stale attempts are re-checked, and how many per pass. */
  recoveryIntervalMs: 10_000,
  recoveryBatchMax: 100,
  /** A pending attempt older than this belongs to a process that died (multi-process PostgreSQL). */
  pendingAttemptStaleMs: 2 * 30_000,
  /** Connector accounts: call timeout range and default, per account. */
  connectorTimeoutMsMin: 100,
  connectorTimeoutMsMax: 60_000,
  connectorTimeoutMsDefault: 10_000,
  /** Connector accounts per merchant account and mode. */
  connectorAccountsMax: 50,
  /** Failover: connectors tried for one confirmation (the routing config may lower it). */
  failoverAttemptsMax: 5,
  failoverAttemptsDefault: 3,
  /** Routing config: rules, strategies and items per list. */
  routingRulesMax: 100,
  routingStrategiesMax: 10,
  /** Health: how many recent calls per connector the passive window keeps. */
  healthWindowSize: 100,
  /** Circuit breaker: opens when this share of the last breakerWindow calls failed (with at least breakerMinCalls). */
  breakerFailureRatio: 0.5,
  breakerWindow: 20,
  breakerMinCalls: 5,
  /** Circuit breaker: how long it stays open before letting one trial call through. */
  breakerHalfOpenAfterMs: 5_000,
  /** Active health probes: interval and timeout. */
  probeIntervalMs: 5_000,
  probeTimeoutMs: 2_000,
  /** Success-rate routing and degraded detection: window and minimum samples. */
  successRateWindow: 100,
  successRateMinSamples: 20,
  /** Below this approval-rate share a connector counts as degraded (incident). */
  degradedSuccessRate: 0.5,
  /** Maintenance windows: how far ahead one may be scheduled, and longest window. */
  maintenanceAheadMaxSeconds: 366 * 24 * 3600,
  maintenanceLengthMaxSeconds: 31 * 24 * 3600,
  /** Incidents: updates per incident and message length. */
  incidentUpdatesMax: 500,
  /** Refunds under one charge. */
  refundsPerChargeMax: 100,
  // --- psp-sim (the standalone processor simulator) ---
  /** psp-sim: largest request body, in bytes. */
  pspSimBodyBytesMax: 64 * 1024,
  /** psp-sim: records (charges, captures, voids, refunds) kept in one data directory. */
  pspSimRecordsMax: 200_000,
  /** psp-sim: `slow` mode latency, default and upper bound. */
  pspSimLatencyMsDefault: 2_000,
  pspSimLatencyMsMax: 120_000,
  /** psp-sim: `flaky` mode default share of failing requests. */
  pspSimErrorRateDefault: 0.5,
  /** psp-sim webhook notices: accepted age of the signature timestamp, in seconds. */
  pspSimSignatureToleranceSeconds: 300,
  // --- incidents (status page, post-incident reports) ---
  /** Incidents: longest title and update message, in characters. */
  incidentTitleLengthMax: 200,
  incidentMessageLengthMax: 5000,
  /** Report: rows scanned per query (attempts, intents); a larger window is reported as truncated. */
  incidentReportRowsMax: 20_000,
  /** Report: ids listed per list (lost payments, unknown outcomes, failed codes). */
  incidentReportListMax: 200,
  /** Status page: incidents shown per section, and how far back resolved ones are shown. */
  statusPageIncidentsMax: 20,
  statusPageResolvedDays: 7,
  /** Status page: updates shown per incident, and the page's auto-refresh. */
  statusPageUpdatesMax: 20,
  statusPageRefreshSeconds: 30,
  // --- routing core (ranking, health monitor) ---
  /** Health monitor: connectors tracked in memory; the least recently used is dropped beyond this. */
  healthConnectorsTrackedMax: 10_000,
  /** Health monitor: payment method types with their own approval-rate window, per connector. */
  healthMethodTypesTrackedMax: 16,
  // --- routing admin (connector accounts, routing config, maintenance windows) ---
  /** How long a process may serve cached connectors / routing config / windows of a scope. */
  routingCacheMs: 1000,
  /** Scopes (and decrypted connector settings) kept in the routing caches before they are reset. */
  routingCacheEntriesMax: 10_000,
  /** Connector credentials: longest value of one field; longest base_url. */
  connectorCredentialLengthMax: 4096,
  connectorBaseUrlLengthMax: 2048,
  /** Maintenance windows not yet ended (nor canceled) per connector account. */
  maintenanceWindowsOpenPerConnectorMax: 100,
  // --- stripe and adyen connectors ---
  /**
   * How long after a request `retrieve` may replay it under the same
   * idempotency key: Stripe keeps keys 24 h, Adyen at least 7 days (31 in
   * current docs); both with a margin. Older requests are left unknown.
   */
  stripeReplayWindowMs: 23 * 60 * 60 * 1000,
  adyenReplayWindowMs: 6 * 24 * 60 * 60 * 1000,
  // --- webhooks and jobs ---
  /** Webhook endpoints per account and mode (Stripe: 16). */
  webhookEndpointsMax: 16,
  /** Event types (or patterns) listed in one endpoint's enabled_events. */
  webhookEnabledEventsMax: 256,
  /** Longest endpoint URL. */
  webhookUrlLengthMax: 2048,
  /** Response body kept per attempt, in characters. */
  webhookResponseBodyMax: 1024,
  /** Longest delay between two attempts, before jitter (the base doubles up to this). */
  webhookRetryDelayMaxMs: 6 * 60 * 60 * 1000,
  /** Secret roll: longest overlap during which the previous secret still signs (Stripe: 24 h). */
  webhookRollOverlapSecondsMax: 7 * 24 * 3600,
  webhookRollOverlapSecondsDefault: 24 * 3600,
  /** Events enqueued by one replay request. */
  webhookReplayEventsMax: 10_000,
  /** Fan-out: events read per pass; how long a seq gap waits for a slow transaction (PostgreSQL). */
  webhookFanoutBatchMax: 500,
  webhookSeqGapGraceMs: 10_000,
  /** Deliveries in flight per engine process. */
  webhookConcurrencyMax: 8,
  /** Deliveries in flight to one endpoint per process, so a hanging receiver cannot take every slot. */
  webhookInFlightPerEndpointMax: 2,
  /** How long a delivery waits when its endpoint already has that many in flight. */
  webhookEndpointBusyDelayMs: 500,
  /** How often leases of dead processes are released. */
  jobsOrphanSweepIntervalMs: 10_000,
  /** Jobs: poll interval, extra lease beyond a job's own timeout, finished-job retention. */
  jobsPollIntervalMs: 200,
  jobsLeaseMarginMs: 30_000,
  jobsRetentionMs: 7 * 24 * 60 * 60 * 1000,
  /** Jobs: finished jobs pruned per pass; how long close() waits for jobs in flight. */
  jobsPruneBatchMax: 1000,
  jobsCloseWaitMs: 15_000,
  /** Incident reports: how far before an automatic incident opened the failures are counted. */
  incidentReportLookbackMs: 15 * 60 * 1000,
  /** Processor webhooks: notices handled from one inbound request. */
  connectorNoticesMax: 100,
  // --- ledger ---
  /** Funds move from pending to available this long after a balance transaction (Stripe: ~2 days). */
  ledgerAvailableDelaySecondsDefault: 2 * 24 * 3600,
  ledgerAvailableDelaySecondsMax: 90 * 24 * 3600,
  /** Balance transactions made available per release pass. */
  ledgerReleaseBatchMax: 500,
  /** Problems listed by one `ledger verify` report (the count is always complete). */
  ledgerVerifyProblemsMax: 200,
  /** How often the engine releases due funds in the background. */
  ledgerReleaseIntervalMs: 60_000,
  // --- notifications (email receipts, operator alerts by email and SMS) ---
  /** Send attempts per notification before it is marked failed. */
  notificationAttemptsMax: 8,
  /** Notifications sent at once per engine process. */
  notificationConcurrencyMax: 4,
  /** Events read by the notification trigger per pass. */
  notificationTriggerBatchMax: 200,
  /** Operator addresses and phone numbers per account and mode. */
  notificationRecipientsMax: 10,
  notificationSenderNameLengthMax: 100,
  /** Longest error text kept in the notifications log. */
  notificationErrorLengthMax: 500,
  /** Failed-payment spike defaults: this many payment_failed events within the window. */
  notificationFailedPaymentsThresholdDefault: 20,
  notificationFailedPaymentsWindowSecondsDefault: 15 * 60,
  notificationFailedPaymentsWindowSecondsMax: 86_400,
  /** Bounds on a per-account spike threshold. */
  notificationFailedPaymentsThresholdMax: 1_000_000,
  /** JSON request bodies: deepest nesting accepted (recursive walks such as the idempotency hash stay bounded). */
  jsonDepthMax: 32,
  /** Requests in flight per process before new ones are shed with 503 (PAYRAIL_MAX_INFLIGHT's default). */
  inflightDefault: 512,
  /** SQLite: prepared statements kept per process (the engine issues a few hundred distinct ones). */
  sqliteStatementCacheMax: 2000,
  /** SQL texts of src/db/insert.ts's row helpers kept per process (the rest are built each time). */
  sqlTextCacheMax: 2000,
  /** PostgreSQL: distinct SQL texts given a prepared-statement name per process (the rest run unnamed). */
  pgPreparedStatementsMax: 2000,
  // --- payouts (bank accounts, payouts, pain.001 export) ---
  /** Bank accounts (external accounts, deleted ones not counted) per account and mode. */
  payoutBankAccountsMax: 20,
  /** Account holder and debtor names (ISO 20022 Max70Text). */
  payoutNameLengthMax: 70,
  /** Stripe's payout statement_descriptor limit. */
  payoutStatementDescriptorMax: 22,
  /** Payouts arrive this long after the UTC day they were made (Stripe: ~2 business days). */
  payoutArrivalDelaySeconds: 2 * 86_400,
  /** pain.001: payouts carried by one file; the rest wait for the next export. */
  payoutExportBatchMax: 5000,
  /** pain.001 text limits: identifiers (Max35Text), unstructured remittance (Max140Text). */
  pain001IdLengthMax: 35,
  pain001RemittanceLengthMax: 140,
  // --- connected accounts and splits (Connect) ---
  /** Connected accounts one platform may create. */
  connectedAccountsPerPlatformMax: 10_000,
  /** A connected account's business_profile[name]. */
  connectedBusinessNameLengthMax: 256,
  // --- FX rates and accounting exports (H5) ---
  /** FX rates: digits before and after the decimal point ("1234567.123456789012"). */
  fxRateIntegerDigitsMax: 7,
  fxRateDecimalsMax: 12,
  /** An inverse rate (1/rate of the stored opposite pair) keeps this many significant digits. */
  fxInverseSignificantDigits: 12,
  /** `payrail fx load`: lines and bytes of one file (loaded in one transaction). */
  fxLoadLinesMax: 100_000,
  fxLoadFileBytesMax: 10 * 1024 * 1024,
  /** Ledger entries in one journal export; a larger range is refused. */
  exportEntriesMax: 100_000,
  /** Xero imports at most 300 lines per manual-journal file. */
  exportXeroLinesMax: 300,
  /** Chart-of-accounts mappings per account and mode. */
  accountMappingsMax: 500,
  quickbooksAccountNameLengthMax: 100,
  xeroAccountCodeLengthMax: 10,
  xeroTaxRateLengthMax: 100,
  // --- reconciliation (settlement reports, bank statements) ---
  /** Largest uploaded report or statement file, in bytes. */
  reconciliationFileBytesMax: 10 * 1024 * 1024,
  /** Lines (CSV rows, statement entries) accepted in one file. */
  reconciliationLinesMax: 50_000,
  /** Ledger transactions looked at for the "missed by the report" side of one import. */
  reconciliationLedgerScanMax: 50_000,
  /** Longest note an operator gives when resolving an exception. */
  reconciliationNoteLengthMax: 1000,
  /** Bank credits and payouts match a settlement batch booked within this many days. */
  reconciliationDateToleranceDays: 3,
  /** Rows per INSERT and ids per IN (...) list. */
  reconciliationBatchRows: 200,
  // --- ledger: settlement batches ---
  /** Settlement passes (each up to ledgerReleaseBatchMax transactions) per background tick. */
  ledgerSettlePassesMax: 20,
  /** Bounds of PAYRAIL_SETTLEMENT_INTERVAL_MS (default ledgerReleaseIntervalMs). */
  ledgerSettlementIntervalMsMin: 100,
  ledgerSettlementIntervalMsMax: 24 * 3600 * 1000,
  /** Ledger transactions read per page when `ledger verify` checks each one's cause. */
  ledgerVerifyPageRows: 5000,
  // --- ledger: balance slots ---
  /** Slot rows per ledger account balance (src/ledger/accounts.ts): concurrent postings spread over them. */
  ledgerBalanceSlots: 16,
  // --- finance fixes (payout updates) ---
  /** Tries of one payout metadata update that lost the version check to a concurrent change. */
  payoutUpdateAttemptsMax: 20,
  // --- disputes (docs/disputes.md) ---
  /** Longest single evidence field (Stripe's limit for text evidence). */
  disputeEvidenceFieldLengthMax: 20_000,
  /** All evidence fields of one dispute together (Stripe's combined limit). */
  disputeEvidenceTotalLengthMax: 150_000,
  /** Evidence is due this long after a sandbox or psp-sim dispute opens (processors give their own). */
  disputeEvidenceDueSeconds: 7 * 24 * 3600,
  /** Ids a dispute notice may name for the disputed payment. */
  disputeNoticeReferencesMax: 5,
  /**
   * How long a claim on a dispute's evidence submission holds (src/disputes/service.ts):
   * longer than the longest processor call (connectorTimeoutMsMax), so a live holder
   * never loses it; a claim whose process died stops blocking after this.
   */
  disputeSubmissionLeaseMs: 120_000,
} as const;
