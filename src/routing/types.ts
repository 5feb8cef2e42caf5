import { z } from 'zod';
import type { FailoverRule } from '../connectors/decisions.ts';
import type { ConnectorOutcome, ConnectorType, ProbeResult } from '../connectors/types.ts';
import { LIMITS } from '../lib/limits.ts';

// The contracts of routing/: the routing configuration (a tagged union of
// strategies, validated by zod and served at /v1/routing), the facts a
// routing decision looks at, and the health monitor that the payments path,
// the probes, the incidents module and /metrics share.

// ---------------------------------------------------------------- config

const connectorRef = z
  .string()
  .regex(/^(conn_[a-z0-9]{24}|sandbox)$/, 'Must be a connector id (conn_...)');
const lowerCurrency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'Must be a three-letter ISO 4217 code')
  .transform((c) => c.toLowerCase());
const upperCountry = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'Must be a two-letter ISO 3166-1 code')
  .transform((c) => c.toUpperCase());
const amount = z.coerce.number().int().min(0).max(LIMITS.amountMinorMax);
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(LIMITS.routingRulesMax);

export const RuleConditions = z.strictObject({
  currency: list(lowerCurrency).optional(),
  amount_gte: amount.optional(),
  amount_lte: amount.optional(),
  payment_method_type: list(z.enum(['card', 'sepa_debit', 'us_bank_account'])).optional(),
  card_brand: list(z.string().min(1).max(32)).optional(),
  card_country: list(upperCountry).optional(),
  customer_country: list(upperCountry).optional(),
  /** Every listed key must have exactly this value in the intent's metadata. */
  metadata: z.record(z.string().min(1).max(40), z.string().max(500)).optional(),
});
export type RuleConditions = z.output<typeof RuleConditions>;

export const RoutingRule = z.strictObject({
  name: z.string().min(1).max(100),
  conditions: RuleConditions,
  /** The connectors a matching payment may use, most preferred first. */
  connectors: list(connectorRef),
});

export const Strategy = z.discriminatedUnion('type', [
  /** An ordered preference list; unlisted connectors come after, in creation order. */
  z.strictObject({ type: z.literal('priority'), connectors: list(connectorRef) }),
  /** A weighted random split of volume. Unlisted connectors have weight 0 (last). */
  z.strictObject({
    type: z.literal('weighted'),
    weights: list(
      z.strictObject({ connector: connectorRef, weight: z.coerce.number().int().min(0).max(1000) }),
    ),
  }),
  /** The first rule whose conditions all hold narrows the candidates to its connectors, in its order. */
  z.strictObject({ type: z.literal('rules'), rules: list(RoutingRule) }),
  /** Highest approval rate first (sliding window per connector and payment method type). */
  z.strictObject({
    type: z.literal('success_rate'),
    /** Rates within this many percentage points count as equal, so later strategies break the tie. */
    bucket_percent: z.coerce.number().int().min(1).max(50).default(5),
    min_samples: z.coerce
      .number()
      .int()
      .min(1)
      .max(LIMITS.successRateWindow)
      .default(LIMITS.successRateMinSamples),
  }),
  /** Lowest fee for this amount first, from each connector's fee schedule. */
  z.strictObject({ type: z.literal('lowest_cost') }),
]);
export type Strategy = z.output<typeof Strategy>;

export const FailoverRuleSchema = z.strictObject({
  connector: z.union([z.literal('*'), z.enum(['sandbox', 'psp_sim', 'stripe', 'adyen'])]),
  outcome: z.enum(['declined', 'failed_retryable', 'unknown']),
  code: z.string().min(1).max(100),
  action: z.enum(['failover', 'stop']),
});

export const SecondaryMethod = z.strictObject({
  type: z.literal('bank_transfer'),
  bank_transfer: z.strictObject({
    account_holder_name: z.string().min(1).max(140),
    /** Checked with ibantools by the routing service. */
    iban: z
      .string()
      .min(5)
      .max(LIMITS.ibanLengthMax + 8),
    bic: z
      .string()
      .regex(/^[A-Za-z0-9]{8}([A-Za-z0-9]{3})?$/, 'Must be an 8 or 11 character BIC')
      .optional(),
    /** Prefix of the unique reference the customer must quote. */
    reference_prefix: z
      .string()
      .regex(/^[A-Z0-9]{1,8}$/, 'Must be 1 to 8 of A-Z, 0-9')
      .default('PR'),
  }),
});
export type SecondaryMethod = z.output<typeof SecondaryMethod>;

