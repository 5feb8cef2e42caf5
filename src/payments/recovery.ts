import type { RetrieveOutcome, RetrieveRequest } from '../connectors/types.ts';
import { internalContext, type Scope } from '../db/context.ts';
import type { Db, Tx } from '../db/database.ts';
import type { InstanceRegistry } from '../db/instances.ts';
import { PROCESS_INSTANCE_ID } from '../db/instances.ts';
import type { PaymentAttemptsTable, PaymentIntentsTable } from '../db/schema.ts';
import type { IdempotencyStore, StoredResponse } from '../http/idempotency.ts';
import {
  EXTRA_CAPTURE_TYPE,
  postExtraCapture,
  postExtraCaptureReversal,
} from '../ledger/extra-charges.ts';
import { assert } from '../lib/assert.ts';
import type { Clock } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { serializeRefund } from '../refunds/serialize.ts';
import { type RefundsService, refundRequest } from '../refunds/service.ts';
import type { VaultService } from '../vault/types.ts';
import type { ConnectorRegistry } from './connectors.ts';
import { completionOutcome, completionRequest, openChallenge } from './operations.ts';
import { failureOf, respondIntent } from './result.ts';
import { serializeIntent } from './serialize.ts';
import { attemptCaptures, authorizeRequest } from './service.ts';
import type { Settlement } from './settle.ts';
import {
  AttemptAlreadySettled,
  findCharge,
  insertAttempt,
  requireIntent,
  settleAttempt,
} from './store.ts';

// Recovery: finishes work that a process left between "persist" and
// "reconcile". For each attempt still pending (its process died) or unknown
// (the processor's answer was lost) it asks the connector what happened, by
// our reference, and settles it with the same code as the request path. Then
// it answers every idempotency key left in progress for the resource, so a
// client retrying with the same key gets the final result exactly once.

export interface RecoveryDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  vault: VaultService;
  connectors: ConnectorRegistry;
  settlement: Settlement;
  refunds: RefundsService;
  idempotency: IdempotencyStore;
  instances: InstanceRegistry;
  /** As for the payments service: rebuilt authorize requests carry the same return URL. */
  publicUrl?: string | null;
}

function describeNotCharged(outcome: RetrieveOutcome): string {
  if (outcome.status === 'not_found')
    return 'not charged: the processor never received the request';
  if (outcome.status === 'requires_action')
    return 'not charged: authentication was never completed';
  if (outcome.status === 'declined')
    return `not charged: declined (${outcome.declineCode ?? outcome.code})`;
  return `not charged: ${outcome.status}`;
}

async function setResolution(tx: Tx, attemptId: string, resolution: string): Promise<void> {
  await tx
    .updateTable('payment_attempts')
    .set({ resolution })
    .where('id', '=', attemptId)
    .execute();
}

/** The attempt that undoes an extra charge found on `settled` (same connector, same amount). */
function reverseAttempt(settled: PaymentAttemptsTable, nowMs: number): PaymentAttemptsTable {
  return {
    ...settled,
    id: newId('pa', nowMs),
    operation: 'reverse',
    connector_reference: null,
    status: 'pending',
    error_code: null,
    decline_code: null,
    error_message: null,
    routing_reason: `reverses the extra charge of ${settled.id}`,
    latency_ms: null,
    refund_id: null,
    instance_id: PROCESS_INSTANCE_ID,
    created_ms: nowMs,
    completed_ms: null,
    unknown_at_ms: null,
    resolution: null,
    reverses_attempt_id: settled.id,
    captures: null,
  };
}

/** Whether a succeeded authorize captured the money too (else it is an authorization to void). */

const scopeOf = (a: PaymentAttemptsTable): Scope => ({
  accountId: a.account_id,
  livemode: a.livemode === 1,
});

