import { assert, unreachable } from '../lib/assert.ts';
import { feeFor } from './fees.ts';
import type {
  BreakerState,
  PaymentFacts,
  RankedCandidate,
  RoutableConnector,
  RoutingConfig,
  RoutingDecision,
  RuleConditions,
  Strategy,
} from './types.ts';

// The routing decision, as a pure function: which connectors may take this
// payment, in which order, and why. It reads health and maintenance through
// RankView and randomness through `random`, so the same inputs and the same
// random sequence always give the same decision (tests replay it exactly).
//
// Order of work:
//   1. eligibility: currency, payment method type, maintenance, breaker open;
//   2. every `rules` strategy narrows the candidates to its first matching rule;
//   3. every strategy contributes one sort key at its position in the config
//      (earlier strategy = more significant key); ties fall to creation order;
//   4. connectors whose breaker is half-open go after all closed ones.

export interface RankView {
  breaker(connector: string): BreakerState;
  /** The maintenance window note if the connector is in one now, else null. */
  maintenance(connector: string): string | null;
  successRate(
    connector: string,
    paymentMethodType: string,
  ): { rate: number | null; samples: number };
}

/** One connector still in the running: its sort keys and the words explaining them. */
interface Contender {
  connector: RoutableConnector;
  halfOpen: boolean;
  /** One key per strategy, in config order; lower ranks first. */
  keys: number[];
  notes: string[];
}

type Excluded = RoutingDecision['excluded'][number];
type RulesStrategy = Extract<Strategy, { type: 'rules' }>;
type RoutingRuleT = RulesStrategy['rules'][number];

export function rankCandidates(input: {
  config: RoutingConfig;
  facts: PaymentFacts;
  connectors: RoutableConnector[];
  view: RankView;
  /** Uniform in [0, 1): Math.random in production, seeded in tests. */
  random: () => number;
}): RoutingDecision {
  const { config, facts, view } = input;
  const excluded: Excluded[] = [];
  let contenders: Contender[] = [];
  for (const connector of [...input.connectors].sort(byCreation)) {
    const reasons = ineligibility(connector, facts, view);
    if (reasons.length > 0) excluded.push({ connector, reason: reasons.join('; ') });
    else
      contenders.push({
        connector,
        halfOpen: view.breaker(connector.id) === 'half_open',
        keys: [],
        notes: [],
      });
  }

  // Narrow first, so that ordering strategies (weighted draws especially)
  // only look at connectors that can actually be used.
  const matches = new Map<number, { rule: RoutingRuleT; index: number } | null>();
  config.strategies.forEach((strategy, position) => {
    if (strategy.type !== 'rules') return;
    const match = firstMatchingRule(strategy, facts);
    matches.set(position, match);
    if (match === null) return;
    const allowed = new Set(match.rule.connectors);
    for (const c of contenders)
      if (!allowed.has(c.connector.id))
        excluded.push({ connector: c.connector, reason: `not in rule '${match.rule.name}'` });
    contenders = contenders.filter((c) => allowed.has(c.connector.id));
  });

  for (const [position, strategy] of config.strategies.entries()) {
    switch (strategy.type) {
      case 'rules':
        keyByRule(contenders, strategy, matches.get(position) ?? null);
        break;
      case 'priority':
        keyByPriority(contenders, strategy.connectors);
        break;
      case 'weighted':
        keyByWeight(contenders, strategy.weights, input.random);
        break;
      case 'success_rate':
        keyBySuccessRate(contenders, strategy, facts, view);
        break;
      case 'lowest_cost':
        keyByCost(contenders, facts);
        break;
      default:
        unreachable(strategy, 'routing strategy');
    }
  }

  contenders.sort(byRank);
  const candidates: RankedCandidate[] = contenders.map((c, i) => ({
    connector: c.connector,
    reason: describe(c, i, contenders.length),
  }));
  return { candidates, excluded };
}

