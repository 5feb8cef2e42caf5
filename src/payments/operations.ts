import { createHash, timingSafeEqual } from 'node:crypto';
import {
  AUTHENTICATION_RETURN_KEYS,
  type CompleteAuthenticationRequest,
  type ConnectorOutcome,
} from '../connectors/types.ts';
import { internalContext, livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Tx, toJson } from '../db/database.ts';
import type {
  PaymentAttemptsTable,
  PaymentIntentsTable,
  PaymentMethodsTable,
} from '../db/schema.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import type { ChargeInstrument } from '../vault/types.ts';
import { refuseWhileHoldingReceipts } from './bank-transfer.ts';
import type { ResolvedConnector } from './connectors.ts';
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
import {
  AttemptAlreadySettled,
  findCharge,
  requireIntent,
  saveIntent,
  transition,
  unexpectedState,
} from './store.ts';

// The operations on an existing payment intent besides confirm: update,
// capture, cancel, 3-D Secure completion (the customer's return and the test
// helper), and the reads.

/** The return's parameters Payrail passes to the connector (AUTHENTICATION_RETURN_KEYS only). */
export type AuthenticationDetails = CompleteAuthenticationRequest['details'];

/**
 * The token in an intent's return URL: derived from its client secret, so the
 * secret itself never travels through the processor, and only someone the
 * engine (or the merchant) gave the URL to can trigger the completion. The
 * completion's result comes from the processor either way.
 */
export function authenticationReturnToken(intent: Pick<PaymentIntentsTable, 'client_secret'>) {
  return createHash('sha256')
    .update(`${intent.client_secret}:authentication_return`)
    .digest('base64url')
    .slice(0, 32);
}

/** Payrail's 3-D Secure return page for an intent: what processors send the customer back to. */
export function authenticationReturnUrl(
  publicUrl: string,
  intent: Pick<PaymentIntentsTable, 'id' | 'client_secret'>,
): string {
  const token = authenticationReturnToken(intent);
  return `${publicUrl.replace(/\/+$/, '')}/3ds/return/${intent.id}?token=${token}`;
}

/**
 * Reads a return's parameters (query string or form body): the token, and
 * only the known processor parameters, each a string of bounded length.
 * Other parameters are ignored, as Adyen asks. Bad input is a 400 naming it.
 */
export function parseAuthenticationReturn(params: Record<string, unknown>): {
  token: string;
  details: AuthenticationDetails;
} {
  const token = params.token;
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(token)) {
    throw new ApiError('parameter_invalid', 'Missing or invalid token.', { param: 'token' });
  }
  const details: AuthenticationDetails = {};
  for (const key of AUTHENTICATION_RETURN_KEYS) {
    const value = params[key];
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string' || value.length > LIMITS.authenticationDetailLengthMax) {
      throw new ApiError(
        'parameter_invalid',
        `${key} must be one string of at most ${LIMITS.authenticationDetailLengthMax} characters.`,
        { param: key },
      );
    }
    details[key] = value;
  }
  return { token, details };
}

/** A challenged attempt: what the processor holds, and Payrail's reference of it. */
export type Challenge = Pick<
  PaymentAttemptsTable,
  | 'id'
  | 'operation'
  | 'status'
  | 'connector'
  | 'connector_reference'
  | 'amount'
  | 'currency'
  | 'captures'
> & {
  /** The authorize attempt the chain of completions started from: the processor's merchant reference. */
  rootId: string;
};

/**
 * The latest authorize or authenticate attempt of an intent (before a given
 * attempt, when recovery asks for the challenge a completion answered), if it
 * answered requires_action. Any later try (a new confirmation, another
 * processor) supersedes an older challenge: its return URL completes nothing.
 */
export async function latestChallenge(
  db: Db | Tx,
  intentId: string,
  beforeAttemptId?: string,
): Promise<Challenge | undefined> {
  let query = db
    .selectFrom('payment_attempts')
    .select(['id', 'operation', 'status', 'connector', 'connector_reference', 'amount'])
    .select(['currency', 'captures'])
    .where('payment_intent_id', '=', intentId)
    .where('operation', 'in', ['authorize', 'authenticate']);
  if (beforeAttemptId) query = query.where('id', '<', beforeAttemptId);
  const row = await query.orderBy('id', 'desc').executeTakeFirst();
  if (row?.status !== 'requires_action') return undefined;
  if (row.operation === 'authorize') return { ...row, rootId: row.id };
  const root = await db
    .selectFrom('payment_attempts')
    .select('id')
    .where('payment_intent_id', '=', intentId)
    .where('operation', '=', 'authorize')
    .where('id', '<', row.id)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return { ...row, rootId: root?.id ?? row.id };
}

