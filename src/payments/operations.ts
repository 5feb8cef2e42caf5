import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Tx, toJson } from '../db/database.ts';
import type { PaymentIntentsTable, PaymentMethodsTable } from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import type { ChargeInstrument } from '../vault/types.ts';
import type { IntentResult } from './result.ts';
import type {
  ChargeListInput,
  IntentCancelInput,
  IntentCaptureInput,
  IntentListInput,
  IntentUpdateInput,
} from './schemas.ts';
import { serializeCharge, serializeIntent } from './serialize.ts';
import type { BeginSpec, Begun, PaymentsServiceDeps } from './service.ts';
import { requireCurrency } from './service.ts';
import type { Settlement } from './settle.ts';
import { checkSplits, splitsOf } from './splits.ts';
import { findCharge, requireIntent, saveIntent, transition, unexpectedState } from './store.ts';

// The operations on an existing payment intent besides confirm: update,
// capture, cancel, the 3-D Secure test helper, and the reads.

interface Core {
  begin(tx: Tx, ctx: OpContext, spec: BeginSpec): Promise<Begun>;
  runAuthorize(
    ctx: OpContext,
    begun: Begun,
    pm: PaymentMethodsTable,
    instrument: ChargeInstrument,
    expand: string[] | undefined,
  ): Promise<IntentResult>;
  paymentMethodFor(
    tx: Tx,
    ctx: OpContext,
    intent: PaymentIntentsTable,
    input: {
      payment_method?: string | undefined;
      payment_method_data?: Record<string, unknown> | undefined;
    },
  ): Promise<PaymentMethodsTable | null>;
}

const RESTRICTED_UPDATES = [
  'amount',
  'currency',
  'customer',
  'payment_method',
  'payment_method_data',
  'payment_method_types',
  'capture_method',
  'setup_future_usage',
  'statement_descriptor',
  'application_fee_amount',
  'transfer_data',
] as const;

