import fs from 'node:fs';
import path from 'node:path';
import { isValidBIC, isValidIBAN } from 'ibantools';
import { z } from 'zod';
import { LIMITS } from './lib/limits.ts';

// Configuration comes from the environment, is parsed once at start and a bad
// value stops the start with a message that names it. No default secrets.
const SECRET_KEY_PATTERN = /^sk_test_[A-Za-z0-9]{24,}$/;

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  PAYRAIL_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  PAYRAIL_SECRET_KEY: z
    .string()
    .regex(SECRET_KEY_PATTERN, 'must be sk_test_ followed by at least 24 letters or digits')
    .optional(),
  PAYRAIL_MASTER_KEY: z.string().min(1).optional(),
  PAYRAIL_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  PAYRAIL_SANDBOX_LATENCY_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(LIMITS.sandboxLatencyMsMax)
    .default(0),
  PAYRAIL_PUBLIC_URL: z.string().url().optional(),
  // Webhook delivery: first retry delay, how long to keep retrying, when a
  // continuously failing endpoint is disabled, per-request timeout.
  PAYRAIL_WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
  PAYRAIL_WEBHOOK_RETRY_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(30 * 86_400_000)
    .default(3 * 86_400_000),
  PAYRAIL_WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(30 * 86_400_000)
    .default(3 * 86_400_000),
  PAYRAIL_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  PAYRAIL_WEBHOOK_ALLOW_PRIVATE_URLS: z.enum(['true', 'false']).default('false'),
  PAYRAIL_PROBE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(LIMITS.probeIntervalMs),
  PAYRAIL_BREAKER_HALF_OPEN_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(3_600_000)
    .default(LIMITS.breakerHalfOpenAfterMs),
  // Load shedding: requests in flight per process before new ones get 503 overloaded.
  PAYRAIL_MAX_INFLIGHT: z.coerce.number().int().min(1).max(100_000).default(LIMITS.inflightDefault),
  // Ledger: seconds until a balance transaction's funds move from pending to available.
  PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(LIMITS.ledgerAvailableDelaySecondsMax)
    .default(LIMITS.ledgerAvailableDelaySecondsDefault),
  // Ledger: the daily cutoff (HH:MM, UTC) at which due funds settle, or `none`
  // for funds available exactly after PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS.
  PAYRAIL_SETTLEMENT_CUTOFF: z
    .string()
    .regex(/^(none|([01][0-9]|2[0-3]):[0-5][0-9])$/, 'HH:MM (UTC, 00:00 to 23:59) or none')
    .default('00:00'),
  // Ledger: how often the engine settles due funds in batches in the background.
  PAYRAIL_SETTLEMENT_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(LIMITS.ledgerSettlementIntervalMsMin)
    .max(LIMITS.ledgerSettlementIntervalMsMax)
    .default(LIMITS.ledgerReleaseIntervalMs),
  // Notifications: SMTP for email, a Twilio-compatible HTTP API for SMS. Either
  // channel left unset means its notifications are logged as skipped.
  PAYRAIL_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]+/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  PAYRAIL_SMTP_FROM: z.string().email('must be an email address').optional(),
  PAYRAIL_SMS_URL: z.string().url().optional(),
  PAYRAIL_SMS_ACCOUNT_SID: z.string().min(1).optional(),
  PAYRAIL_SMS_AUTH_TOKEN: z.string().min(1).optional(),
  PAYRAIL_SMS_FROM: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number')
    .optional(),
  PAYRAIL_NOTIFICATION_RETRY_BASE_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(3_600_000)
    .default(30_000),
  PAYRAIL_NOTIFICATION_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  // Payouts: the operator's own bank account that pain.001 files debit (docs/payouts.md).
  PAYRAIL_DEBTOR_NAME: z.string().min(1).max(LIMITS.payoutNameLengthMax).optional(),
  PAYRAIL_DEBTOR_IBAN: z
    .string()
    .transform((v) => v.replace(/\s+/g, '').toUpperCase())
    .refine((v) => isValidIBAN(v), 'must be a valid IBAN')
    .optional(),
  PAYRAIL_DEBTOR_BIC: z
    .string()
    .transform((v) => v.trim().toUpperCase())
    .refine((v) => isValidBIC(v), 'must be a valid BIC')
    .optional(),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  bootstrapSecretKey: string | undefined;
  masterKey: string | undefined;
  logLevel: string;
  sandboxLatencyMs: number;
  publicUrl: string | undefined;
  webhookRetryBaseMs: number;
  webhookRetryWindowMs: number;
  webhookDisableAfterMs: number;
  webhookTimeoutMs: number;
  /** Allow live-mode endpoints on private, loopback and link-local addresses. */
  webhookAllowPrivateUrls: boolean;
  /** How often each connector gets an active health probe. */
  probeIntervalMs: number;
  /** How long an open circuit breaker waits before a trial call. */
  breakerHalfOpenAfterMs: number;
  /** Requests in flight per process before new ones are shed with 503 overloaded. */
  maxInflight: number;
  /** Ledger: how long after a balance transaction its funds become available. */
  fundsAvailableAfterSeconds: number;
  /** Seconds after 00:00 UTC of the daily settlement cutoff; null: none. */
  settlementCutoffSeconds: number | null;
  /** Ledger: interval of the background settlement job (src/ledger/settle.ts). */
  settlementIntervalMs: number;
  /** Notifications (docs/notifications.md): SMTP and SMS provider settings. */
  smtpUrl: string | undefined;
  smtpFrom: string | undefined;
  smsUrl: string | undefined;
  smsAccountSid: string | undefined;
  smsAuthToken: string | undefined;
  smsFrom: string | undefined;
  notificationRetryBaseMs: number;
  notificationTimeoutMs: number;
  /** Payouts: the debtor (operator) account of pain.001 files; each unset until configured. */
  debtorName: string | undefined;
  debtorIban: string | undefined;
  debtorBic: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = EnvSchema.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.PAYRAIL_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    bootstrapSecretKey: e.PAYRAIL_SECRET_KEY,
    masterKey: e.PAYRAIL_MASTER_KEY,
    logLevel: e.PAYRAIL_LOG_LEVEL,
    sandboxLatencyMs: e.PAYRAIL_SANDBOX_LATENCY_MS,
    publicUrl: e.PAYRAIL_PUBLIC_URL,
    webhookRetryBaseMs: e.PAYRAIL_WEBHOOK_RETRY_BASE_MS,
    webhookRetryWindowMs: e.PAYRAIL_WEBHOOK_RETRY_WINDOW_MS,
    webhookDisableAfterMs: e.PAYRAIL_WEBHOOK_DISABLE_AFTER_MS,
    webhookTimeoutMs: e.PAYRAIL_WEBHOOK_TIMEOUT_MS,
    webhookAllowPrivateUrls: e.PAYRAIL_WEBHOOK_ALLOW_PRIVATE_URLS === 'true',
    probeIntervalMs: e.PAYRAIL_PROBE_INTERVAL_MS,
    breakerHalfOpenAfterMs: e.PAYRAIL_BREAKER_HALF_OPEN_MS,
    maxInflight: e.PAYRAIL_MAX_INFLIGHT,
    fundsAvailableAfterSeconds: e.PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS,
    settlementCutoffSeconds: cutoffSeconds(e.PAYRAIL_SETTLEMENT_CUTOFF),
    settlementIntervalMs: e.PAYRAIL_SETTLEMENT_INTERVAL_MS,
    smtpUrl: e.PAYRAIL_SMTP_URL,
    smtpFrom: e.PAYRAIL_SMTP_FROM,
    smsUrl: e.PAYRAIL_SMS_URL,
    smsAccountSid: e.PAYRAIL_SMS_ACCOUNT_SID,
    smsAuthToken: e.PAYRAIL_SMS_AUTH_TOKEN,
    smsFrom: e.PAYRAIL_SMS_FROM,
    notificationRetryBaseMs: e.PAYRAIL_NOTIFICATION_RETRY_BASE_MS,
    notificationTimeoutMs: e.PAYRAIL_NOTIFICATION_TIMEOUT_MS,
    debtorName: e.PAYRAIL_DEBTOR_NAME,
    debtorIban: e.PAYRAIL_DEBTOR_IBAN,
    debtorBic: e.PAYRAIL_DEBTOR_BIC,
  };
}

export function ensureDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}

/** "HH:MM" → seconds after midnight UTC; "none" → null. */
function cutoffSeconds(value: string): number | null {
  if (value === 'none') return null;
  const [hours, minutes] = value.split(':').map(Number);
  return (hours ?? 0) * 3600 + (minutes ?? 0) * 60;
}