/** Whether the intent shows the customer a processor's redirect (not, say, bank transfer instructions). */
function showsRedirect(intent: Pick<PaymentIntentsTable, 'next_action'>): boolean {
  if (!intent.next_action) return false;
  const action = JSON.parse(intent.next_action) as { type?: unknown };
  return action.type === 'redirect_to_url';
}

/**
 * The attempt whose 3-D Secure challenge is open on the intent: only while
 * the intent is in requires_action showing that challenge's redirect, and
 * only the latest try's. An intent that left the challenge (canceled,
 * re-confirmed, another payment method, waiting for a bank transfer) has
 * none, so an old return URL completes nothing.
 */
export async function openChallenge(
  db: Db | Tx,
  intent: Pick<PaymentIntentsTable, 'id' | 'status' | 'next_action'>,
): Promise<Challenge | undefined> {
  if (intent.status !== 'requires_action' || !showsRedirect(intent)) return undefined;
  return latestChallenge(db, intent.id);
}

/** What a completion of `challenge` sends, under the completion attempt's reference. */
function challengeRequest(
  reference: string,
  challenge: Challenge | undefined,
  details: AuthenticationDetails,
): CompleteAuthenticationRequest {
  return {
    reference,
    connectorReference: challenge?.connector_reference ?? '',
    details,
    ...(challenge
      ? {
          challengeReference: challenge.rootId,
          amountMinor: challenge.amount,
          currency: challenge.currency,
        }
      : {}),
  };
}

/** What recovery sends to ask again how a completion attempt ended: no details are kept. */
export async function completionRequest(
  db: Db,
  attempt: PaymentAttemptsTable,
): Promise<CompleteAuthenticationRequest> {
  const challenge = await latestChallenge(db, attempt.payment_intent_id, attempt.id);
  return challengeRequest(attempt.id, challenge, {});
}

/**
 * Why the intent no longer matches what the processor challenged (amount,
 * currency, capture), or null. A completion books the intent's amount and
 * capture mode, so it may only finish a challenge for exactly those.
 */
function challengeMismatch(intent: PaymentIntentsTable, challenge: Challenge): string | null {
  const captures = intent.capture_method !== 'manual';
  if (challenge.amount !== intent.amount || challenge.currency !== intent.currency) {
    return `the processor challenged ${challenge.amount} ${challenge.currency}, the PaymentIntent is now ${intent.amount} ${intent.currency}`;
  }
  if (challenge.captures !== null && (challenge.captures === 1) !== captures) {
    return `the processor challenged a payment with capture_method ${challenge.captures === 1 ? 'automatic' : 'manual'}, the PaymentIntent now has ${intent.capture_method}`;
  }
  return null;
}

/**
 * A completion's answer as recorded. A completion is no new charge that
 * another processor could take: the challenged payment is at this processor,
 * whatever stopped us reaching it (an open breaker, a refused connection, a
 * 429, a 401), so `failed_retryable` is `unknown` and recovery asks again.
 * Recovery maps its own answers the same way.
 */
export function completionOutcome(outcome: ConnectorOutcome): ConnectorOutcome {
  return outcome.status === 'failed_retryable'
    ? { status: 'unknown', reason: `${outcome.code}: ${outcome.message}` }
    : outcome;
}

const tokensEqual = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