export function createIntentOperations(deps: PaymentsServiceDeps, core: Core) {
  const { db, clock, events, customers, vault, connectors } = deps;
  const settlement: Settlement = deps.settlement;

  async function update(
    ctx: OpContext,
    id: string,
    input: IntentUpdateInput,
  ): Promise<IntentResult> {
    return db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      const restricted = RESTRICTED_UPDATES.some((key) => input[key] !== undefined);
      const pm = restricted ? await core.paymentMethodFor(tx, ctx, before, input) : null;
      const attaching =
        input.payment_method !== undefined || input.payment_method_data !== undefined;
      const status = restricted
        ? transition(before, attaching ? 'attach_payment_method' : 'update', 'update')
        : before.status;
      if (input.customer !== undefined)
        await customers.requireActive(tx, ctx.scope, input.customer, 'customer');
      const currency = requireCurrency(
        input.currency ?? before.currency,
        input.amount ?? before.amount,
      );
      const splits = await checkSplits(tx, ctx.scope, {
        current: splitsOf(before),
        feeMinor: input.application_fee_amount,
        destination: input.transfer_data?.destination,
        amountMinor: input.amount ?? before.amount,
      });
      const after: PaymentIntentsTable = {
        ...before,
        status,
        amount: input.amount ?? before.amount,
        currency: currency.code,
        customer_id: input.customer ?? before.customer_id,
        payment_method_id: attaching && pm ? pm.id : before.payment_method_id,
        payment_method_types: input.payment_method_types
          ? toJson(input.payment_method_types)
          : before.payment_method_types,
        capture_method: input.capture_method ?? before.capture_method,
        setup_future_usage: input.setup_future_usage ?? before.setup_future_usage,
        statement_descriptor: input.statement_descriptor ?? before.statement_descriptor,
        description: input.description !== undefined ? input.description : before.description,
        receipt_email:
          input.receipt_email !== undefined ? input.receipt_email : before.receipt_email,
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
        next_action: attaching ? null : before.next_action,
        ...splits,
      };
      const saved = await saveIntent(tx, before, after);
      const result = { intent: serializeIntent(saved), failure: null };
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function capture(
    ctx: OpContext,
    id: string,
    input: IntentCaptureInput,
  ): Promise<IntentResult> {
    const begun = await db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      transition(before, 'begin_capture', 'capture');
      const amount = input.amount_to_capture ?? before.amount_capturable;
      if (amount > before.amount_capturable) {
        throw new ApiError(
          'amount_to_capture_too_large',
          `The amount to capture (${amount}) is greater than the amount capturable (${before.amount_capturable}).`,
          { param: 'amount_to_capture', extra: { payment_intent: serializeIntent(before) } },
        );
      }
      const charge = before.latest_charge
        ? await findCharge(tx, ctx.scope, before.latest_charge)
        : undefined;
      if (!charge) throw new Error(`intent ${id} in requires_capture has no charge`);
      const metadata = toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata));
      // Stripe takes the fee on capture too; it must fit the amount captured.
      const splits = await checkSplits(tx, ctx.scope, {
        current: splitsOf(before),
        feeMinor: input.application_fee_amount,
        destination: undefined,
        amountMinor: amount,
      });
      const started = await core.begin(tx, ctx, {
        before,
        changes: { metadata, application_fee_amount: splits.application_fee_amount },
        action: 'begin_capture',
        verb: 'capture',
        operation: 'capture',
        amountMinor: amount,
        connectorId: charge.connector,
        routingReason: 'same_connector_as_authorization',
      });
      return { ...started, authorizationReference: charge.connector_reference ?? '' };
    });
    const { outcome, latencyMs } = await callModification(begun, 'capture');
    return db.transaction().execute(async (tx) => {
      const expandCharge = input.expand?.includes('latest_charge') ?? false;
      const result = await settlement.capture(tx, ctx, {
        attempt: begun.attempt,
        outcome,
        latencyMs,
        expandCharge,
      });
      await ctx.complete(tx, result);
      return result;
    });
  }

  /** Calls capture or void on the connector that holds the authorization. */
  async function callModification(
    begun: Begun & { authorizationReference: string },
    operation: 'capture' | 'void',
  ) {
    const request = {
      reference: begun.attempt.id,
      authorizationReference: begun.authorizationReference,
      amountMinor: begun.attempt.amount,
      currency: begun.attempt.currency,
    };
    const resolved = await connectors.resolve(begun.attempt.connector);
    return connectors.call(resolved, null, (connector, signal) =>
      operation === 'capture'
        ? connector.capture(request, signal)
        : connector.void(request, signal),
    );
  }

  async function cancel(
    ctx: OpContext,
    id: string,
    input: IntentCancelInput,
  ): Promise<IntentResult> {
    const step = await db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      const reason = input.cancellation_reason ?? null;
      if (before.status === 'requires_capture')
        return { kind: 'void', begun: await beginVoid(tx, ctx, before, reason) } as const;
      const after: PaymentIntentsTable = {
        ...before,
        status: transition(before, 'cancel', 'cancel'),
        cancellation_reason: reason,
        canceled_at: unixSeconds(clock),
        next_action: null,
      };
      const saved = await saveIntent(tx, before, after);
      await events.record(tx, ctx, [
        { type: 'payment_intent.canceled', object: serializeIntent(saved) },
      ]);
      const result = { intent: serializeIntent(saved), failure: null };
      await ctx.complete(tx, result);
      return { kind: 'done', result } as const;
    });
    if (step.kind === 'done') return step.result;
    const { outcome, latencyMs } = await callModification(step.begun, 'void');
    return db.transaction().execute(async (tx) => {
      const result = await settlement.voided(tx, ctx, {
        attempt: step.begun.attempt,
        outcome,
        latencyMs,
      });
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function beginVoid(
    tx: Tx,
    ctx: OpContext,
    before: PaymentIntentsTable,
    reason: string | null,
  ) {
    const charge = before.latest_charge
      ? await findCharge(tx, ctx.scope, before.latest_charge)
      : undefined;
    if (!charge) throw new Error(`intent ${before.id} in requires_capture has no charge`);
    const started = await core.begin(tx, ctx, {
      before,
      changes: { cancellation_reason: reason },
      action: 'begin_void',
      verb: 'cancel',
      operation: 'void',
      amountMinor: before.amount_capturable,
      connectorId: charge.connector,
      routingReason: 'same_connector_as_authorization',
    });
    return { ...started, authorizationReference: charge.connector_reference ?? '' };
  }

  /** Test helper: the customer passes (or fails) the 3-D Secure challenge. */
  async function authenticate(
    ctx: OpContext,
    id: string,
    outcome: 'succeed' | 'fail',
  ): Promise<IntentResult> {
    if (ctx.scope.livemode) {
      throw new ApiError(
        'test_mode_only',
        'Test helpers can only be used with a test mode API key.',
      );
    }
    if (outcome === 'fail') return failAuthentication(ctx, id);
    const started = await db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      transition(before, 'begin_authenticate', 'authenticate');
      const pm = await core.paymentMethodFor(tx, ctx, before, {});
      if (!pm) throw new Error(`intent ${id} in requires_action has no payment method`);
      const instrument = vault.instrument(pm);
      const challenged = await tx
        .selectFrom('payment_attempts')
        .select('connector')
        .where('payment_intent_id', '=', id)
        .where('status', '=', 'requires_action')
        .orderBy('id', 'desc')
        .executeTakeFirst();
      if (!challenged) {
        throw unexpectedState(
          before,
          'This PaymentIntent is not waiting for 3-D Secure authentication.',
        );
      }
      const begun = await core.begin(tx, ctx, {
        before,
        changes: { next_action: null },
        action: 'begin_authenticate',
        verb: 'authenticate',
        operation: 'authenticate',
        amountMinor: before.amount,
        connectorId: challenged.connector,
        routingReason: 'same_connector_as_authentication_challenge',
      });
      return { begun, pm, instrument };
    });
    return core.runAuthorize(ctx, started.begun, started.pm, started.instrument, undefined);
  }

  async function failAuthentication(ctx: OpContext, id: string): Promise<IntentResult> {
    return db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      const status = transition(before, 'fail_authentication', 'authenticate');
      const pm = await core.paymentMethodFor(tx, ctx, before, {});
      const lastError = {
        type: 'card_error',
        code: 'payment_intent_authentication_failure',
        message:
          'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
        doc_url: 'https://docs.payrail.dev/errors#payment_intent_authentication_failure',
        payment_method: pm ? vault.serialize(pm) : null,
      };
      const after: PaymentIntentsTable = {
        ...before,
        status,
        next_action: null,
        payment_method_id: null,
        last_payment_error: toJson(lastError),
      };
      const saved = await saveIntent(tx, before, after);
      await events.record(tx, ctx, [
        { type: 'payment_intent.payment_failed', object: serializeIntent(saved) },
      ]);
      const result = { intent: serializeIntent(saved), failure: null };
      await ctx.complete(tx, result);
      return result;
    });
  }

  async function retrieve(scope: Scope, id: string, expand: string[] | undefined) {
    const row = await requireIntent(db, scope, id, 'id');
    if (expand?.includes('latest_charge') && row.latest_charge) {
      const charge = await findCharge(db, scope, row.latest_charge);
      if (charge) return serializeIntent(row, { charge: serializeCharge(charge) });
    }
    return serializeIntent(row);
  }

  async function list(scope: Scope, filters: IntentListInput) {
    let query = db
      .selectFrom('payment_intents')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.customer !== undefined) query = query.where('customer_id', '=', filters.customer);
    return paginate(query, filters);
  }

  async function listAttempts(scope: Scope, id: string) {
    await requireIntent(db, scope, id, 'id');
    return db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('payment_intent_id', '=', id)
      .orderBy('id', 'asc')
      .limit(LIMITS.attemptsPerIntentMax + LIMITS.refundsPerChargeMax)
      .execute();
  }

  async function retrieveCharge(scope: Scope, id: string) {
    const row = await findCharge(db, scope, id);
    if (!row) throw notFound('charge', id);
    return row;
  }

  async function listCharges(scope: Scope, filters: ChargeListInput) {
    let query = db
      .selectFrom('charges')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.customer !== undefined) query = query.where('customer_id', '=', filters.customer);
    if (filters.payment_intent !== undefined)
      query = query.where('payment_intent_id', '=', filters.payment_intent);
    return paginate(query, filters);
  }

  return {
    update,
    capture,
    cancel,
    authenticate,
    retrieve,
    list,
    listAttempts,
    retrieveCharge,
    listCharges,
  };
}