export function createRecovery(deps: RecoveryDeps) {
  const { db, clock, logger, vault, connectors, settlement, refunds, idempotency, instances } =
    deps;

  /** The request `attempt` sent, rebuilt from stored rows, for `retrieve`. */
  async function originalRequest(a: PaymentAttemptsTable): Promise<RetrieveRequest> {
    const scope = scopeOf(a);
    const intent = await requireIntent(db, scope, a.payment_intent_id);
    if (a.operation === 'authorize' || a.operation === 'authenticate') {
      assert(
        intent.payment_method_id !== null,
        `${intent.id} has its payment method while processing`,
      );
      const pm = await vault.retrieve(scope, intent.payment_method_id);
      return {
        reference: a.id,
        operation: 'authorize',
        original: authorizeRequest(intent, a, vault.instrument(pm), deps.publicUrl),
      };
    }
    if (a.operation === 'refund') {
      assert(a.refund_id !== null, `${a.id} names its refund`);
      const refund = await refunds.find(db, scope, a.refund_id);
      const charge = refund ? await findCharge(db, scope, refund.charge_id) : undefined;
      const original = refundRequest(a, charge?.connector_reference ?? '');
      return { reference: a.id, operation: 'refund', original };
    }
    const charge = intent.latest_charge
      ? await findCharge(db, scope, intent.latest_charge)
      : undefined;
    const original = {
      reference: a.id,
      authorizationReference: charge?.connector_reference ?? '',
      amountMinor: a.amount,
      currency: a.currency,
    };
    return a.operation === 'capture'
      ? { reference: a.id, operation: 'capture', original }
      : { reference: a.id, operation: 'void', original };
  }

  async function settle(a: PaymentAttemptsTable, outcome: RetrieveOutcome): Promise<void> {
    const scope = scopeOf(a);
    const ctx = internalContext(scope);
    const input = { attempt: a, outcome, latencyMs: null };
    if (a.operation === 'authorize' || a.operation === 'authenticate') {
      await settleAuthorize(a, outcome);
    } else if (a.operation === 'capture') {
      await db.transaction().execute((tx) => settlement.capture(tx, ctx, input));
    } else if (a.operation === 'void') {
      await db.transaction().execute((tx) => settlement.voided(tx, ctx, input));
    } else {
      await db.transaction().execute((tx) => refunds.settle(tx, ctx, input));
    }
  }

  /**
   * An authorize attempt whose answer was lost. If the intent still waits on
   * it, its answer decides the intent, as on the request path. If the intent
   * moved on (another processor took the payment after a failover, or the
   * payment failed), a charge found here is an extra charge: it is reversed.
   */
  async function settleAuthorize(a: PaymentAttemptsTable, outcome: RetrieveOutcome) {
    const scope = scopeOf(a);
    const intent = await requireIntent(db, scope, a.payment_intent_id);
    const charged = outcome.status === 'succeeded';
    if (intent.status === 'processing' && !(await hasSucceededAuthorize(intent.id))) {
      const pm = await vault.retrieve(scope, intent.payment_method_id ?? '');
      const secondary = (await connectors.config(scope)).secondary_method;
      await db.transaction().execute(async (tx) => {
        const input = { attempt: a, outcome, latencyMs: null, secondary };
        await settlement.authorize(tx, internalContext(scope), pm, input);
        const resolution = charged ? 'charged; kept as the payment' : describeNotCharged(outcome);
        await setResolution(tx, a.id, resolution);
      });
      return;
    }
    const reverse = await db.transaction().execute(async (tx) => {
      const settled = await settleAttempt(tx, a, outcome, {
        latencyMs: null,
        nowMs: clock.nowMs(),
      });
      if (!charged) {
        await setResolution(tx, a.id, describeNotCharged(outcome));
        return null;
      }
      return bookExtraCharge(tx, settled, intent);
    });
    if (reverse) await executeReverse(reverse);
  }

  /**
   * `settled` charged, but the intent does not take it as its payment: write
   * the attempt that reverses it, and book captured money as held by the
   * processor until the refund succeeds.
   */
  async function bookExtraCharge(
    tx: Tx,
    settled: PaymentAttemptsTable,
    intent: PaymentIntentsTable,
  ): Promise<PaymentAttemptsTable> {
    const row = reverseAttempt(settled, clock.nowMs());
    await insertAttempt(tx, row);
    await setResolution(tx, settled.id, `charged; extra charge reversed by ${row.id}`);
    // Captured money now sits at the processor until the refund succeeds: book it.
    // An authorization only (manual capture) moved no money; its void posts nothing.
    if (attemptCaptures(settled, intent)) {
      await postExtraCapture(tx, {
        extra: settled,
        reverseAttemptId: row.id,
        nowMs: clock.nowMs(),
      });
    }
    return row;
  }

  /** Whether a try of the intent charged and is kept as its payment (not reversed as an extra charge). */
  async function hasSucceededAuthorize(intentId: string): Promise<boolean> {
    const row = await db
      .selectFrom('payment_attempts')
      .select('id')
      .where('payment_intent_id', '=', intentId)
      .where('operation', 'in', ['authorize', 'authenticate'])
      .where('status', '=', 'succeeded')
      .where('id', 'not in', (eb) =>
        eb
          .selectFrom('payment_attempts as r')
          .select('r.reverses_attempt_id')
          .where('r.payment_intent_id', '=', intentId)
          .where('r.reverses_attempt_id', 'is not', null)
          .$narrowType<{ reverses_attempt_id: string }>(),
      )
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * A processor's notice says a challenged payment (an attempt still in
   * requires_action) charged; other notices for settled attempts are no news. If the intent still waits on that challenge
   * (its return will complete it) or a completion of it is out or booked,
   * that is not news. Otherwise the intent left the challenge (canceled,
   * confirmed again, another payment method, the challenge failed or no
   * longer matched): the money is an extra charge, reversed like any other.
   */
  async function settleLeftChallenge(
    a: PaymentAttemptsTable,
    outcome: RetrieveOutcome,
  ): Promise<boolean> {
    if (a.status !== 'requires_action' || outcome.status !== 'succeeded') return false;
    if (a.operation !== 'authorize' && a.operation !== 'authenticate') return false;
    const scope = scopeOf(a);
    const intent = await requireIntent(db, scope, a.payment_intent_id);
    const later = await db
      .selectFrom('payment_attempts')
      .select(['id', 'operation', 'status'])
      .where('payment_intent_id', '=', intent.id)
      .where('operation', 'in', ['authorize', 'authenticate'])
      .where('id', '>', a.id)
      .orderBy('id', 'asc')
      .limit(LIMITS.attemptsPerIntentMax)
      .execute();
    // The challenge's own completions: the authenticate attempts right after it.
    const stop = later.findIndex((row) => row.operation !== 'authenticate');
    const chain = stop === -1 ? later : later.slice(0, stop);
    const last = chain.at(-1) ?? a;
    if (['pending', 'unknown', 'succeeded'].includes(last.status)) return false;
    if ((await openChallenge(db, intent))?.id === last.id) return false;
    const nowMs = clock.nowMs();
    const reverse = await db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('payment_attempts')
        .set({ status: 'succeeded', connector_reference: outcome.connectorReference })
        .set({ completed_ms: nowMs, error_code: null, decline_code: null, error_message: null })
        .where('id', '=', a.id)
        .where('status', '=', 'requires_action')
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new AttemptAlreadySettled(a.id);
      const settled: PaymentAttemptsTable = {
        ...a,
        status: 'succeeded',
        connector_reference: outcome.connectorReference,
        completed_ms: nowMs,
        error_code: null,
        decline_code: null,
        error_message: null,
      };
      return bookExtraCharge(tx, settled, intent);
    });
    logger.warn(
      { attempt: a.id, intent: intent.id, reverse: reverse.id },
      'recovery: a challenge the intent had left charged; reversing it',
    );
    await executeReverse(reverse);
    return true;
  }

  /** Voids (authorization only) or refunds (captured) an extra charge; idempotent by the reverse attempt's id. */
  async function executeReverse(r: PaymentAttemptsTable): Promise<boolean> {
    assert(r.reverses_attempt_id !== null, `${r.id} names the attempt it reverses`);
    const scope = scopeOf(r);
    const reversed = await db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('id', '=', r.reverses_attempt_id)
      .executeTakeFirstOrThrow();
    // A reversal undoes exactly the extra charge: same connector, amount and currency.
    assert(
      reversed.status === 'succeeded' &&
        reversed.connector === r.connector &&
        reversed.amount === r.amount &&
        reversed.currency === r.currency,
      `${r.id} reverses exactly the charge of ${reversed.id}`,
    );
    const intent = await requireIntent(db, scope, r.payment_intent_id);
    const reference = reversed.connector_reference ?? '';
    const resolved = await connectors.resolve(r.connector);
    const base = { reference: r.id, amountMinor: r.amount, currency: r.currency };
    let { outcome } = await connectors.call(resolved, null, (connector, signal) =>
      !attemptCaptures(reversed, intent)
        ? connector.void({ ...base, authorizationReference: reference }, signal)
        : connector.refund({ ...base, paymentReference: reference }, signal),
    );
    // A reversal is retried until it succeeds or is refused: never given up as "failed".
    if (outcome.status === 'failed_retryable')
      outcome = { status: 'unknown', reason: outcome.message };
    if (outcome.status === 'declined')
      logger.error(
        { attempt: r.id, code: outcome.code },
        'recovery: extra charge reversal refused',
      );
    const final = outcome;
    await db.transaction().execute(async (tx) => {
      const settled = await settleAttempt(tx, r, final, { latencyMs: null, nowMs: clock.nowMs() });
      if (settled.status === 'succeeded' && attemptCaptures(reversed, intent))
        await postRefundedExtra(tx, { reversed, reverse: settled });
    });
    return final.status !== 'unknown';
  }

  /**
   * The refund of an extra capture succeeded: the processor no longer holds
   * it. A reversal recorded before extra captures were booked has no
   * `extra_capture` yet; it gets one here, so the pair still nets to zero.
   */
  async function postRefundedExtra(
    tx: Tx,
    input: { reversed: PaymentAttemptsTable; reverse: PaymentAttemptsTable },
  ): Promise<void> {
    const nowMs = clock.nowMs();
    const booked = await tx
      .selectFrom('ledger_transactions')
      .select('id')
      .where('source', '=', input.reversed.id)
      .where('type', '=', EXTRA_CAPTURE_TYPE)
      .executeTakeFirst();
    if (!booked) {
      const reverseAttemptId = input.reverse.id;
      await postExtraCapture(tx, { extra: input.reversed, reverseAttemptId, nowMs });
    }
    await postExtraCaptureReversal(tx, { reverse: input.reverse, nowMs });
  }

  async function recoverAttempt(a: PaymentAttemptsTable): Promise<boolean> {
    if (a.operation === 'reverse') return executeReverse(a);
    const { connector, timeoutMs } = await connectors.resolve(a.connector);
    // A 3-D Secure completion is asked again as such (a replayed authorize
    // under its reference would be a new payment at the processor).
    const complete = a.operation === 'authenticate' ? connector.completeAuthentication : undefined;
    let outcome: RetrieveOutcome;
    try {
      // A completion's failed_retryable (429, refused connection, 401) says
      // nothing about the payment already at that processor: unknown, as on
      // the request path.
      outcome = complete
        ? completionOutcome(
            await complete(await completionRequest(db, a), AbortSignal.timeout(timeoutMs)),
          )
        : await connector.retrieve(await originalRequest(a), AbortSignal.timeout(timeoutMs));
    } catch (error) {
      logger.warn({ attempt: a.id, err: error }, 'recovery: retrieve failed; will retry');
      return false;
    }
    if (outcome.status === 'unknown') {
      // Left pending by a dead process: unknown, so the customer's next return can ask again.
      if (complete && a.status === 'pending') {
        const lost = outcome;
        const nowMs = clock.nowMs();
        await db
          .transaction()
          .execute((tx) => settleAttempt(tx, a, lost, { latencyMs: null, nowMs }));
      }
      return false;
    }
    await settle(a, outcome);
    return true;
  }

  async function responseFor(resourceId: string, scope: Scope): Promise<StoredResponse> {
    if (resourceId.startsWith('re_')) {
      const refund = await refunds.find(db, scope, resourceId);
      assert(refund !== undefined, `refund ${resourceId} exists`);
      return { status: 200, body: serializeRefund(refund) };
    }
    const intent = await requireIntent(db, scope, resourceId);
    const attempt = await db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('payment_intent_id', '=', resourceId)
      .where('operation', '!=', 'refund')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    // Only a payment that ended failed answers with its last failure: after a
    // failover, an earlier failed try of a payment that succeeded is not the answer.
    const failed = intent.status === 'requires_payment_method';
    const failure = attempt && failed ? failureOf(attempt, intent.latest_charge) : null;
    return respondIntent({ intent: serializeIntent(intent), failure });
  }

  /** Keys whose work committed but whose answer never did: answer them now, if the work is settled. */
  async function finishKeys(): Promise<number> {
    const rows = await db
      .selectFrom('idempotency_keys')
      .select('recovery_resource')
      .where('status', '=', 'in_progress')
      .where('recovery_resource', 'is not', null)
      .limit(LIMITS.recoveryBatchMax)
      .execute();
    let finished = 0;
    for (const { recovery_resource: resource } of rows) {
      if (resource === null) continue;
      const column = resource.startsWith('re_') ? 'refund_id' : 'payment_intent_id';
      const open = await db
        .selectFrom('payment_attempts')
        .select('id')
        .where(column, '=', resource)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (open) continue;
      finished += await idempotency.completeRecovered(resource, (scope) =>
        responseFor(resource, scope),
      );
    }
    return finished;
  }

  /**
   * Whether a pending attempt was left by a process that is gone. Attempts name
   * their process; older rows without one count as abandoned once they are
   * older than LIMITS.pendingAttemptStaleMs.
   */
  async function abandoned(a: PaymentAttemptsTable): Promise<boolean> {
    if (a.instance_id !== null) return !(await instances.isAlive(a.instance_id));
    return a.created_ms < clock.nowMs() - LIMITS.pendingAttemptStaleMs;
  }

  /**
   * A processor's webhook told us the outcome of one of our requests. Only an
   * attempt whose outcome is unknown takes it: a pending attempt belongs to a
   * request still in flight, which settles it itself.
   */
  async function settleNotice(
    connectorId: string,
    reference: string,
    outcome: RetrieveOutcome,
  ): Promise<'settled' | 'ignored'> {
    const attempt = await db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('id', '=', reference)
      .where('connector', '=', connectorId)
      .executeTakeFirst();
    if (!attempt || attempt.operation === 'reverse') return 'ignored';
    try {
      if (attempt.status === 'unknown') await settle(attempt, outcome);
      else if (!(await settleLeftChallenge(attempt, outcome))) return 'ignored';
    } catch (error) {
      if (error instanceof AttemptAlreadySettled) return 'ignored';
      throw error;
    }
    await finishKeys();
    return 'settled';
  }

  /** One recovery pass: unknown attempts, and pending attempts whose process died. */
  async function run(): Promise<{ settled: number; keys: number }> {
    const candidates = await db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('status', 'in', ['unknown', 'pending'])
      .orderBy('created_ms', 'asc')
      .limit(LIMITS.recoveryBatchMax)
      .execute();
    const attempts: PaymentAttemptsTable[] = [];
    for (const a of candidates) {
      if (a.status === 'unknown' || (await abandoned(a))) attempts.push(a);
    }
    let settled = 0;
    for (const attempt of attempts) {
      try {
        if (await recoverAttempt(attempt)) settled += 1;
      } catch (error) {
        if (error instanceof AttemptAlreadySettled) continue;
        logger.error({ attempt: attempt.id, err: error }, 'recovery: could not settle attempt');
      }
    }
    const keys = await finishKeys();
    if (settled + keys > 0)
      logger.info({ settled, keys }, 'recovery: finished interrupted payments');
    return { settled, keys };
  }

  return { run, settleNotice };
}

export type Recovery = ReturnType<typeof createRecovery>;