export const RoutingConfig = z.strictObject({
  /** Applied in order: `rules` narrow the candidates; the others order them, earlier strategies first. */
  strategies: z.array(Strategy).max(LIMITS.routingStrategiesMax).default([]),
  /** Connectors tried for one confirmation, counting the first. */
  max_attempts: z.coerce
    .number()
    .int()
    .min(1)
    .max(LIMITS.failoverAttemptsMax)
    .default(LIMITS.failoverAttemptsDefault),
  /** Put in front of the default failover table (connectors/decisions.ts). */
  failover_rules: z.array(FailoverRuleSchema).max(LIMITS.routingRulesMax).default([]),
  /** Offered when no card processor can take a payment; null: the payment fails instead. */
  secondary_method: SecondaryMethod.nullable().default(null),
});
export type RoutingConfig = z.output<typeof RoutingConfig>;

export const DEFAULT_ROUTING_CONFIG: RoutingConfig = RoutingConfig.parse({});

// Compile-time check that the schema and decisions.ts agree.
const _failoverRuleShape: FailoverRule = {} as z.output<typeof FailoverRuleSchema>;
void _failoverRuleShape;

// ---------------------------------------------------------------- decisions

/** What routing looks at for one payment. */
export interface PaymentFacts {
  amount: number;
  currency: string;
  /** card, sepa_debit, us_bank_account (wallets are cards). */
  paymentMethodType: string;
  cardBrand: string | null;
  cardCountry: string | null;
  customerCountry: string | null;
  metadata: Record<string, string>;
}

/** A configured connector account as routing sees it. */
export interface RoutableConnector {
  id: string;
  type: ConnectorType;
  name: string;
  /** Lowercase ISO 4217 codes, or null for all. */
  currencies: string[] | null;
  paymentMethodTypes: string[];
  feeRatePpm: number;
  feeFixed: number;
  /** Creation order, the last tie-break. */
  created: number;
}

export interface RankedCandidate {
  connector: RoutableConnector;
  /** Human-readable, recorded on the attempt: why this connector, in this position. */
  reason: string;
}

export interface RoutingDecision {
  candidates: RankedCandidate[];
  /** Connectors left out, each with why (currency, maintenance, breaker open, rule). */
  excluded: { connector: RoutableConnector; reason: string }[];
}

// ---------------------------------------------------------------- health

export type BreakerState = 'closed' | 'open' | 'half_open';
/** healthy; degraded (approval rate or latency poor, breaker closed); down (breaker open). */
export type HealthStatus = 'healthy' | 'degraded' | 'down';

export interface ConnectorHealth {
  connector: string;
  status: HealthStatus;
  breaker: BreakerState;
  /** When the breaker last opened (ms), while it is open or half-open. */
  opened_at_ms: number | null;
  /** Over the passive window: calls, processor-side failures (failed_retryable, unknown). */
  window_calls: number;
  error_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  /** Approval rate per payment method type: succeeded / (succeeded + declined + failed). */
  success_rate: Record<string, { rate: number | null; samples: number }>;
  last_probe: { ok: boolean; latency_ms: number; detail: string; at_ms: number } | null;
}

export interface HealthChange {
  connector: string;
  from: HealthStatus;
  to: HealthStatus;
  /** In words: "7 of the last 10 calls failed (processor_unreachable)". */
  reason: string;
  at_ms: number;
}

/**
 * One per engine process, in memory: passive health from real calls, active
 * health from probes, and a circuit breaker per connector (cockatiel).
 */
export interface HealthMonitor {
  /**
   * Runs one connector call through the connector's breaker. If the breaker
   * is open, returns failed_retryable `circuit_open` without calling. The
   * outcome and latency feed the passive window; failed_retryable and unknown
   * count as failures, declines do not (the processor worked).
   */
  call(
    connector: string,
    paymentMethodType: string | null,
    run: () => Promise<ConnectorOutcome>,
  ): Promise<ConnectorOutcome>;
  /** Records an active probe; a failed probe counts as a failure for the breaker. */
  recordProbe(connector: string, result: ProbeResult): void;
  breaker(connector: string): BreakerState;
  health(connector: string): ConnectorHealth;
  /** Connectors seen so far (for /metrics). */
  known(): string[];
  /** Called after each status change; listeners must not throw (errors are logged). */
  onChange(listener: (change: HealthChange) => void): () => void;
  close(): void;
}
