import { livemodeFlag, type Scope } from '../db/context.ts';
import type { Db, Executor, Tx } from '../db/database.ts';
import type { LedgerTransactionsTable } from '../db/schema.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import { BANK_TRANSFER_CONNECTOR } from './bank-transfers.ts';
import { type BookingDeps, newTransaction } from './book.ts';
import { DISPUTE_TYPES } from './disputes.ts';
import { post, settlementEntries } from './postings.ts';

// Settlement: balance transactions that are due (available_on ≤ now) move
// from pending to available in batches, one per (account, mode, connector,
// currency) and run. Each batch is one database transaction: the batch row,
// the status flip of its transactions and ONE `settlement` posting, so a
// crash leaves either the whole batch or nothing. Two processes cannot make
// the same batch: the flip is conditional and the batch's cutoff is unique.

export const SETTLEMENT_TYPE = 'settlement';

/** Types that start pending and become available through a settlement batch. */
export const SETTLED_TYPES = [
  'charge',
  'refund',
  'transfer',
  'payment',
  'transfer_refund',
  'payment_refund',
  ...DISPUTE_TYPES,
] as const;

/** Of those, the ones the processor settles: they carry the receivable and its fee. */
export const PROCESSOR_TYPES = ['charge', 'refund', ...DISPUTE_TYPES] as const;

interface Group {
  accountId: string;
  livemode: 0 | 1;
  connectorId: string;
  currency: string;
  txns: LedgerTransactionsTable[];
}

/** True when the database refused a row for a unique index (SQLite or PostgreSQL). */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Another process settled some of these transactions first: roll back, retry on the next run. */
class LostRace extends Error {}

/**
 * The connector of a transaction written before connector_id existed (0006):
 * its charge's, found through the charge or the refund that caused it.
 */
async function legacyConnector(ex: Executor, txn: LedgerTransactionsTable): Promise<string> {
  const viaCharge = await ex
    .selectFrom('charges')
    .select('connector')
    .where('id', '=', txn.source)
    .executeTakeFirst();
  if (viaCharge) return viaCharge.connector;
  const viaRefund = await ex
    .selectFrom('refunds as r')
    .innerJoin('charges as c', 'c.id', 'r.charge_id')
    .select('c.connector')
    .where('r.id', '=', txn.source)
    .executeTakeFirst();
  assert(viaRefund !== undefined, `transaction ${txn.id} names its charge or refund`);
  return viaRefund.connector;
}

