import type { ConnectorOutcome, RetrieveOutcome } from '../connectors/types.ts';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import type { Executor, Tx } from '../db/database.ts';
import { insertRows, selectRow, updateRows } from '../db/insert.ts';
import { PROCESS_INSTANCE_ID } from '../db/instances.ts';
import type { ChargesTable, PaymentAttemptsTable, PaymentIntentsTable } from '../db/schema.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { serializeIntent } from './serialize.ts';
import {
  type IntentAction,
  type IntentStatus,
  isIntentStatus,
  nextStatus,
} from './state-machine.ts';

// Row access for intents, attempts and charges, with the money invariants
// asserted on every write and optimistic concurrency on intents.

export async function findIntent(ex: Executor, scope: Scope, id: string) {
  return selectRow(ex, 'payment_intents', {
    id,
    account_id: scope.accountId,
    livemode: livemodeFlag(scope),
  });
}

export async function requireIntent(ex: Executor, scope: Scope, id: string, param = 'intent') {
  const row = await findIntent(ex, scope, id);
  if (!row) throw notFound('payment_intent', id, param);
  return row;
}

export async function findCharge(ex: Executor, scope: Scope, id: string) {
  return selectRow(ex, 'charges', {
    id,
    account_id: scope.accountId,
    livemode: livemodeFlag(scope),
  });
}

export function intentStatus(row: PaymentIntentsTable): IntentStatus {
  assert(isIntentStatus(row.status), `intent ${row.id} has unknown status ${row.status}`);
  return row.status;
}

export function unexpectedState(row: PaymentIntentsTable, message: string): ApiError {
  return new ApiError('payment_intent_unexpected_state', message, {
    extra: { payment_intent: serializeIntent(row) },
  });
}

/** The status after `action`, or the Stripe error naming the current status. */
export function transition(
  row: PaymentIntentsTable,
  action: IntentAction,
  verb: string,
): IntentStatus {
  const next = nextStatus(intentStatus(row), action);
  if (next === null) {
    throw unexpectedState(
      row,
      `You cannot ${verb} this PaymentIntent because it has a status of ${row.status}.`,
    );
  }
  return next;
}

export function assertIntentInvariants(row: PaymentIntentsTable): void {
  for (const [name, value] of [
    ['amount', row.amount],
    ['amount_capturable', row.amount_capturable],
    ['amount_received', row.amount_received],
  ] as const) {
    assertSafeInteger(value, `${row.id}.${name}`);
    assert(value >= 0, `${row.id}.${name} is not negative`);
  }
  assert(row.amount_received <= row.amount, `${row.id}: amount_received <= amount`);
  assert(row.amount_capturable <= row.amount, `${row.id}: amount_capturable <= amount`);
}

export function assertChargeInvariants(row: ChargesTable): void {
  assertSafeInteger(row.amount, `${row.id}.amount`);
  assertSafeInteger(row.amount_captured, `${row.id}.amount_captured`);
  assertSafeInteger(row.amount_refunded, `${row.id}.amount_refunded`);
  assert(row.amount_refunded >= 0, `${row.id}: amount_refunded >= 0`);
  assert(
    row.amount_refunded <= row.amount_captured,
    `${row.id}: amount_refunded <= amount_captured`,
  );
  assert(row.amount_captured <= row.amount, `${row.id}: amount_captured <= amount`);
}

/** Writes `after` only if nobody changed the intent since `before` was read. */
export async function saveIntent(tx: Tx, before: PaymentIntentsTable, after: PaymentIntentsTable) {
  assertIntentInvariants(after);
  const next = { ...after, version: before.version + 1 };
  const updated = await updateRows(tx, 'payment_intents', changedColumns(before, next), {
    id: before.id,
    version: before.version,
  });
  if (updated !== 1) {
    throw unexpectedState(before, 'This PaymentIntent was changed by another request; retry.');
  }
  return next;
}

export async function insertIntent(tx: Tx, row: PaymentIntentsTable) {
  assertIntentInvariants(row);
  await insertRows(tx, 'payment_intents', [row]);
  return row;
}

export async function insertCharge(tx: Tx, row: ChargesTable): Promise<void> {
  assertChargeInvariants(row);
  await insertRows(tx, 'charges', [row]);
}

