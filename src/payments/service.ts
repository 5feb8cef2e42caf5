import { failoverDecision, outcomeCode } from '../connectors/decisions.ts';
import type { AuthorizeRequest } from '../connectors/types.ts';
import type { CustomersService } from '../customers/service.ts';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Tx, toJson } from '../db/database.ts';
import { PROCESS_INSTANCE_ID } from '../db/instances.ts';
import type {
  PaymentAttemptsTable,
  PaymentIntentsTable,
  PaymentMethodsTable,
} from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { mergeMetadata } from '../http/validation.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { newId, randomBase36 } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { checkAmount, findCurrency } from '../lib/money.ts';
import type { PaymentFacts } from '../routing/types.ts';
import type { ChargeInstrument, VaultService } from '../vault/types.ts';
import { refuseWhileHoldingReceipts } from './bank-transfer.ts';
import type { ConnectorRegistry, RoutePlan, RoutingSnapshot } from './connectors.ts';
import { authenticationReturnUrl, createIntentOperations } from './operations.ts';
import type { IntentResult } from './result.ts';
import type { IntentConfirmInput, IntentCreateInput } from './schemas.ts';
import { serializeIntent } from './serialize.ts';
import type { SettleInput, Settlement } from './settle.ts';
import { checkSplits, NO_SPLITS } from './splits.ts';
import type { IntentAction } from './state-machine.ts';
import {
  countAttempts,
  insertAttempt,
  insertIntent,
  requireIntent,
  saveIntent,
  settleAttempt,
  transition,
  unexpectedState,
} from './store.ts';

// Payment intents: create, update, confirm, capture, cancel. Every operation
// that calls a processor runs in three steps: (1) one transaction moves the
// intent to `processing`, writes a pending attempt and checkpoints the
// idempotency key; (2) the connector is called outside any transaction; (3)
// one transaction settles attempt, charge, intent and events and completes the
// key. If the process dies between (1) and (3), recovery.ts finishes the work.

export interface PaymentsServiceDeps {
  db: Db;
  clock: Clock;
  events: EventsService;
  customers: CustomersService;
  vault: VaultService;
  connectors: ConnectorRegistry;
  settlement: Settlement;
  /** The engine's public URL: processors send 3-D Secure customers back to its return page. */
  publicUrl?: string | null;
}

export interface Begun {
  intent: PaymentIntentsTable;
  attempt: PaymentAttemptsTable;
}

export interface BeginSpec {
  before: PaymentIntentsTable;
  changes: Partial<PaymentIntentsTable>;
  action: IntentAction;
  verb: string;
  operation: PaymentAttemptsTable['operation'];
  amountMinor: number;
  /** The connector account (or `sandbox`) the attempt goes to, and why. */
  connectorId: string;
  routingReason: string;
  /**
   * `before` was made by this transaction and is not written yet (create with
   * confirm=true): it is inserted once, already in its new state.
   */
  unsaved?: boolean;
}

/** A confirmation under way: its plan of candidates and how far through it we are. */
interface Confirmation {
  begun: Begun;
  pm: PaymentMethodsTable;
  instrument: ChargeInstrument;
  plan: RoutePlan;
  index: number;
}

type ConfirmStep =
  | { kind: 'done'; result: IntentResult }
  | { kind: 'started'; confirmation: Confirmation };

const AUTHORIZES: ReadonlySet<PaymentAttemptsTable['operation']> = new Set([
  'authorize',
  'authenticate',
]);

const expandsCharge = (expand: string[] | undefined) => expand?.includes('latest_charge') ?? false;

/**
 * Whether an authorize attempt captures at once: as recorded on the attempt
 * (the intent's capture_method may have changed since), else, for attempts
 * written before that was recorded, the intent's.
 */
export function attemptCaptures(
  attempt: Pick<PaymentAttemptsTable, 'captures'>,
  intent: Pick<PaymentIntentsTable, 'capture_method'>,
): boolean {
  if (attempt.captures === 0 || attempt.captures === 1) return attempt.captures === 1;
  return intent.capture_method !== 'manual';
}

