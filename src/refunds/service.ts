import type { ConnectorOutcome, RefundRequest, RetrieveOutcome } from '../connectors/types.ts';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, type Tx, toJson } from '../db/database.ts';
import { PROCESS_INSTANCE_ID } from '../db/instances.ts';
import type { ChargesTable, PaymentAttemptsTable, RefundsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { BANK_TRANSFER_CONNECTOR } from '../ledger/bank-transfers.ts';
import type { LedgerPostings } from '../ledger/service.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { ConnectorRegistry } from '../payments/connectors.ts';
import { serializeCharge } from '../payments/serialize.ts';
import {
  assertChargeInvariants,
  type EventContext,
  findCharge,
  insertAttempt,
  requireIntent,
  settleAttempt,
} from '../payments/store.ts';
import type { RefundCreateInput, RefundListInput, RefundUpdateInput } from './schemas.ts';
import { type ApiRefund, serializeRefund } from './serialize.ts';

// Refunds. The amount is reserved on the charge first, with one conditional
// UPDATE (amount_refunded + x <= amount_captured, also a CHECK constraint), in
// the same transaction that writes the pending refund and its attempt; only
// then is the processor called. Concurrent refunds can never exceed the
// captured amount, and a refused refund changes nothing.

export function createRefundsService(deps: {
  db: Db;
  clock: Clock;
  events: EventsService;
  connectors: ConnectorRegistry;
  ledger: LedgerPostings;
}) {
  const { db, clock, events, connectors, ledger } = deps;

  async function find(ex: Executor, scope: Scope, id: string) {
    return ex
      .selectFrom('refunds')
      .selectAll()
      .where('id', '=', id)
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope))
      .executeTakeFirst();
  }

  async function chargeToRefund(
    tx: Tx,
    scope: Scope,
    input: RefundCreateInput,
  ): Promise<ChargesTable> {
    if (input.charge === undefined && input.payment_intent === undefined) {
      throw new ApiError('parameter_missing', 'Missing required param: charge or payment_intent.', {
        param: 'charge',
      });
    }
    if (input.charge !== undefined) {
      const charge = await findCharge(tx, scope, input.charge);
      if (!charge) throw notFound('charge', input.charge, 'charge');
      if (input.payment_intent !== undefined && charge.payment_intent_id !== input.payment_intent) {
        throw new ApiError(
          'parameter_invalid',
          'The charge does not belong to this payment_intent.',
          { param: 'charge' },
        );
      }
      if (charge.status !== 'succeeded' || charge.captured !== 1) {
        throw new ApiError(
          'charge_not_refundable',
          `Charge ${charge.id} has not been captured and cannot be refunded.`,
          {
            param: 'charge',
          },
        );
      }
      return charge;
    }
    const intentId = input.payment_intent ?? '';
    const intent = await requireIntent(tx, scope, intentId, 'payment_intent');
    const charge = intent.latest_charge
      ? await findCharge(tx, scope, intent.latest_charge)
      : undefined;
    if (intent.status !== 'succeeded' || !charge || charge.captured !== 1) {
      throw new ApiError(
        'payment_intent_unexpected_state',
        `This PaymentIntent (${intent.id}) does not have a successful charge to refund (status ${intent.status}).`,
        { param: 'payment_intent' },
      );
    }
    return charge;
  }

  /** Reserves `amountMinor` on the charge, atomically; nothing changes when it does not fit. */
  async function reserve(tx: Tx, charge: ChargesTable, amountMinor: number): Promise<void> {
    const result = await tx
      .updateTable('charges')
      .set((eb) => ({ amount_refunded: eb('amount_refunded', '+', amountMinor) }))
      .where('id', '=', charge.id)
      .where((eb) => eb(eb('amount_refunded', '+', amountMinor), '<=', eb.ref('amount_captured')))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new ApiError(
        'refund_amount_too_large',
        `Refund amount (${amountMinor}) is greater than the amount left to refund on charge ${charge.id}.`,
        { param: 'amount' },
      );
    }
  }

  /** Like Stripe: a charge whose funds a dispute withdrew cannot be refunded as well. */
  async function refuseChargedBack(tx: Tx, charge: ChargesTable): Promise<void> {
    const disputed = await tx
      .selectFrom('disputes')
      .select('id')
      .where('charge_id', '=', charge.id)
      .where('is_charge_refundable', '=', 0)
      .executeTakeFirst();
    if (disputed) {
      throw new ApiError(
        'charge_disputed',
        `Charge ${charge.id} has been charged back (dispute ${disputed.id}); it cannot be refunded.`,
        { param: 'charge' },
      );
    }
  }

  async function begin(tx: Tx, ctx: OpContext, input: RefundCreateInput) {
    const charge = await chargeToRefund(tx, ctx.scope, input);
    if (charge.connector === BANK_TRANSFER_CONNECTOR) {
      // The customer paid into the merchant's bank account: no processor holds
      // the money, so only the merchant's own transfer back can return it.
      throw new ApiError(
        'charge_not_refundable',
        `Charge ${charge.id} was paid by bank transfer; return the money with a transfer from your bank account (docs/bank-transfers.md).`,
        { param: 'charge' },
      );
    }
    const remaining = charge.amount_captured - charge.amount_refunded;
    if (remaining === 0) {
      throw new ApiError(
        'charge_already_refunded',
        `Charge ${charge.id} has already been refunded.`,
        { param: 'charge' },
      );
    }
    const amount = input.amount ?? remaining;
    await reserve(tx, charge, amount);
    // Checked under the charge's row lock that reserve() took, which opening a
    // dispute also takes. An inquiry that later escalates to a chargeback does
    // not touch the charge row, so a refund made while the escalation is being
    // recorded is not refused here (docs/disputes.md).
    await refuseChargedBack(tx, charge);
    const count = await tx
      .selectFrom('refunds')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('charge_id', '=', charge.id)
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= LIMITS.refundsPerChargeMax) {
      throw new ApiError(
        'charge_not_refundable',
        `Charge ${charge.id} has reached ${LIMITS.refundsPerChargeMax} refunds.`,
      );
    }
    const refund: RefundsTable = {
      id: newId('re', clock.nowMs()),
      account_id: ctx.scope.accountId,
      livemode: livemodeFlag(ctx.scope),
      payment_intent_id: charge.payment_intent_id,
      charge_id: charge.id,
      amount,
      currency: charge.currency,
      status: 'pending',
      reason: input.reason ?? null,
      failure_reason: null,
      metadata: toJson(mergeMetadata({}, input.metadata)),
      created: unixSeconds(clock),
      balance_transaction: null,
    };
    await tx.insertInto('refunds').values(refund).execute();
    const attempt = newRefundAttempt(refund, charge);
    await insertAttempt(tx, attempt);
    await ctx.checkpoint(tx, refund.id);
    return { refund, attempt, paymentReference: charge.connector_reference ?? '' };
  }

  function newRefundAttempt(refund: RefundsTable, charge: ChargesTable): PaymentAttemptsTable {
    return {
      id: newId('pa', clock.nowMs()),
      account_id: refund.account_id,
      livemode: refund.livemode,
      payment_intent_id: refund.payment_intent_id,
      operation: 'refund',
      connector: charge.connector,
      connector_reference: null,
      status: 'pending',
      amount: refund.amount,
      currency: refund.currency,
      error_code: null,
      decline_code: null,
      error_message: null,
      routing_reason: 'same_connector_as_charge',
      latency_ms: null,
      refund_id: refund.id,
      instance_id: PROCESS_INSTANCE_ID,
      created_ms: clock.nowMs(),
      completed_ms: null,
      unknown_at_ms: null,
      resolution: null,
      reverses_attempt_id: null,
    };
  }

  async function create(ctx: OpContext, input: RefundCreateInput): Promise<ApiRefund> {
    const begun = await db.transaction().execute((tx) => begin(tx, ctx, input));
    const resolved = await connectors.resolve(begun.attempt.connector);
    const request = refundRequest(begun.attempt, begun.paymentReference);
    const { outcome, latencyMs } = await connectors.call(resolved, null, (connector, signal) =>
      connector.refund(request, signal),
    );
    return db.transaction().execute(async (tx) => {
      const result = await settle(tx, ctx, { attempt: begun.attempt, outcome, latencyMs });
      await ctx.complete(tx, result);
      return result;
    });
  }

  /** Phase two: the processor's answer on the attempt, the refund and the charge. Recovery calls it too. */
  async function settle(
    tx: Tx,
    ctx: EventContext,
    input: {
      attempt: PaymentAttemptsTable;
      outcome: ConnectorOutcome | RetrieveOutcome;
      latencyMs: number | null;
    },
  ): Promise<ApiRefund> {
    const attempt = await settleAttempt(tx, input.attempt, input.outcome, {
      latencyMs: input.latencyMs,
      nowMs: clock.nowMs(),
    });
    assert(attempt.refund_id !== null, `refund attempt ${attempt.id} names its refund`);
    const before = await find(tx, ctx.scope, attempt.refund_id);
    assert(
      before !== undefined && before.status === 'pending',
      `refund ${attempt.refund_id} is pending`,
    );
    if (attempt.status === 'unknown') return serializeRefund(before);
    const succeeded = attempt.status === 'succeeded';
    if (!succeeded) await release(tx, before);
    let after: RefundsTable = {
      ...before,
      status: succeeded ? 'succeeded' : 'failed',
      failure_reason: succeeded ? null : 'unknown',
    };
    await tx.updateTable('refunds').set(after).where('id', '=', after.id).execute();
    const charge = await findCharge(tx, ctx.scope, after.charge_id);
    assert(charge !== undefined, `charge ${after.charge_id} exists`);
    assertChargeInvariants(charge);
    if (succeeded) after = await postAndLink(tx, after, charge);
    const refund = serializeRefund(after);
    await events.record(
      tx,
      ctx,
      succeeded
        ? [
            { type: 'refund.created', object: refund },
            { type: 'charge.refunded', object: serializeCharge(charge) },
          ]
        : [{ type: 'refund.failed', object: refund }],
    );
    return refund;
  }

  /** Posts a succeeded refund and links its balance transaction, in the caller's transaction. */
  async function postAndLink(tx: Tx, refund: RefundsTable, charge: ChargesTable) {
    const txn = await ledger.postRefund(tx, refund, charge);
    const result = await tx
      .updateTable('refunds')
      .set({ balance_transaction: txn.id })
      .where('id', '=', refund.id)
      .where('balance_transaction', 'is', null)
      .executeTakeFirst();
    assert(Number(result.numUpdatedRows) === 1, `${refund.id} is posted once`);
    return { ...refund, balance_transaction: txn.id };
  }

  async function release(tx: Tx, refund: RefundsTable): Promise<void> {
    const result = await tx
      .updateTable('charges')
      .set((eb) => ({ amount_refunded: eb('amount_refunded', '-', refund.amount) }))
      .where('id', '=', refund.charge_id)
      .where('amount_refunded', '>=', refund.amount)
      .executeTakeFirst();
    assert(Number(result.numUpdatedRows) === 1, `refund ${refund.id} was reserved on its charge`);
  }

  async function retrieve(scope: Scope, id: string): Promise<RefundsTable> {
    const row = await find(db, scope, id);
    if (!row) throw notFound('refund', id);
    return row;
  }

  async function update(ctx: OpContext, id: string, input: RefundUpdateInput): Promise<ApiRefund> {
    return db.transaction().execute(async (tx) => {
      const before = await find(tx, ctx.scope, id);
      if (!before) throw notFound('refund', id);
      const after = {
        ...before,
        metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
      };
      await tx
        .updateTable('refunds')
        .set({ metadata: after.metadata })
        .where('id', '=', id)
        .execute();
      const refund = serializeRefund(after);
      if (after.metadata !== before.metadata) {
        const previous = { previousAttributes: { metadata: JSON.parse(before.metadata) } };
        await events.record(tx, ctx, [
          { type: 'refund.updated', object: refund, ...previous },
          { type: 'charge.refund.updated', object: refund, ...previous },
        ]);
      }
      await ctx.complete(tx, refund);
      return refund;
    });
  }

  async function list(scope: Scope, filters: RefundListInput) {
    let query = db
      .selectFrom('refunds')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.charge !== undefined) query = query.where('charge_id', '=', filters.charge);
    if (filters.payment_intent !== undefined)
      query = query.where('payment_intent_id', '=', filters.payment_intent);
    return paginate(query, filters);
  }

  return { create, settle, retrieve, update, list, find };
}

export type RefundsService = ReturnType<typeof createRefundsService>;

export function refundRequest(
  attempt: PaymentAttemptsTable,
  paymentReference: string,
): RefundRequest {
  return {
    reference: attempt.id,
    paymentReference,
    amountMinor: attempt.amount,
    currency: attempt.currency,
  };
}
