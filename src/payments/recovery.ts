import type { RetrieveOutcome, RetrieveRequest } from '../connectors/types.ts';
import { internalContext, type Scope } from '../db/context.ts';
import type { Db } from '../db/database.ts';
import type { InstanceRegistry } from '../db/instances.ts';
import type { PaymentAttemptsTable } from '../db/schema.ts';
import type { IdempotencyStore, StoredResponse } from '../http/idempotency.ts';
import { assert } from '../lib/assert.ts';
import type { Clock } from '../lib/clock.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { serializeRefund } from '../refunds/serialize.ts';
import { type RefundsService, refundRequest } from '../refunds/service.ts';
import type { VaultService } from '../vault/types.ts';
import type { ConnectorRegistry } from './connectors.ts';
import { failureOf, respondIntent } from './result.ts';
import { serializeIntent } from './serialize.ts';
import { authorizeRequest } from './service.ts';
import type { Settlement } from './settle.ts';
import { AttemptAlreadySettled, findCharge, requireIntent } from './store.ts';

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
}

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
        original: authorizeRequest(intent, a, vault.instrument(pm)),
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
      const intent = await requireIntent(db, scope, a.payment_intent_id);
      const pm = await vault.retrieve(scope, intent.payment_method_id ?? '');
      await db.transaction().execute((tx) => settlement.authorize(tx, ctx, pm, input));
    } else if (a.operation === 'capture') {
      await db.transaction().execute((tx) => settlement.capture(tx, ctx, input));
    } else if (a.operation === 'void') {
      await db.transaction().execute((tx) => settlement.voided(tx, ctx, input));
    } else {
      await db.transaction().execute((tx) => refunds.settle(tx, ctx, input));
    }
  }

  async function recoverAttempt(a: PaymentAttemptsTable): Promise<boolean> {
    const connector = connectors.byName(a.connector);
    const request = await originalRequest(a);
    let outcome: RetrieveOutcome;
    try {
      outcome = await connector.retrieve(request, AbortSignal.timeout(LIMITS.connectorTimeoutMs));
    } catch (error) {
      logger.warn({ attempt: a.id, err: error }, 'recovery: retrieve failed; will retry');
      return false;
    }
    if (outcome.status === 'unknown') return false;
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
    const failure = attempt ? failureOf(attempt, intent.latest_charge) : null;
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

  return { run };
}

export type Recovery = ReturnType<typeof createRecovery>;
