import type { AuthorizeRequest, Connector } from '../connectors/types.ts';
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
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { newId, randomBase36 } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { checkAmount, findCurrency } from '../lib/money.ts';
import type { ChargeInstrument, VaultService } from '../vault/types.ts';
import { type ConnectorRegistry, callOut } from './connectors.ts';
import { createIntentOperations } from './operations.ts';
import type { IntentResult } from './result.ts';
import type { IntentConfirmInput, IntentCreateInput } from './schemas.ts';
import { serializeIntent } from './serialize.ts';
import type { Settlement } from './settle.ts';
import type { IntentAction } from './state-machine.ts';
import {
  countAttempts,
  insertAttempt,
  requireIntent,
  saveIntent,
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
}

export interface Begun {
  intent: PaymentIntentsTable;
  attempt: PaymentAttemptsTable;
  connector: Connector;
}

export interface BeginSpec {
  before: PaymentIntentsTable;
  changes: Partial<PaymentIntentsTable>;
  action: IntentAction;
  verb: string;
  operation: PaymentAttemptsTable['operation'];
  amountMinor: number;
  connector?: Connector;
}

const expandsCharge = (expand: string[] | undefined) => expand?.includes('latest_charge') ?? false;

/** The request an authorize attempt sent; recovery rebuilds it the same way. */
export function authorizeRequest(
  intent: PaymentIntentsTable,
  attempt: PaymentAttemptsTable,
  instrument: ChargeInstrument,
): AuthorizeRequest {
  return {
    reference: attempt.id,
    amountMinor: attempt.amount,
    currency: attempt.currency,
    capture: intent.capture_method !== 'manual',
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
    if ((await countAttempts(tx, before.id)) >= LIMITS.attemptsPerIntentMax) {
      throw unexpectedState(
        before,
        `This PaymentIntent reached ${LIMITS.attemptsPerIntentMax} attempts.`,
      );
    }
    const choice = spec.connector
      ? { connector: spec.connector, routingReason: 'same_connector_as_authorization' }
      : connectors.choose(ctx.scope);
    const attempt: PaymentAttemptsTable = {
      id: newId('pa', clock.nowMs()),
      account_id: before.account_id,
      livemode: before.livemode,
      payment_intent_id: before.id,
      operation: spec.operation,
      connector: choice.connector.name,
      connector_reference: null,
      status: 'pending',
      amount: spec.amountMinor,
      currency: before.currency,
      error_code: null,
      decline_code: null,
      error_message: null,
      routing_reason: choice.routingReason,
      latency_ms: null,
      refund_id: null,
      instance_id: PROCESS_INSTANCE_ID,
      created_ms: clock.nowMs(),
      completed_ms: null,
    };
    const intent = await saveIntent(tx, before, { ...before, ...spec.changes, status });
    await insertAttempt(tx, attempt);
    await ctx.checkpoint(tx, before.id);
    return { intent, attempt, connector: choice.connector };
  }

  async function runAuthorize(
    ctx: OpContext,
    begun: Begun,
    pm: PaymentMethodsTable,
    instrument: ChargeInstrument,
    expand: string[] | undefined,
  ): Promise<IntentResult> {
    const request = authorizeRequest(begun.intent, begun.attempt, instrument);
    const { outcome, latencyMs } = await callOut(clock, (signal) =>
      begun.connector.authorize(request, signal),
    );
    return db.transaction().execute(async (tx) => {
      const input = {
        attempt: begun.attempt,
        outcome,
        latencyMs,
        expandCharge: expandsCharge(expand),
      };
      const result = await settlement.authorize(tx, ctx, pm, input);
      await ctx.complete(tx, result);
      return result;
    });
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

  async function beginConfirm(
    tx: Tx,
    ctx: OpContext,
    before: PaymentIntentsTable,
    pm: PaymentMethodsTable | null,
    changes: Partial<PaymentIntentsTable>,
  ) {
    if (!pm) {
      throw unexpectedState(
        before,
        "You cannot confirm this PaymentIntent because it's missing a payment method. Update it with a payment method and confirm again.",
      );
    }
    const next = { ...before, ...changes };
    checkMethodType(next, pm);
    const instrument = vault.instrument(pm);
    const begun = await begin(tx, ctx, {
      before,
      changes: {
        ...changes,
        payment_method_id: pm.id,
        last_payment_error: null,
        next_action: null,
      },
      action: 'begin_confirm',
      verb: 'confirm',
      operation: 'authorize',
      amountMinor: before.amount,
    });
    return { begun, pm, instrument };
  }

  async function create(ctx: OpContext, input: IntentCreateInput): Promise<IntentResult> {
    const currency = requireCurrency(input.currency, input.amount);
    if (input.confirm) connectors.choose(ctx.scope);
    const step = await db.transaction().execute(async (tx) => {
      if (input.customer !== undefined)
        await customers.requireActive(tx, ctx.scope, input.customer);
      const row = newIntentRow(ctx.scope, input, currency.code);
      const pm = await paymentMethodFor(tx, ctx, row, input);
      if (pm) row.payment_method_id = pm.id;
      await tx.insertInto('payment_intents').values(row).execute();
      await events.record(tx, ctx, [
        { type: 'payment_intent.created', object: serializeIntent(row) },
      ]);
      if (!input.confirm) {
        const result = { intent: serializeIntent(row), failure: null };
        await ctx.complete(tx, result);
        return { kind: 'done', result } as const;
      }
      return { kind: 'started', started: await beginConfirm(tx, ctx, row, pm, {}) } as const;
    });
    if (step.kind === 'done') return step.result;
    const { begun, pm, instrument } = step.started;
    return runAuthorize(ctx, begun, pm, instrument, input.expand);
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
    };
  }

  async function confirm(
    ctx: OpContext,
    id: string,
    input: IntentConfirmInput,
  ): Promise<IntentResult> {
    connectors.choose(ctx.scope);
    const started = await db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      transition(before, 'begin_confirm', 'confirm');
      const pm = await paymentMethodFor(tx, ctx, before, input);
      const changes: Partial<PaymentIntentsTable> = {};
      if (input.receipt_email !== undefined) changes.receipt_email = input.receipt_email;
      if (input.return_url !== undefined) changes.return_url = input.return_url;
      if (input.setup_future_usage !== undefined)
        changes.setup_future_usage = input.setup_future_usage;
      if (input.capture_method !== undefined) changes.capture_method = input.capture_method;
      if (input.payment_method_types !== undefined)
        changes.payment_method_types = toJson(input.payment_method_types);
      return beginConfirm(tx, ctx, before, pm, changes);
    });
    return runAuthorize(ctx, started.begun, started.pm, started.instrument, input.expand);
  }

  const core = { begin, runAuthorize, paymentMethodFor };
  return { create, confirm, ...createIntentOperations(deps, core) };
}

export type PaymentsService = ReturnType<typeof createPaymentsService>;
