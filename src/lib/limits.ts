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
  /** Refunds under one charge. */
  refundsPerChargeMax: 100,
} as const;