type AuthenticationStart =
  | {
      kind: 'started';
      begun: Begun;
      pm: PaymentMethodsTable;
      instrument: ChargeInstrument;
      challenge: Challenge;
    }
  | { kind: 'failed'; result: IntentResult };

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
      await refuseWhileHoldingReceipts(tx, before, input);
      await refuseWhileChallenged(tx, before, input);
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

  /**
   * While a processor's 3-D Secure challenge is open, the processor holds a
   * payment for the intent's amount, currency and capture mode: changing them
   * would book something else than what the customer authenticates. As
   * Stripe, the merchant confirms again instead (docs/connectors.md#3-d-secure).
   */
  async function refuseWhileChallenged(
    tx: Tx,
    before: PaymentIntentsTable,
    input: IntentUpdateInput,
  ): Promise<void> {
    const changes = {
      amount: input.amount !== undefined && input.amount !== before.amount,
      currency: input.currency !== undefined && input.currency !== before.currency,
      capture_method:
        input.capture_method !== undefined && input.capture_method !== before.capture_method,
    };
    const param = (Object.keys(changes) as Array<keyof typeof changes>).find((k) => changes[k]);
    if (!param || !(await openChallenge(tx, before))) return;
    throw new ApiError(
      'payment_intent_unexpected_state',
      `You cannot update ${param} while this PaymentIntent waits for 3-D Secure authentication of the processor's payment. Confirm it again (with the new ${param}) or cancel it.`,
      { param, extra: { payment_intent: serializeIntent(before) } },
    );
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
    const started = await db.transaction().execute((tx) => beginAuthentication(tx, ctx, id));
    if (started.kind === 'failed') return started.result;
    return finishAuthentication(ctx, started, {});
  }

  /**
   * Step 1 of a completion: the intent goes to processing and a pending
   * `authenticate` attempt is written for the connector that challenged, for
   * the amount it challenged. An intent that no longer matches the challenge
   * (amount, currency or capture changed before updates were refused) is not
   * completed: the challenge fails cleanly and the intent needs a new
   * confirmation. Whatever the processor took for it is then an extra
   * charge, reversed when its notice arrives (recovery.settleNotice).
   */
  async function beginAuthentication(
    tx: Tx,
    ctx: OpContext,
    id: string,
  ): Promise<AuthenticationStart> {
    const before = await requireIntent(tx, ctx.scope, id);
    transition(before, 'begin_authenticate', 'authenticate');
    const pm = await core.paymentMethodFor(tx, ctx, before, {});
    if (!pm) throw new Error(`intent ${id} in requires_action has no payment method`);
    const instrument = vault.instrument(pm);
    const challenge = await openChallenge(tx, before);
    if (!challenge) {
      throw unexpectedState(
        before,
        'This PaymentIntent is not waiting for 3-D Secure authentication.',
      );
    }
    const mismatch = challengeMismatch(before, challenge);
    if (mismatch) {
      const message = `The 3-D Secure challenge no longer matches this PaymentIntent (${mismatch}); it was not completed. Confirm the PaymentIntent again.`;
      return { kind: 'failed', result: await failChallenge(tx, ctx, before, message) };
    }
    const begun = await core.begin(tx, ctx, {
      before,
      changes: { next_action: null },
      action: 'begin_authenticate',
      verb: 'authenticate',
      operation: 'authenticate',
      amountMinor: challenge.amount,
      connectorId: challenge.connector,
      routingReason: 'same_connector_as_authentication_challenge',
    });
    return { kind: 'started', begun, pm, instrument, challenge };
  }

  /**
   * Steps 2 and 3: the connector finishes the challenged payment (or, for a
   * connector without completeAuthentication, authorizes again with
   * `authenticated: true`), then the answer settles the intent.
   */
  async function finishAuthentication(
    ctx: OpContext,
    started: Extract<AuthenticationStart, { kind: 'started' }>,
    details: AuthenticationDetails,
  ): Promise<IntentResult> {
    const { begun, pm, instrument } = started;
    const resolved = await connectors.resolve(begun.attempt.connector);
    if (!resolved.connector.completeAuthentication)
      return core.runAuthorize(ctx, begun, pm, instrument, undefined);
    const request = challengeRequest(begun.attempt.id, started.challenge, details);
    return runCompletion(ctx, { attempt: begun.attempt, pm, resolved, request });
  }

  async function runCompletion(
    ctx: OpContext,
    input: {
      attempt: PaymentAttemptsTable;
      pm: PaymentMethodsTable;
      resolved: ResolvedConnector;
      request: CompleteAuthenticationRequest;
    },
  ): Promise<IntentResult> {
    const method = input.pm.type === 'wallet' ? 'card' : input.pm.type;
    const called = await connectors.call(input.resolved, method, (connector, signal) =>
      connector.completeAuthentication
        ? connector.completeAuthentication(input.request, signal)
        : Promise.resolve({ status: 'unknown', reason: 'no completeAuthentication' } as const),
    );
    const outcome = completionOutcome(called.outcome);
    const secondary = (await connectors.config(ctx.scope)).secondary_method;
    return db.transaction().execute(async (tx) => {
      const settleInput = {
        attempt: input.attempt,
        outcome,
        latencyMs: called.latencyMs,
        expandCharge: false,
        secondary,
      };
      const result = await settlement.authorize(tx, ctx, input.pm, settleInput);
      await ctx.complete(tx, result);
      return result;
    });
  }

  /**
   * The customer is back from the processor's challenge (GET or POST on the
   * return page, docs/connectors.md#3-d-secure). Completes the payment once:
   * only an intent still in requires_action showing that challenge begins a
   * completion; a reload while it runs, or after it settled, changes nothing.
   * A completion whose answer was lost (unknown) is asked again under the
   * same reference when the return brings the processor's parameters again.
   * Returns the intent as it stands after, and `waiting` when the return
   * began nothing and the intent still waits for the customer (no
   * processor parameters, or no open challenge): the page then shows that,
   * not a failure.
   */
  async function returnFromAuthentication(
    id: string,
    input: { token: string; details: AuthenticationDetails },
  ): Promise<{ intent: PaymentIntentsTable; waiting: boolean }> {
    const row = await db
      .selectFrom('payment_intents')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || !tokensEqual(input.token, authenticationReturnToken(row)))
      throw notFound('payment_intent', id);
    const scope = { accountId: row.account_id, livemode: row.livemode === 1 };
    const ctx = internalContext(scope);
    let began = false;
    if (row.status === 'requires_action') began = await completeOnReturn(ctx, row, input.details);
    else if (row.status === 'processing') await retryLostCompletion(ctx, row, input.details);
    const intent = await requireIntent(db, scope, id);
    return { intent, waiting: !began && intent.status === 'requires_action' };
  }

  /** Begins and runs a completion for the return, if one may begin: whether it did. */
  async function completeOnReturn(
    ctx: OpContext,
    row: PaymentIntentsTable,
    details: AuthenticationDetails,
  ): Promise<boolean> {
    const challenge = await openChallenge(db, row);
    if (!challenge) return false;
    const resolved = await connectors.resolve(challenge.connector);
    // Authorizing again proves nothing about the customer: without a
    // processor that reports the challenge's result, only test mode may.
    if (!resolved.connector.completeAuthentication && ctx.scope.livemode) return false;
    // A return without the processor's parameters (a typed URL, a link
    // scanner, a prefetch) has nothing to complete with: change nothing.
    const needed = resolved.connector.completeAuthentication
      ? (resolved.connector.completionDetailsRequired ?? [])
      : [];
    if (needed.length > 0 && !needed.some((key) => details[key])) return false;
    await refuseEndlessReturns(row, challenge);
    let started: AuthenticationStart;
    try {
      started = await db.transaction().execute((tx) => beginAuthentication(tx, ctx, row.id));
    } catch (error) {
      // Another request began the completion first (a reload, a double
      // submit): the intent changed under us. Anything else is an error.
      if (error instanceof ApiError && (await changedSince(row))) return true;
      throw error;
    }
    if (started.kind === 'started') await finishAuthentication(ctx, started, details);
    return true;
  }

  async function changedSince(row: PaymentIntentsTable): Promise<boolean> {
    const now = await db
      .selectFrom('payment_intents')
      .select('version')
      .where('id', '=', row.id)
      .executeTakeFirst();
    return now !== undefined && now.version !== row.version;
  }

  /**
   * Each return of a customer who has not finished the challenge records one
   * more completion: bounded per challenge, so they never use up the
   * intent's attempts (LIMITS.attemptsPerIntentMax).
   */
  async function refuseEndlessReturns(row: PaymentIntentsTable, challenge: Challenge) {
    const { count } = await db
      .selectFrom('payment_attempts')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('payment_intent_id', '=', row.id)
      .where('operation', '=', 'authenticate')
      .where('id', '>', challenge.rootId)
      .executeTakeFirstOrThrow();
    if (Number(count) >= LIMITS.completionsPerChallengeMax) {
      throw unexpectedState(
        row,
        `This 3-D Secure challenge was returned from ${LIMITS.completionsPerChallengeMax} times without finishing.`,
      );
    }
  }

  async function retryLostCompletion(
    ctx: OpContext,
    row: PaymentIntentsTable,
    details: AuthenticationDetails,
  ): Promise<void> {
    if (Object.keys(details).length === 0 || !row.payment_method_id) return;
    const lost = await db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('payment_intent_id', '=', row.id)
      .where('operation', '=', 'authenticate')
      .where('status', '=', 'unknown')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (!lost) return;
    const resolved = await connectors.resolve(lost.connector);
    if (!resolved.connector.completeAuthentication) return;
    const request = { ...(await completionRequest(db, lost)), details };
    const pm = await vault.retrieve(ctx.scope, row.payment_method_id);
    try {
      await runCompletion(ctx, { attempt: lost, pm, resolved, request });
    } catch (error) {
      // Recovery or a webhook settled it meanwhile.
      if (!(error instanceof AttemptAlreadySettled)) throw error;
    }
  }

  async function failAuthentication(ctx: OpContext, id: string): Promise<IntentResult> {
    return db.transaction().execute(async (tx) => {
      const before = await requireIntent(tx, ctx.scope, id);
      return failChallenge(
        tx,
        ctx,
        before,
        'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
      );
    });
  }

  /** The challenge ends without a payment: requires_payment_method, with the reason. */
  async function failChallenge(
    tx: Tx,
    ctx: OpContext,
    before: PaymentIntentsTable,
    message: string,
  ): Promise<IntentResult> {
    const status = transition(before, 'fail_authentication', 'authenticate');
    const pm = await core.paymentMethodFor(tx, ctx, before, {});
    const lastError = {
      type: 'card_error',
      code: 'payment_intent_authentication_failure',
      message,
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
    returnFromAuthentication,
    retrieve,
    list,
    listAttempts,
    retrieveCharge,
    listCharges,
  };
}