function byCreation(a: RoutableConnector, b: RoutableConnector): number {
  if (a.created !== b.created) return a.created - b.created;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function byRank(a: Contender, b: Contender): number {
  if (a.halfOpen !== b.halfOpen) return a.halfOpen ? 1 : -1;
  for (let i = 0; i < a.keys.length; i++) {
    const diff = (a.keys[i] ?? 0) - (b.keys[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return byCreation(a.connector, b.connector);
}

/** Every reason the connector cannot take this payment (empty: eligible). */
function ineligibility(
  connector: RoutableConnector,
  facts: PaymentFacts,
  view: RankView,
): string[] {
  const reasons: string[] = [];
  const currency = facts.currency.toLowerCase();
  if (connector.currencies !== null && !connector.currencies.includes(currency))
    reasons.push(`does not support currency ${currency.toUpperCase()}`);
  if (!connector.paymentMethodTypes.includes(facts.paymentMethodType))
    reasons.push(`does not support payment method type '${facts.paymentMethodType}'`);
  const maintenance = view.maintenance(connector.id);
  if (maintenance !== null) reasons.push(`in a maintenance window: ${maintenance}`);
  if (view.breaker(connector.id) === 'open')
    reasons.push('circuit breaker open after sustained failures; traffic routed away');
  return reasons;
}

// ---------------------------------------------------------------- rules

function firstMatchingRule(
  strategy: RulesStrategy,
  facts: PaymentFacts,
): { rule: RoutingRuleT; index: number } | null {
  const index = strategy.rules.findIndex((rule) => conditionsHold(rule.conditions, facts));
  const rule = strategy.rules[index];
  return rule === undefined ? null : { rule, index };
}

/** All listed conditions must hold; an absent condition always holds. */
export function conditionsHold(conditions: RuleConditions, facts: PaymentFacts): boolean {
  const c = conditions;
  const upper = (v: string | null) => (v === null ? null : v.toUpperCase());
  const inList = (list: string[] | undefined, value: string | null) =>
    list === undefined || (value !== null && list.includes(value));
  if (!inList(c.currency, facts.currency.toLowerCase())) return false;
  if (c.amount_gte !== undefined && facts.amount < c.amount_gte) return false;
  if (c.amount_lte !== undefined && facts.amount > c.amount_lte) return false;
  if (!inList(c.payment_method_type, facts.paymentMethodType)) return false;
  const brands = c.card_brand?.map((b) => b.toLowerCase());
  if (!inList(brands, facts.cardBrand?.toLowerCase() ?? null)) return false;
  if (!inList(c.card_country, upper(facts.cardCountry))) return false;
  if (!inList(c.customer_country, upper(facts.customerCountry))) return false;
  for (const [key, value] of Object.entries(c.metadata ?? {}))
    if (!Object.hasOwn(facts.metadata, key) || facts.metadata[key] !== value) return false;
  return true;
}

function keyByRule(
  contenders: Contender[],
  strategy: RulesStrategy,
  match: { rule: RoutingRuleT; index: number } | null,
): void {
  for (const c of contenders) {
    if (match === null) {
      c.keys.push(0);
      c.notes.push(`no rule matched (of ${strategy.rules.length})`);
      continue;
    }
    const order = match.rule.connectors.indexOf(c.connector.id);
    c.keys.push(order);
    c.notes.push(
      `rule '${match.rule.name}' matched; position ${order + 1}/${match.rule.connectors.length} in it`,
    );
  }
}

// ---------------------------------------------------------------- ordering

function keyByPriority(contenders: Contender[], list: string[]): void {
  for (const c of contenders) {
    const index = list.indexOf(c.connector.id);
    c.keys.push(index === -1 ? list.length : index);
    c.notes.push(
      index === -1
        ? 'not in the priority list (after listed)'
        : `priority ${index + 1}/${list.length}`,
    );
  }
}

/**
 * One weighted random permutation (sampling without replacement): the first
 * place goes to a connector with probability weight / total, the next among
 * the rest the same way. Weight 0 and unlisted connectors come after, tied.
 */
function keyByWeight(
  contenders: Contender[],
  weights: { connector: string; weight: number }[],
  random: () => number,
): void {
  const weightOf = (id: string) => weights.find((w) => w.connector === id)?.weight ?? 0;
  const pool = contenders.filter((c) => weightOf(c.connector.id) > 0);
  const total = pool.reduce((sum, c) => sum + weightOf(c.connector.id), 0);
  const drawn = new Map<Contender, number>();
  while (pool.length > 0) {
    const remaining = pool.reduce((sum, c) => sum + weightOf(c.connector.id), 0);
    const u = random();
    assert(u >= 0 && u < 1, `random() must be in [0, 1), got ${u}`);
    let target = u * remaining;
    let pick = pool.length - 1;
    for (let i = 0; i < pool.length; i++) {
      target -= weightOf((pool[i] as Contender).connector.id);
      if (target < 0) {
        pick = i;
        break;
      }
    }
    const [chosen] = pool.splice(pick, 1);
    if (chosen !== undefined) drawn.set(chosen, drawn.size);
  }
  for (const c of contenders) {
    const place = drawn.get(c);
    const weight = weightOf(c.connector.id);
    c.keys.push(place ?? drawn.size);
    c.notes.push(
      place === undefined
        ? 'weight 0 (after weighted connectors)'
        : `weighted draw ${place + 1}/${drawn.size} (weight ${weight} of ${total})`,
    );
  }
}

/**
 * Approval rate bucketed by bucket_percent points, best first. A connector
 * with fewer than min_samples results is ranked with the best bucket, so a
 * new or recovered connector keeps receiving traffic and earns a real rate.
 */
function keyBySuccessRate(
  contenders: Contender[],
  strategy: Extract<Strategy, { type: 'success_rate' }>,
  facts: PaymentFacts,
  view: RankView,
): void {
  const stats = contenders.map((c) => view.successRate(c.connector.id, facts.paymentMethodType));
  const known = (s: { rate: number | null; samples: number }) =>
    s.rate !== null && s.samples >= strategy.min_samples;
  // Bucket 0 holds rates within bucket_percent of 100%, bucket 1 the next, ...
  const bucket = (rate: number) => Math.floor(((1 - rate) * 100) / strategy.bucket_percent + 1e-9);
  const knownBuckets = stats.filter(known).map((s) => bucket(s.rate as number));
  const best = knownBuckets.length > 0 ? Math.min(...knownBuckets) : 0;
  contenders.forEach((c, i) => {
    const s = stats[i] ?? { rate: null, samples: 0 };
    if (known(s)) {
      c.keys.push(bucket(s.rate as number));
      c.notes.push(`success rate ${formatPercent(s.rate as number)} (n=${s.samples})`);
    } else {
      c.keys.push(best);
      c.notes.push(
        `success rate unknown (n=${s.samples} < ${strategy.min_samples}; ranked with the best)`,
      );
    }
  });
}

function keyByCost(contenders: Contender[], facts: PaymentFacts): void {
  for (const c of contenders) {
    const fee = feeFor(c.connector, facts.amount);
    c.keys.push(fee);
    c.notes.push(`fee ${fee} ${facts.currency.toUpperCase()} minor units`);
  }
}

function formatPercent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

function describe(c: Contender, index: number, count: number): string {
  const parts = [`rank ${index + 1}/${count}`, ...c.notes];
  if (c.notes.length === 0) parts.push('no ordering strategy; creation order');
  parts.push(
    c.halfOpen ? 'breaker half-open (trial call; after healthy connectors)' : 'breaker closed',
  );
  return parts.join('; ');
}
