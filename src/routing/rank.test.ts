import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type RankView, rankCandidates } from './rank.ts';
import {
  type BreakerState,
  type PaymentFacts,
  type RoutableConnector,
  RoutingConfig,
  type RoutingDecision,
} from './types.ts';

const id = (n: number) => `conn_${String(n).padStart(24, '0')}`;
const A = id(1);
const B = id(2);
const C = id(3);

function connector(n: number, extra: Partial<RoutableConnector> = {}): RoutableConnector {
  return {
    id: id(n),
    type: 'sandbox',
    name: `c${n}`,
    currencies: null,
    paymentMethodTypes: ['card'],
    feeRatePpm: 0,
    feeFixed: 0,
    created: n,
    ...extra,
  };
}

const FACTS: PaymentFacts = {
  amount: 1000,
  currency: 'eur',
  paymentMethodType: 'card',
  cardBrand: 'visa',
  cardCountry: 'DE',
  customerCountry: 'FR',
  metadata: {},
};

function view(
  state: {
    breaker?: Record<string, BreakerState>;
    maintenance?: Record<string, string>;
    rates?: Record<string, { rate: number | null; samples: number }>;
  } = {},
): RankView {
  return {
    breaker: (c) => state.breaker?.[c] ?? 'closed',
    maintenance: (c) => state.maintenance?.[c] ?? null,
    successRate: (c) => state.rates?.[c] ?? { rate: null, samples: 0 },
  };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rank(input: {
  strategies?: unknown[];
  connectors: RoutableConnector[];
  facts?: Partial<PaymentFacts>;
  view?: RankView;
  random?: () => number;
}): RoutingDecision {
  return rankCandidates({
    config: RoutingConfig.parse({ strategies: input.strategies ?? [] }),
    facts: { ...FACTS, ...input.facts },
    connectors: input.connectors,
    view: input.view ?? view(),
    random: input.random ?? seeded(1),
  });
}

const order = (d: RoutingDecision) => d.candidates.map((c) => c.connector.id);
const excludedReason = (d: RoutingDecision, connectorId: string) =>
  d.excluded.find((e) => e.connector.id === connectorId)?.reason;

describe('rankCandidates: eligibility', () => {
  test('excludes unsupported currency and method type, maintenance and open breakers, saying why', () => {
    const d = rank({
      connectors: [
        connector(1, { currencies: ['usd'] }),
        connector(2, { paymentMethodTypes: ['sepa_debit'] }),
        connector(3),
        connector(4),
        connector(5, { currencies: ['eur', 'usd'] }),
        connector(6, { currencies: null }),
      ],
      view: view({
        maintenance: { [C]: 'PSP upgrade until 02:00 UTC' },
        breaker: { [id(4)]: 'open' },
      }),
    });
    assert.deepEqual(order(d), [id(5), id(6)]);
    assert.equal(excludedReason(d, A), 'does not support currency EUR');
    assert.equal(excludedReason(d, B), "does not support payment method type 'card'");
    assert.equal(excludedReason(d, C), 'in a maintenance window: PSP upgrade until 02:00 UTC');
    assert.match(excludedReason(d, id(4)) ?? '', /circuit breaker open/);
  });

  test('lists every reason when several apply; currency compares case-insensitively', () => {
    const d = rank({
      connectors: [connector(1, { currencies: ['usd'], paymentMethodTypes: ['sepa_debit'] })],
      facts: { currency: 'USD' },
      view: view({ maintenance: { [A]: 'window' } }),
    });
    assert.equal(d.candidates.length, 0);
    assert.equal(
      excludedReason(d, A),
      "does not support payment method type 'card'; in a maintenance window: window",
    );
  });

  test('no eligible connector is a valid, empty decision', () => {
    const d = rank({ connectors: [connector(1, { currencies: ['jpy'] })] });
    assert.deepEqual(d.candidates, []);
    assert.equal(d.excluded.length, 1);
    assert.deepEqual(rank({ connectors: [] }), { candidates: [], excluded: [] });
  });

  test('half-open connectors stay, after every closed one, whatever the strategies say', () => {
    const d = rank({
      strategies: [{ type: 'priority', connectors: [A, B, C] }],
      connectors: [connector(1), connector(2), connector(3)],
      view: view({ breaker: { [A]: 'half_open' } }),
    });
    assert.deepEqual(order(d), [B, C, A]);
    assert.match(d.candidates[2]?.reason ?? '', /breaker half-open/);
    assert.match(d.candidates[0]?.reason ?? '', /breaker closed/);
  });

  test('without strategies: creation order, then id', () => {
    const d = rank({
      connectors: [
        connector(3, { created: 5 }),
        connector(2, { created: 5 }),
        connector(1, { created: 9 }),
      ],
    });
    assert.deepEqual(order(d), [B, C, A]);
    assert.match(d.candidates[0]?.reason ?? '', /creation order/);
  });
});

describe('rankCandidates: strategies', () => {
  test('priority: listed order first, unlisted after in creation order', () => {
    const d = rank({
      strategies: [{ type: 'priority', connectors: [C, A] }],
      connectors: [connector(1), connector(2), connector(3), connector(4)],
    });
    assert.deepEqual(order(d), [C, A, B, id(4)]);
    assert.equal(d.candidates[0]?.reason, 'rank 1/4; priority 1/2; breaker closed');
    assert.match(d.candidates[2]?.reason ?? '', /not in the priority list/);
  });

  test('lowest_cost: cheapest fee for this amount first', () => {
    const d = rank({
      strategies: [{ type: 'lowest_cost' }],
      facts: { amount: 10_000 },
      connectors: [
        connector(1, { feeRatePpm: 29_000, feeFixed: 30 }), // 320
        connector(2, { feeRatePpm: 10_000, feeFixed: 100 }), // 200
        connector(3, { feeRatePpm: 0, feeFixed: 250 }), // 250
      ],
    });
    assert.deepEqual(order(d), [B, C, A]);
    assert.match(d.candidates[0]?.reason ?? '', /fee 200 EUR minor units/);
  });

  test('success_rate: higher bucket first; within a bucket the next strategy decides', () => {
    const rates = {
      [A]: { rate: 0.8, samples: 200 },
      [B]: { rate: 0.97, samples: 120 },
      [C]: { rate: 0.99, samples: 50 },
    };
    const d = rank({
      strategies: [{ type: 'success_rate', bucket_percent: 5 }, { type: 'lowest_cost' }],
      connectors: [connector(1), connector(2, { feeFixed: 10 }), connector(3, { feeFixed: 20 })],
      view: view({ rates }),
    });
    // B and C share the top bucket (within 5 points of 100%); B is cheaper.
    assert.deepEqual(order(d), [B, C, A]);
    assert.equal(
      d.candidates[0]?.reason,
      'rank 1/3; success rate 97% (n=120); fee 10 EUR minor units; breaker closed',
    );
    // A finer bucket separates them.
    const fine = rank({
      strategies: [{ type: 'success_rate', bucket_percent: 1 }, { type: 'lowest_cost' }],
      connectors: [connector(1), connector(2, { feeFixed: 10 }), connector(3, { feeFixed: 20 })],
      view: view({ rates }),
    });
    assert.deepEqual(order(fine), [C, B, A]);
  });

  test('success_rate: too few samples ranks with the best known bucket (new connectors get traffic)', () => {
    const d = rank({
      strategies: [
        { type: 'success_rate', min_samples: 20 },
        { type: 'priority', connectors: [C, B, A] },
      ],
      connectors: [connector(1), connector(2), connector(3)],
      view: view({
        rates: {
          [A]: { rate: 0.99, samples: 500 },
          [B]: { rate: 0.5, samples: 500 },
          [C]: { rate: 0.1, samples: 19 },
        },
      }),
    });
    assert.deepEqual(order(d), [C, A, B]);
    assert.match(d.candidates[0]?.reason ?? '', /success rate unknown \(n=19 < 20/);
  });

  test('success_rate asks about the payment method type of this payment', () => {
    const asked: string[] = [];
    rank({
      strategies: [{ type: 'success_rate' }],
      facts: { paymentMethodType: 'sepa_debit' },
      connectors: [connector(1, { paymentMethodTypes: ['sepa_debit'] })],
      view: {
        ...view(),
        successRate: (c, m) => {
          asked.push(`${c}:${m}`);
          return { rate: 1, samples: 100 };
        },
      },
    });
    assert.deepEqual(asked, [`${A}:sepa_debit`]);
  });

  test('weighted: 70/30 puts the first connector first ~70% of the time', () => {
    const random = seeded(42);
    const connectors = [connector(1), connector(2), connector(3)];
    const strategies = [
      {
        type: 'weighted',
        weights: [
          { connector: A, weight: 70 },
          { connector: B, weight: 30 },
          { connector: C, weight: 0 },
        ],
      },
    ];
    const config = RoutingConfig.parse({ strategies });
    let aFirst = 0;
    const draws = 10_000;
    for (let i = 0; i < draws; i++) {
      const d = rankCandidates({ config, facts: FACTS, connectors, view: view(), random });
      if (d.candidates[0]?.connector.id === A) aFirst++;
      // Weight 0 always last.
      assert.equal(d.candidates[2]?.connector.id, C);
    }
    const share = aFirst / draws;
    assert.ok(Math.abs(share - 0.7) < 0.03, `A first in ${share} of draws`);
  });

  test('weighted: the split holds for three connectors and for the second place', () => {
    const random = seeded(7);
    const connectors = [connector(1), connector(2), connector(3), connector(4)];
    const config = RoutingConfig.parse({
      strategies: [
        {
          type: 'weighted',
          weights: [
            { connector: A, weight: 50 },
            { connector: B, weight: 30 },
            { connector: C, weight: 20 },
          ],
        },
      ],
    });
    const first = new Map<string, number>();
    let bSecondAfterA = 0;
    let aFirst = 0;
    const draws = 10_000;
    for (let i = 0; i < draws; i++) {
      const ids = order(rankCandidates({ config, facts: FACTS, connectors, view: view(), random }));
      first.set(ids[0] ?? '', (first.get(ids[0] ?? '') ?? 0) + 1);
      assert.equal(ids[3], id(4), 'unlisted connector last');
      if (ids[0] === A) {
        aFirst++;
        if (ids[1] === B) bSecondAfterA++;
      }
    }
    for (const [c, w] of [
      [A, 0.5],
      [B, 0.3],
      [C, 0.2],
    ] as const)
      assert.ok(Math.abs((first.get(c) ?? 0) / draws - w) < 0.03, `${c} first share`);
    // Without replacement: given A first, B is second with 30 / (30 + 20).
    assert.ok(
      Math.abs(bSecondAfterA / aFirst - 0.6) < 0.04,
      `B second after A: ${bSecondAfterA / aFirst}`,
    );
  });

  test('weighted reason names the draw and the weights', () => {
    const d = rank({
      strategies: [
        {
          type: 'weighted',
          weights: [
            { connector: A, weight: 70 },
            { connector: B, weight: 30 },
          ],
        },
      ],
      connectors: [connector(1), connector(2)],
      random: () => 0.1,
    });
    assert.deepEqual(order(d), [A, B]);
    assert.equal(
      d.candidates[0]?.reason,
      'rank 1/2; weighted draw 1/2 (weight 70 of 100); breaker closed',
    );
  });
});

describe('rankCandidates: rules', () => {
  const rules = (list: unknown[]) => ({ type: 'rules', rules: list });

  test('the first matching rule narrows to its connectors, in its order', () => {
    const d = rank({
      strategies: [
        rules([
          { name: 'us-only', conditions: { currency: ['usd'] }, connectors: [A] },
          {
            name: 'eu-cards',
            conditions: { currency: ['eur'], card_country: ['de', 'FR'] },
            connectors: [C, A],
          },
          { name: 'eu-all', conditions: { currency: ['eur'] }, connectors: [B] },
        ]),
      ],
      connectors: [connector(1), connector(2), connector(3)],
    });
    assert.deepEqual(order(d), [C, A]);
    assert.equal(excludedReason(d, B), "not in rule 'eu-cards'");
    assert.equal(
      d.candidates[0]?.reason,
      "rank 1/2; rule 'eu-cards' matched; position 1/2 in it; breaker closed",
    );
  });

  test('no rule matched: nothing is narrowed, and the reason says so', () => {
    const d = rank({
      strategies: [rules([{ name: 'gbp', conditions: { currency: ['gbp'] }, connectors: [A] }])],
      connectors: [connector(1), connector(2)],
    });
    assert.deepEqual(order(d), [A, B]);
    assert.equal(d.excluded.length, 0);
    assert.match(d.candidates[1]?.reason ?? '', /no rule matched/);
  });

  test('a rule narrows only to eligible connectors; ineligible ones keep their own reason', () => {
    const d = rank({
      strategies: [
        rules([{ name: 'all-eur', conditions: { currency: ['eur'] }, connectors: [A, B] }]),
      ],
      connectors: [connector(1), connector(2), connector(3)],
      view: view({ breaker: { [A]: 'open' } }),
    });
    assert.deepEqual(order(d), [B]);
    assert.match(excludedReason(d, A) ?? '', /breaker open/);
    assert.equal(excludedReason(d, C), "not in rule 'all-eur'");
  });

  const cases: {
    name: string;
    conditions: Record<string, unknown>;
    facts: Partial<PaymentFacts>;
    match: boolean;
  }[] = [
    {
      name: 'amount_gte inclusive',
      conditions: { amount_gte: 1000 },
      facts: { amount: 1000 },
      match: true,
    },
    {
      name: 'amount_gte below',
      conditions: { amount_gte: 1001 },
      facts: { amount: 1000 },
      match: false,
    },
    {
      name: 'amount_lte inclusive',
      conditions: { amount_lte: 1000 },
      facts: { amount: 1000 },
      match: true,
    },
    {
      name: 'amount_lte above',
      conditions: { amount_lte: 999 },
      facts: { amount: 1000 },
      match: false,
    },
    {
      name: 'amount range',
      conditions: { amount_gte: 500, amount_lte: 2000 },
      facts: {},
      match: true,
    },
    { name: 'currency list', conditions: { currency: ['USD', 'EUR'] }, facts: {}, match: true },
    {
      name: 'method type',
      conditions: { payment_method_type: ['sepa_debit'] },
      facts: {},
      match: false,
    },
    {
      name: 'card brand case-insensitive',
      conditions: { card_brand: ['VISA'] },
      facts: {},
      match: true,
    },
    { name: 'card brand other', conditions: { card_brand: ['amex'] }, facts: {}, match: false },
    {
      name: 'card brand absent',
      conditions: { card_brand: ['visa'] },
      facts: { cardBrand: null },
      match: false,
    },
    { name: 'card country', conditions: { card_country: ['de'] }, facts: {}, match: true },
    { name: 'customer country', conditions: { customer_country: ['DE'] }, facts: {}, match: false },
    {
      name: 'customer country absent',
      conditions: { customer_country: ['FR'] },
      facts: { customerCountry: null },
      match: false,
    },
    {
      name: 'metadata all equal',
      conditions: { metadata: { tier: 'gold', region: 'eu' } },
      facts: { metadata: { tier: 'gold', region: 'eu', x: '1' } },
      match: true,
    },
    {
      name: 'metadata one differs',
      conditions: { metadata: { tier: 'gold', region: 'eu' } },
      facts: { metadata: { tier: 'gold', region: 'us' } },
      match: false,
    },
    {
      name: 'metadata key missing',
      conditions: { metadata: { tier: '' } },
      facts: { metadata: {} },
      match: false,
    },
    {
      name: 'metadata inherited key is not a match',
      conditions: { metadata: { toString: 'x' } },
      facts: { metadata: {} },
      match: false,
    },
    {
      name: 'all conditions hold',
      conditions: {
        currency: ['eur'],
        amount_gte: 1,
        card_brand: ['Visa'],
        card_country: ['DE'],
        customer_country: ['fr'],
        payment_method_type: ['card'],
      },
      facts: {},
      match: true,
    },
    {
      name: 'one of many fails',
      conditions: { currency: ['eur'], amount_gte: 1, card_country: ['US'] },
      facts: {},
      match: false,
    },
  ];
  for (const c of cases)
    test(`condition: ${c.name}`, () => {
      const d = rank({
        strategies: [rules([{ name: 'r', conditions: c.conditions, connectors: [B] }])],
        connectors: [connector(1), connector(2)],
        facts: c.facts,
      });
      assert.deepEqual(order(d), c.match ? [B] : [A, B]);
    });
});

describe('rankCandidates: combinations', () => {
  test('rules narrow, then priority orders within; earlier strategies are more significant', () => {
    const strategies = [
      { type: 'priority', connectors: [B, C, A] },
      {
        type: 'rules',
        rules: [{ name: 'eu', conditions: { currency: ['eur'] }, connectors: [A, C] }],
      },
    ];
    const d = rank({
      strategies,
      connectors: [connector(1), connector(2), connector(3), connector(4)],
    });
    // The rule removes B and 4; priority (first) orders C before A although the rule says A, C.
    assert.deepEqual(order(d), [C, A]);
    assert.equal(
      d.candidates[0]?.reason,
      "rank 1/2; priority 2/3; rule 'eu' matched; position 2/2 in it; breaker closed",
    );
  });

  test('lowest cost first; priority breaks fee ties', () => {
    const d = rank({
      strategies: [{ type: 'lowest_cost' }, { type: 'priority', connectors: [C, B] }],
      connectors: [
        connector(1, { feeFixed: 5 }),
        connector(2, { feeFixed: 1 }),
        connector(3, { feeFixed: 1 }),
      ],
    });
    assert.deepEqual(order(d), [C, B, A]);
  });

  test('two rules strategies both narrow', () => {
    const d = rank({
      strategies: [
        {
          type: 'rules',
          rules: [{ name: 'eur', conditions: { currency: ['eur'] }, connectors: [A, B, C] }],
        },
        {
          type: 'rules',
          rules: [{ name: 'visa', conditions: { card_brand: ['visa'] }, connectors: [C, B] }],
        },
      ],
      connectors: [connector(1), connector(2), connector(3)],
    });
    assert.deepEqual(order(d), [B, C]);
    assert.equal(excludedReason(d, A), "not in rule 'visa'");
  });

  test('a complete operator reason', () => {
    const d = rank({
      strategies: [
        {
          type: 'rules',
          rules: [{ name: 'eu-cards', conditions: { currency: ['eur'] }, connectors: [A, B] }],
        },
        { type: 'priority', connectors: [A, B] },
        { type: 'success_rate' },
        { type: 'lowest_cost' },
      ],
      connectors: [connector(1, { feeRatePpm: 29_000, feeFixed: 30 }), connector(2)],
      view: view({ rates: { [A]: { rate: 0.97, samples: 120 } } }),
    });
    assert.equal(
      d.candidates[0]?.reason,
      "rank 1/2; rule 'eu-cards' matched; position 1/2 in it; priority 1/2; " +
        'success rate 97% (n=120); fee 59 EUR minor units; breaker closed',
    );
  });
});

describe('rankCandidates: properties', () => {
  const ids = [1, 2, 3, 4, 5, 6].map(id);
  const arbConnector = (n: number) =>
    fc
      .record({
        currencies: fc.option(fc.subarray(['eur', 'usd', 'gbp'], { minLength: 1 }), { nil: null }),
        paymentMethodTypes: fc.subarray(['card', 'sepa_debit'], { minLength: 1 }),
        feeRatePpm: fc.integer({ min: 0, max: 50_000 }),
        feeFixed: fc.integer({ min: 0, max: 100 }),
        created: fc.integer({ min: 0, max: 3 }),
      })
      .map((r) => connector(n, r));
  const arbConnectors = fc
    .subarray([1, 2, 3, 4, 5, 6], { minLength: 0 })
    .chain((ns) => fc.tuple(...ns.map(arbConnector)));
  const someIds = fc.subarray(ids, { minLength: 1 });
  const arbStrategy = fc.oneof(
    someIds.map((connectors) => ({ type: 'priority', connectors })),
    fc
      .array(
        fc.record({ connector: fc.constantFrom(...ids), weight: fc.integer({ min: 0, max: 100 }) }),
        { minLength: 1, maxLength: 6 },
      )
      .map((weights) => ({ type: 'weighted', weights })),
    fc
      .array(
        fc.record({
          name: fc.constantFrom('a', 'b', 'c'),
          conditions: fc.record(
            {
              currency: fc.subarray(['eur', 'usd'], { minLength: 1 }),
              amount_gte: fc.integer({ min: 0, max: 2000 }),
            },
            { requiredKeys: [] },
          ),
          connectors: someIds,
        }),
        { minLength: 1, maxLength: 3 },
      )
      .map((list) => ({ type: 'rules', rules: list })),
    fc
      .integer({ min: 1, max: 50 })
      .map((bucket_percent) => ({ type: 'success_rate', bucket_percent })),
    fc.constant({ type: 'lowest_cost' }),
  );
  const arbView = fc
    .record({
      breaker: fc.dictionary(
        fc.constantFrom(...ids),
        fc.constantFrom<BreakerState>('closed', 'open', 'half_open'),
      ),
      maintenance: fc.dictionary(fc.constantFrom(...ids), fc.constant('maintenance')),
      rates: fc.dictionary(
        fc.constantFrom(...ids),
        fc.record({
          rate: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
          samples: fc.nat(300),
        }),
      ),
    })
    .map(view);
  const arbInput = fc.record({
    connectors: arbConnectors,
    strategies: fc.array(arbStrategy, { maxLength: 4 }),
    facts: fc.record({
      currency: fc.constantFrom('eur', 'usd'),
      amount: fc.integer({ min: 0, max: 2000 }),
      paymentMethodType: fc.constantFrom('card', 'sepa_debit'),
    }),
    view: arbView,
    seed: fc.integer(),
  });

  test('every connector is either a candidate or excluded, exactly once; deterministic', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const run = () => rank({ ...input, random: seeded(input.seed) });
        const d = run();
        const all = [...d.candidates, ...d.excluded].map((c) => c.connector.id).sort();
        assert.deepEqual(all, input.connectors.map((c) => c.id).sort());
        const excludedIds = new Set(d.excluded.map((e) => e.connector.id));
        for (const c of d.candidates) assert.ok(!excludedIds.has(c.connector.id));
        for (const c of d.candidates) assert.notEqual(input.view.breaker(c.connector.id), 'open');
        for (const c of d.candidates) assert.equal(input.view.maintenance(c.connector.id), null);
        for (const e of d.excluded) assert.ok(e.reason.length > 0);
        for (const c of d.candidates) assert.ok(c.reason.length > 0);
        // Half-open candidates come after all closed ones.
        const states = d.candidates.map((c) => input.view.breaker(c.connector.id));
        assert.deepEqual(
          states,
          [...states].sort((a, b) => Number(a === 'half_open') - Number(b === 'half_open')),
        );
        // Same inputs and random sequence, same decision; input order does not matter.
        assert.deepEqual(run(), d);
        assert.deepEqual(
          rank({
            ...input,
            connectors: [...input.connectors].reverse(),
            random: seeded(input.seed),
          }),
          d,
        );
      }),
      { numRuns: 300 },
    );
  });
});