export async function updateCharge(tx: Tx, before: ChargesTable, row: ChargesTable): Promise<void> {
  assertChargeInvariants(row);
  const changes = changedColumns(before, row);
  if (Object.keys(changes).length === 0) return;
  await updateRows(tx, 'charges', changes, { id: row.id });
}

/**
 * The columns whose values differ: an UPDATE that sets only those leaves the
 * indexes of unchanged columns alone (SQLite rewrites every index whose column
 * appears in SET, changed or not).
 */
export function changedColumns<Row extends object>(before: Row, after: Row): Partial<Row> {
  const changes: Partial<Row> = {};
  for (const key of Object.keys(after) as Array<keyof Row>) {
    if (after[key] !== before[key]) changes[key] = after[key];
  }
  return changes;
}

/** Links a captured charge to the balance transaction of its posting (same transaction). */
export async function linkChargeBalanceTransaction(tx: Tx, chargeId: string, txnId: string) {
  const updated = await updateRows(
    tx,
    'charges',
    { balance_transaction: txnId },
    { id: chargeId, balance_transaction: null },
  );
  assert(updated === 1, `${chargeId} is posted once`);
}

export async function insertAttempt(tx: Tx, row: PaymentAttemptsTable): Promise<void> {
  assertSafeInteger(row.amount, `${row.id}.amount`);
  assert(row.status === 'pending', 'attempts are written pending, before the call');
  assert(row.instance_id === PROCESS_INSTANCE_ID, 'attempts name the process that makes the call');
  await insertRows(tx, 'payment_attempts', [row]);
}

export async function countAttempts(ex: Executor, intentId: string): Promise<number> {
  const row = await ex
    .selectFrom('payment_attempts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('payment_intent_id', '=', intentId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Raised when another process already settled the attempt: this one must not. */
export class AttemptAlreadySettled extends Error {
  override name = 'AttemptAlreadySettled';
}

/**
 * Records the connector's answer on a pending or unknown attempt. The WHERE on
 * status makes settlement happen once, even if recovery and the request race.
 */
export async function settleAttempt(
  tx: Tx,
  attempt: PaymentAttemptsTable,
  outcome: ConnectorOutcome | RetrieveOutcome,
  options: { latencyMs: number | null; nowMs: number },
): Promise<PaymentAttemptsTable> {
  const fields = attemptFields(outcome);
  const settled: PaymentAttemptsTable = {
    ...attempt,
    ...fields,
    latency_ms: options.latencyMs ?? attempt.latency_ms,
    completed_ms: fields.status === 'unknown' ? null : options.nowMs,
    unknown_at_ms:
      fields.status === 'unknown'
        ? (attempt.unknown_at_ms ?? options.nowMs)
        : attempt.unknown_at_ms,
  };
  const updated = await updateRows(
    tx,
    'payment_attempts',
    // `status` always: the row must be matched even when nothing else changes.
    { ...changedColumns(attempt, settled), status: settled.status },
    { id: attempt.id, status: ['pending', 'unknown'] },
  );
  if (updated !== 1) throw new AttemptAlreadySettled(attempt.id);
  return settled;
}

function attemptFields(outcome: ConnectorOutcome | RetrieveOutcome) {
  switch (outcome.status) {
    case 'succeeded':
    case 'requires_action':
      return {
        status: outcome.status,
        connector_reference: outcome.connectorReference,
        error_code: null,
        decline_code: null,
        error_message: null,
      };
    case 'declined':
      return {
        status: outcome.status,
        connector_reference: outcome.connectorReference,
        error_code: outcome.code,
        decline_code: outcome.declineCode,
        error_message: outcome.message,
      };
    case 'failed_retryable':
      return {
        status: outcome.status,
        connector_reference: null,
        error_code: outcome.code,
        decline_code: null,
        error_message: outcome.message,
      };
    case 'not_found':
      return {
        status: 'failed_retryable' as const,
        connector_reference: null,
        error_code: 'processing_error',
        decline_code: null,
        error_message: 'The processor never received this request.',
      };
    case 'unknown':
      return {
        status: outcome.status,
        connector_reference: null,
        error_code: null,
        decline_code: null,
        error_message: outcome.reason.slice(0, 500),
      };
    default: {
      const never: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
    }
  }
}

export type EventContext = Pick<OpContext, 'scope' | 'requestId' | 'idempotencyKey'>;