export function createSettlement(deps: BookingDeps & { db: Db }) {
  const { db } = deps;

  async function dueGroups(nowSeconds: number, scope?: Scope): Promise<Group[]> {
    let query = db
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('status', '=', 'pending')
      .where('available_on', '<=', nowSeconds)
      .where('settlement_batch_id', 'is', null)
      .where('type', 'in', [...SETTLED_TYPES]);
    if (scope) {
      query = query
        .where('account_id', '=', scope.accountId)
        .where('livemode', '=', livemodeFlag(scope));
    }
    const due = await query.orderBy('id').limit(LIMITS.ledgerReleaseBatchMax).execute();
    const groups = new Map<string, Group>();
    for (const txn of due) {
      const connectorId = txn.connector_id ?? (await legacyConnector(db, txn));
      const key = [txn.account_id, txn.livemode, connectorId, txn.currency].join('|');
      const group = groups.get(key) ?? {
        accountId: txn.account_id,
        livemode: txn.livemode,
        connectorId,
        currency: txn.currency,
        txns: [],
      };
      group.txns.push(txn);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  /** Sums of a batch: the processor's gross and fee, the merchant's nets. */
  function totals(txns: readonly LedgerTransactionsTable[]) {
    const processorTypes: readonly string[] = PROCESSOR_TYPES;
    let grossMinor = 0;
    let feeMinor = 0;
    let netsMinor = 0;
    for (const txn of txns) {
      netsMinor += Number(txn.net);
      if (!processorTypes.includes(txn.type)) continue;
      // A bank transfer's cash was booked when it arrived: no processor side (bank-transfers.ts).
      if (txn.connector_id === BANK_TRANSFER_CONNECTOR) continue;
      grossMinor += Number(txn.amount);
      feeMinor += Number(txn.fee);
    }
    for (const n of [grossMinor, feeMinor, netsMinor]) assertSafeInteger(n, 'batch total');
    return { grossMinor, feeMinor, netsMinor };
  }

  /**
   * The batch's cutoff: now, or one second after the group's last batch when
   * that one already used this second, so the unique cutoff never collides
   * inside one process and a race between two processes has one winner.
   */
  async function nextCutoff(tx: Tx, group: Group, nowSeconds: number): Promise<number> {
    const last = await tx
      .selectFrom('settlement_batches')
      .select((eb) => eb.fn.max('cutoff').as('cutoff'))
      .where('account_id', '=', group.accountId)
      .where('livemode', '=', group.livemode)
      .where('connector_id', '=', group.connectorId)
      .where('currency', '=', group.currency)
      .executeTakeFirst();
    const lastCutoff = last?.cutoff === null || last?.cutoff === undefined ? null : last.cutoff;
    return lastCutoff === null ? nowSeconds : Math.max(nowSeconds, Number(lastCutoff) + 1);
  }

  async function settleGroup(tx: Tx, group: Group, nowSeconds: number): Promise<void> {
    const { grossMinor, feeMinor, netsMinor } = totals(group.txns);
    const batchId = newId('stb', deps.clock.nowMs());
    await tx
      .insertInto('settlement_batches')
      .values({
        id: batchId,
        account_id: group.accountId,
        livemode: group.livemode,
        connector_id: group.connectorId,
        currency: group.currency,
        cutoff: await nextCutoff(tx, group, nowSeconds),
        gross: grossMinor,
        fee: feeMinor,
        net: grossMinor - feeMinor,
        count: group.txns.length,
        status: 'settled',
        reference: `PAYRAIL ${batchId}`,
        created: unixSeconds(deps.clock),
      })
      .execute();
    const ids = group.txns.map((t) => t.id);
    const flipped = await tx
      .updateTable('ledger_transactions')
      .set({ status: 'available', settlement_batch_id: batchId, connector_id: group.connectorId })
      .where('id', 'in', ids)
      .where('status', '=', 'pending')
      .where('settlement_batch_id', 'is', null)
      .executeTakeFirst();
    if (Number(flipped.numUpdatedRows) !== ids.length) throw new LostRace();
    const txn = newTransaction(
      deps,
      { account_id: group.accountId, livemode: group.livemode, currency: group.currency },
      {
        type: SETTLEMENT_TYPE,
        reporting_category: SETTLEMENT_TYPE,
        source: batchId,
        description: `Settlement ${batchId} (${group.connectorId})`,
        amount: grossMinor,
        fee: feeMinor,
        status: 'available',
        available_on: unixSeconds(deps.clock),
        connector_id: group.connectorId,
        settlement_batch_id: batchId,
      },
    );
    const scope = {
      accountId: group.accountId,
      livemode: group.livemode,
      currency: group.currency,
    };
    await post(
      tx,
      txn,
      settlementEntries({ scope, connectorId: group.connectorId, netsMinor, grossMinor, feeMinor }),
    );
  }

  /**
   * One pass: settles what is due by `nowSeconds` (of one scope, or all),
   * bounded by LIMITS.ledgerReleaseBatchMax transactions. A group another
   * process is settling at the same time is left for the next pass.
   */
  async function settle(input: { nowSeconds: number; scope?: Scope }) {
    let batches = 0;
    let transactions = 0;
    for (const group of await dueGroups(input.nowSeconds, input.scope)) {
      try {
        await db.transaction().execute((tx) => settleGroup(tx, group, input.nowSeconds));
      } catch (error) {
        if (error instanceof LostRace || isUniqueViolation(error)) continue;
        throw error;
      }
      batches += 1;
      transactions += group.txns.length;
    }
    return { batches, transactions };
  }

  return { settle };
}

/**
 * The engine's background settlement: a pass every `intervalMs`, each
 * settling until nothing is due (at most LIMITS.ledgerSettlePassesMax
 * batches' worth per tick). Passes never overlap; close() waits for the one
 * in flight.
 */
export function createSettlementTimer(deps: {
  settle: (input: { nowSeconds: number }) => Promise<{ transactions: number }>;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
}) {
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> = Promise.resolve();
  async function runOnce(): Promise<void> {
    for (let i = 0; i < LIMITS.ledgerSettlePassesMax; i += 1) {
      const { transactions } = await deps.settle({ nowSeconds: unixSeconds(deps.clock) });
      if (transactions === 0) break;
    }
  }
  const tick = () => {
    pass = pass.then(runOnce).catch((err) => deps.logger.error({ err }, 'settlement pass failed'));
    return pass;
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void tick(), deps.intervalMs);
      timer.unref();
    },
    runOnce: tick,
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await pass;
    },
  };
}