/** The request an authorize attempt sent; recovery rebuilds it the same way. */
export function authorizeRequest(
  intent: PaymentIntentsTable,
  attempt: PaymentAttemptsTable,
  instrument: ChargeInstrument,
  publicUrl?: string | null,
): AuthorizeRequest {
  return {
    ...(publicUrl ? { returnUrl: authenticationReturnUrl(publicUrl, intent) } : {}),
    reference: attempt.id,
    paymentIntentId: intent.id,
    amountMinor: attempt.amount,
    currency: attempt.currency,
    capture: attemptCaptures(attempt, intent),
    instrument,
    authenticated: attempt.operation === 'authenticate',
    statementDescriptor: intent.statement_descriptor,
  };
}

export function requireCurrency(code: string, amount: number | undefined) {
  const currency = findCurrency(code);
  if (!currency)
    throw new ApiError('invalid_currency', `Invalid currency: ${code}.`, { param: 'currency' });
  if (amount !== undefined) {
    const check = checkAmount(amount, currency);
    if (!check.ok) {
      throw new ApiError(amount < 1 ? 'amount_too_small' : 'amount_too_large', check.message, {
        param: 'amount',
      });
    }
  }
  return currency;
}

export function createPaymentsService(deps: PaymentsServiceDeps) {
  const { db, clock, events, customers, vault, connectors, settlement } = deps;

  async function begin(tx: Tx, ctx: OpContext, spec: BeginSpec): Promise<Begun> {
    const { before } = spec;
    const status = transition(before, spec.action, spec.verb);
    if (!spec.unsaved && (await countAttempts(tx, before.id)) >= LIMITS.attemptsPerIntentMax) {
      throw unexpectedState(
        before,
        `This PaymentIntent reached ${LIMITS.attemptsPerIntentMax} attempts.`,
      );
    }
    const after = { ...before, ...spec.changes, status };
    const attempt = newAttempt(after, spec);
    const intent = spec.unsaved
      ? await insertIntent(tx, { ...after, version: before.version + 1 })
      : await saveIntent(tx, before, after);
    await insertAttempt(tx, attempt);
    await ctx.checkpoint(tx, before.id);
    return { intent, attempt };
  }

  function newAttempt(
    intent: PaymentIntentsTable,
    spec: Pick<BeginSpec, 'operation' | 'amountMinor' | 'connectorId' | 'routingReason'>,
  ): PaymentAttemptsTable {
    return {
      id: newId('pa', clock.nowMs()),
      account_id: intent.account_id,
      livemode: intent.livemode,
      payment_intent_id: intent.id,
      operation: spec.operation,
      connector: spec.connectorId,
      connector_reference: null,
      status: 'pending',
      amount: spec.amountMinor,
      currency: intent.currency,
      error_code: null,
      decline_code: null,
      error_message: null,
      routing_reason: spec.routingReason.slice(0, 1000),
      latency_ms: null,
      refund_id: null,
      instance_id: PROCESS_INSTANCE_ID,
      created_ms: clock.nowMs(),
      completed_ms: null,
      unknown_at_ms: null,
      resolution: null,
      reverses_attempt_id: null,
      captures: AUTHORIZES.has(spec.operation)
        ? intent.capture_method !== 'manual'
          ? 1
          : 0
        : null,
    };
  }

  /**
   * Calls the planned connectors in turn: each try is a new attempt under the
   * same intent. A failure the failover table allows moves on to the next
   * candidate in one transaction (the failed attempt settles, the next one is
   * written pending); anything else settles the intent.
   */
  async function runConfirmation(
    ctx: OpContext,
    confirmation: Confirmation,
    expand: string[] | undefined,
  ): Promise<IntentResult> {
    let { begun, index } = confirmation;
    const { pm, instrument, plan } = confirmation;
    const method = pm.type === 'wallet' ? 'card' : pm.type;
    for (;;) {
      const resolved = await connectors.resolve(begun.attempt.connector);
      const request = authorizeRequest(begun.intent, begun.attempt, instrument, deps.publicUrl);
      const { outcome, latencyMs } = await connectors.call(resolved, method, (connector, signal) =>
        connector.authorize(request, signal),
      );
      const next = plan.candidates[index + 1];
      const decision = failoverDecision(outcome, resolved.type, plan.config.failover_rules);
      if (next && decision.action === 'failover') {
        const reason = `failover after ${begun.attempt.connector} answered ${outcomeCode(outcome)}; ${next.reason}`;
        const current = begun;
        begun = await db
          .transaction()
          .execute((tx) =>
            failover(
              tx,
              ctx,
              { attempt: current.attempt, outcome, latencyMs },
              next.connectorId,
              reason,
            ),
          );
        index += 1;
        continue;
      }
      return db.transaction().execute(async (tx) => {
        const input = {
          attempt: begun.attempt,
          outcome,
          latencyMs,
          expandCharge: expandsCharge(expand),
          secondary: plan.config.secondary_method,
        };
        const result = await settlement.authorize(tx, ctx, pm, input);
        await ctx.complete(tx, result);
        return result;
      });
    }
  }

  /** Settles a failed attempt without touching the intent, and writes the next one. */
  async function failover(
    tx: Tx,
    ctx: OpContext,
    input: SettleInput,
    connectorId: string,
    routingReason: string,
  ): Promise<Begun> {
    // Only a try that took no money may be left behind for the next connector.
    assert(
      input.outcome.status !== 'succeeded' && input.outcome.status !== 'requires_action',
      `${input.attempt.id}: a ${input.outcome.status} outcome never fails over`,
    );
    const settled = await settleAttempt(tx, input.attempt, input.outcome, {
      latencyMs: input.latencyMs,
      nowMs: clock.nowMs(),
    });
    const intent = await requireIntent(tx, ctx.scope, settled.payment_intent_id);
    assert(intent.status === 'processing', `${intent.id} is processing while failing over`);
    const attempt = newAttempt(intent, {
      operation: settled.operation,
      amountMinor: settled.amount,
      connectorId,
      routingReason,
    });
    await insertAttempt(tx, attempt);
    return { intent, attempt };
  }

  /** The 3-D Secure path: one more try on the connector that challenged. */
  function runAuthorize(
    ctx: OpContext,
    begun: Begun,
    pm: PaymentMethodsTable,
    instrument: ChargeInstrument,
    expand: string[] | undefined,
  ): Promise<IntentResult> {
    return connectors.snapshot(ctx.scope).then((snapshot) =>
      runConfirmation(
        ctx,
        {
          begun,
          pm,
          instrument,
          index: 0,
          plan: { candidates: [], excluded: [], config: snapshot.config },
        },
        expand,
      ),
    );
  }

  async function paymentMethodFor(
    tx: Tx,
    ctx: OpContext,
    intent: PaymentIntentsTable,
    input: {
      payment_method?: string | undefined;
      payment_method_data?: Record<string, unknown> | undefined;
    },
  ): Promise<PaymentMethodsTable | null> {
    if (input.payment_method !== undefined && input.payment_method_data !== undefined) {
      throw new ApiError(
        'parameters_exclusive',
        'You may only specify one of payment_method and payment_method_data.',
        {
          param: 'payment_method_data',
        },
      );
    }
    let pm: PaymentMethodsTable | null = null;
    if (input.payment_method !== undefined)
      pm = await vault.resolveForPayment(tx, ctx, input.payment_method, 'payment_method');
    else if (input.payment_method_data !== undefined)
      pm = await vault.createFromData(tx, ctx, input.payment_method_data);
    else if (intent.payment_method_id)
      pm = await vault.resolveForPayment(tx, ctx, intent.payment_method_id, 'payment_method');
    if (pm && pm.customer_id !== null && pm.customer_id !== intent.customer_id) {
      throw new ApiError(
        'payment_intent_invalid_parameter',
        `The PaymentMethod ${pm.id} belongs to another Customer than this PaymentIntent.`,
        { param: 'payment_method' },
      );
    }
    return pm;
  }

  function checkMethodType(intent: PaymentIntentsTable, pm: PaymentMethodsTable): void {
    const types = JSON.parse(intent.payment_method_types) as string[];
    const type = pm.type === 'wallet' ? 'card' : pm.type;
    if (!types.includes(type)) {
      throw new ApiError(
        'payment_intent_incompatible_payment_method',
        `The PaymentMethod provided (${pm.type}) is not allowed for this PaymentIntent. Allowed: ${types.join(', ')}.`,
        { param: 'payment_method' },
      );
    }
  }

  /** What routing looks at: amount, currency, method, card brand and country, customer country, metadata. */
  async function paymentFacts(
    tx: Tx,
    intent: PaymentIntentsTable,
    pm: PaymentMethodsTable,
    instrument: ChargeInstrument,
  ): Promise<PaymentFacts> {
    let customerCountry: string | null = null;
    if (intent.customer_id) {
      const customer = await tx
        .selectFrom('customers')
        .select('address')
        .where('id', '=', intent.customer_id)
        .executeTakeFirst();
      const address = customer?.address
        ? (JSON.parse(customer.address) as { country?: string })
        : null;
      customerCountry = address?.country ?? null;
    }
    return {
      amount: intent.amount,
      currency: intent.currency,
      paymentMethodType: pm.type === 'wallet' ? 'card' : pm.type,
      cardBrand: instrument.type === 'card' ? instrument.brand : null,
      cardCountry: instrument.type === 'card' ? instrument.country : null,
      customerCountry,
      metadata: JSON.parse(intent.metadata) as Record<string, string>,
    };
  }

  async function beginConfirm(
    tx: Tx,
    ctx: OpContext,
    before: PaymentIntentsTable,
    pm: PaymentMethodsTable | null,
    changes: Partial<PaymentIntentsTable>,
    snapshot: RoutingSnapshot,
    unsaved = false,
  ): Promise<ConfirmStep> {
    if (!pm) {
      throw unexpectedState(
        before,
        "You cannot confirm this PaymentIntent because it's missing a payment method. Update it with a payment method and confirm again.",
      );
    }
    const next = { ...before, ...changes };
    checkMethodType(next, pm);
    const instrument = vault.instrument(pm);
    const plan = connectors.plan(snapshot, await paymentFacts(tx, next, pm, instrument));
    const confirmed = {
      ...changes,
      payment_method_id: pm.id,
      last_payment_error: null,
      next_action: null,
    };
    const first = plan.candidates[0];
    if (!first) {
      if (unsaved) await insertIntent(tx, before);
      const result = await settlement.noProcessor(tx, ctx, {
        before,
        changes: confirmed,
        pm,
        secondary: plan.config.secondary_method,
        reason: `No payment processor can take this payment now (${plan.excluded.join('; ') || 'none configured'}).`,
      });
      await ctx.complete(tx, result);
      return { kind: 'done', result };
    }
    const begun = await begin(tx, ctx, {
      before,
      changes: confirmed,
      action: 'begin_confirm',
      verb: 'confirm',
      operation: 'authorize',
      amountMinor: before.amount,
      connectorId: first.connectorId,
      routingReason: first.reason,
      unsaved,
    });
    return { kind: 'started', confirmation: { begun, pm, instrument, plan, index: 0 } };
  }

  async function create(ctx: OpContext, input: IntentCreateInput): Promise<IntentResult> {
    const currency = requireCurrency(input.currency, input.amount);
    const snapshot = input.confirm ? await connectors.snapshot(ctx.scope) : null;
    const step = await db.transaction().execute(async (tx): Promise<ConfirmStep> => {
      if (input.customer !== undefined)
        await customers.requireActive(tx, ctx.scope, input.customer);
      const row = newIntentRow(ctx.scope, input, currency.code);
      Object.assign(
        row,
        await checkSplits(tx, ctx.scope, {
          current: NO_SPLITS,
          feeMinor: input.application_fee_amount,
          destination: input.transfer_data?.destination,
          amountMinor: input.amount,
        }),
      );
      const pm = await paymentMethodFor(tx, ctx, row, input);
      if (pm) row.payment_method_id = pm.id;
      await events.record(tx, ctx, [
        { type: 'payment_intent.created', object: serializeIntent(row) },
      ]);
      if (!snapshot) {
        await insertIntent(tx, row);
        const result = { intent: serializeIntent(row), failure: null };
        await ctx.complete(tx, result);
        return { kind: 'done', result };
      }
      // Confirmed at once: the row is written once, in its confirmed state.
      return beginConfirm(tx, ctx, row, pm, {}, snapshot, true);
    });
    if (step.kind === 'done') return step.result;
    return runConfirmation(ctx, step.confirmation, input.expand);
  }

  function newIntentRow(
    scope: Scope,
    input: IntentCreateInput,
    currency: string,
  ): PaymentIntentsTable {
    const id = newId('pi', clock.nowMs());
    return {
      id,
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
      amount: input.amount,
      currency,
      status:
        input.payment_method || input.payment_method_data
          ? 'requires_confirmation'
          : 'requires_payment_method',
      capture_method: input.capture_method ?? 'automatic',
      confirmation_method: input.confirmation_method ?? 'automatic',
      customer_id: input.customer ?? null,
      payment_method_id: null,
      payment_method_types: toJson(input.payment_method_types ?? ['card']),
      description: input.description ?? null,
      receipt_email: input.receipt_email ?? null,
      statement_descriptor: input.statement_descriptor ?? null,
      setup_future_usage: input.setup_future_usage ?? null,
      metadata: toJson(mergeMetadata({}, input.metadata)),
      amount_capturable: 0,
      amount_received: 0,
      latest_charge: null,
      last_payment_error: null,
      next_action: null,
      cancellation_reason: null,
      canceled_at: null,
      client_secret: `${id}_secret_${randomBase36(25)}`,
      return_url: input.return_url ?? null,
      version: 0,
      created: unixSeconds(clock),
      secondary_method: null,
    };
  }

  async function confirm(
    ctx: OpContext,
    id: string,
    input: IntentConfirmInput,
  ): Promise<IntentResult> {
    const snapshot = await connectors.snapshot(ctx.scope);
    const step = await db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      transition(before, 'begin_confirm', 'confirm');
      // A partly paid transfer must be finished (or the intent canceled), not paid again.
      await refuseWhileHoldingReceipts(tx, before, 'confirm');
      const pm = await paymentMethodFor(tx, ctx, before, input);
      const changes: Partial<PaymentIntentsTable> = {};
      if (input.receipt_email !== undefined) changes.receipt_email = input.receipt_email;
      if (input.return_url !== undefined) changes.return_url = input.return_url;
      if (input.setup_future_usage !== undefined)
        changes.setup_future_usage = input.setup_future_usage;
      if (input.capture_method !== undefined) changes.capture_method = input.capture_method;
      if (input.payment_method_types !== undefined)
        changes.payment_method_types = toJson(input.payment_method_types);
      return beginConfirm(tx, ctx, before, pm, changes, snapshot);
    });
    if (step.kind === 'done') return step.result;
    return runConfirmation(ctx, step.confirmation, input.expand);
  }

  const core = { begin, runAuthorize, paymentMethodFor };
  return { create, confirm, ...createIntentOperations(deps, core) };
}

export type PaymentsService = ReturnType<typeof createPaymentsService>;
