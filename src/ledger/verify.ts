import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';
import { fundsMovesFor, isDisputeStatus } from '../disputes/states.ts';
import { LIMITS } from '../lib/limits.ts';
import { BANK_TRANSFER_CONNECTOR } from './bank-transfers.ts';
import { DISPUTE_MOVEMENTS, DISPUTE_TYPES } from './disputes.ts';
import {
  BALANCE_TRANSACTION_TYPES,
  PAYOUT_PAID_TYPE,
  PAYOUT_TYPES,
  RELEASE_TYPE,
} from './service.ts';
import { PROCESSOR_TYPES, SETTLED_TYPES, SETTLEMENT_TYPE } from './settle.ts';
import { BANK_TRANSFER_TYPES, checkBankTransfers } from './verify-bank-transfers.ts';
import { checkExtraCaptures, EXTRA_TYPES } from './verify-extra-charges.ts';

// `payrail ledger verify`: re-derives every invariant of the books from the
// rows, over every account and mode. It only reads; what it finds wrong it
// reports, it never fixes (a correction is a new reversing posting, made by
// a person who knows why the books are wrong).

export interface VerifyReport {
  ok: boolean;
  counts: { transactions: number; entries: number; accounts: number };
  /** Every problem found, counted; only the first LIMITS.ledgerVerifyProblemsMax are listed. */
  problemCount: number;
  problems: string[];
  /** Not problems: money still on its way (extra captures awaiting their refund), first few listed. */
  openCount: number;
  open: string[];
  /**
   * Not problems: intents holding bank transfers no charge applied (partly
   * funded, or canceled / paid another way: owed back to the customer), first few listed.
   */
  unappliedCount: number;
  unapplied: string[];
}

type Row = Record<string, unknown>;

async function rows(ex: Executor, query: ReturnType<typeof sql>): Promise<Row[]> {
  return (await query.execute(ex)).rows as Row[];
}

const num = (value: unknown) => Number(value ?? 0);

/** (1) each transaction's entries sum to zero per currency, and it has entries at all. */
async function checkTransactions(ex: Executor, report: (p: string) => void) {
  for (const r of await rows(
    ex,
    sql`SELECT transaction_id, currency, SUM(amount) AS total FROM ledger_entries
        GROUP BY transaction_id, currency HAVING SUM(amount) <> 0`,
  )) {
    report(`transaction ${r.transaction_id}: ${r.currency} entries sum to ${num(r.total)}, not 0`);
  }
  for (const r of await rows(
    ex,
    sql`SELECT t.id FROM ledger_transactions t
        WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)`,
  )) {
    report(`transaction ${r.id} has no entries`);
  }
  for (const r of await rows(
    ex,
    sql`SELECT id, amount, fee, net FROM ledger_transactions WHERE net <> amount - fee`,
  )) {
    report(
      `transaction ${r.id}: net ${num(r.net)} is not amount ${num(r.amount)} - fee ${num(r.fee)}`,
    );
  }
}

/** (2) each stored balance equals the sum of its account's entries. */
async function checkBalances(ex: Executor, report: (p: string) => void) {
  for (const r of await rows(
    ex,
    sql`SELECT id, purpose, balance, total FROM (
          SELECT a.id, a.purpose,
            (SELECT COALESCE(SUM(b.balance), 0) FROM ledger_balances b WHERE b.ledger_account_id = a.id) AS balance,
            (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.ledger_account_id = a.id) AS total
          FROM ledger_accounts a) sums
        WHERE balance <> total`,
  )) {
    if (num(r.balance) !== num(r.total)) {
      report(
        `ledger account ${r.id} (${r.purpose}): stored balance ${num(r.balance)} but entries sum to ${num(r.total)}`,
      );
    }
  }
  for (const r of await rows(
    ex,
    sql`SELECT DISTINCT b.ledger_account_id AS id FROM ledger_balances b
        LEFT JOIN ledger_accounts a ON a.id = b.ledger_account_id WHERE a.id IS NULL`,
  )) {
    report(`balance slots name ledger account ${r.id}, which does not exist`);
  }
  // The merchant's pending and available balances are the nets of its balance
  // transactions in that status (liabilities: credit, so negated).
  const types = sql.join([...BALANCE_TRANSACTION_TYPES]);
  for (const r of await rows(
    ex,
    sql`SELECT a.id, a.purpose,
          (SELECT COALESCE(SUM(b.balance), 0) FROM ledger_balances b WHERE b.ledger_account_id = a.id) AS balance,
          (SELECT COALESCE(SUM(t.net), 0) FROM ledger_transactions t
            WHERE t.account_id = a.account_id AND t.livemode = a.livemode
              AND t.currency = a.currency AND t.type IN (${types})
              AND t.status = CASE a.purpose WHEN 'merchant_pending' THEN 'pending' ELSE 'available' END
          ) AS nets
        FROM ledger_accounts a WHERE a.purpose IN ('merchant_pending', 'merchant_available')`,
  )) {
    if (num(r.balance) !== -num(r.nets)) {
      report(
        `ledger account ${r.id} (${r.purpose}): balance ${num(r.balance)} does not match its balance transactions (nets ${num(r.nets)})`,
      );
    }
  }
}

/** (3) every captured charge and succeeded refund is posted, for exactly its amount. */
async function checkCausesPosted(ex: Executor, report: (p: string) => void) {
  // With a conversion the txn is in the settlement currency; source_* carry the charge's own.
  for (const r of await rows(
    ex,
    sql`SELECT c.id, c.amount_captured, c.currency, t.id AS txn,
          COALESCE(t.source_amount, t.amount) AS amount, COALESCE(t.source_currency, t.currency) AS txn_currency
        FROM charges c LEFT JOIN ledger_transactions t ON t.source = c.id AND t.type = 'charge'
        WHERE c.amount_captured > 0
          AND (t.id IS NULL OR COALESCE(t.source_amount, t.amount) <> c.amount_captured
            OR COALESCE(t.source_currency, t.currency) <> c.currency)`,
  )) {
    if (r.txn === null)
      report(`charge ${r.id} captured ${num(r.amount_captured)} but has no posting`);
    else
      report(
        `charge ${r.id} captured ${num(r.amount_captured)} ${r.currency} but ${r.txn} posts ${num(r.amount)} ${r.txn_currency}`,
      );
  }
  for (const r of await rows(
    ex,
    sql`SELECT r.id, r.amount, t.id AS txn, COALESCE(t.source_amount, t.amount) AS posted
        FROM refunds r LEFT JOIN ledger_transactions t ON t.source = r.id AND t.type = 'refund'
        WHERE r.status = 'succeeded'
          AND (t.id IS NULL OR COALESCE(t.source_amount, t.amount) <> -r.amount)`,
  )) {
    if (r.txn === null) report(`refund ${r.id} succeeded but has no posting`);
    else report(`refund ${r.id} of ${num(r.amount)} but ${r.txn} posts ${num(r.posted)}`);
  }
  // A fully refunded charge's refunds clear exactly what its capture booked (FX remainders).
  for (const r of await rows(
    ex,
    sql`SELECT c.id, ct.amount AS booked, SUM(-rt.amount) AS refunded
        FROM charges c
        JOIN ledger_transactions ct ON ct.source = c.id AND ct.type = 'charge'
        JOIN refunds r ON r.charge_id = c.id AND r.status = 'succeeded'
        JOIN ledger_transactions rt ON rt.source = r.id AND rt.type = 'refund'
        GROUP BY c.id, ct.amount, c.amount_captured
        HAVING SUM(-rt.amount) > ct.amount
          OR (SUM(r.amount) = c.amount_captured AND SUM(-rt.amount) <> ct.amount)`,
  )) {
    report(`charge ${r.id}: refunds book ${num(r.refunded)} against ${num(r.booked)} captured`);
  }
}

/** (3b) a destination charge has its transfer and payment; each refund of it its reversal pair. */
async function checkSplits(ex: Executor, report: (p: string) => void) {
  const transfers = new Map<string, number>();
  for (const r of await rows(
    ex,
    sql`SELECT c.id, c.account_id, c.transfer_destination AS dest, c.amount_captured,
          COALESCE(c.application_fee_amount, 0) AS fee_app, ct.exchange_rate,
          tr.id AS tr_id, tr.amount AS tr_amount, tr.account_id AS tr_account,
          py.id AS py_id, py.amount AS py_amount, py.account_id AS py_account
        FROM charges c
        LEFT JOIN ledger_transactions ct ON ct.source = c.id AND ct.type = 'charge'
        LEFT JOIN ledger_transactions tr ON tr.source = c.id AND tr.type = 'transfer'
        LEFT JOIN ledger_transactions py ON py.source = c.id AND py.type = 'payment'
        WHERE c.amount_captured > 0 AND c.transfer_destination IS NOT NULL`,
  )) {
    const what = `destination charge ${r.id}`;
    if (r.tr_id === null || r.py_id === null) {
      report(`${what} lacks its ${r.tr_id === null ? 'transfer' : 'payment'} posting`);
      continue;
    }
    transfers.set(String(r.id), -num(r.tr_amount));
    if (r.tr_account !== r.account_id || r.py_account !== r.dest)
      report(`${what}: transfer or payment is booked on the wrong account`);
    if (num(r.py_amount) !== -num(r.tr_amount))
      report(`${what}: payment ${num(r.py_amount)} does not match transfer ${num(r.tr_amount)}`);
    const expected = num(r.amount_captured) - num(r.fee_app);
    if (r.exchange_rate === null && num(r.py_amount) !== expected)
      report(`${what}: transfers ${num(r.py_amount)}, expected ${expected} (amount - fee)`);
  }
  const reversed = new Map<
    string,
    { reversedMinor: number; refundedMinor: number; capturedMinor: number }
  >();
  for (const r of await rows(
    ex,
    sql`SELECT r.id, r.charge_id, r.amount, c.account_id, c.transfer_destination AS dest, c.amount_captured,
          tr.id AS tr_id, tr.amount AS tr_amount, tr.account_id AS tr_account,
          py.id AS py_id, py.amount AS py_amount, py.account_id AS py_account
        FROM refunds r JOIN charges c ON c.id = r.charge_id
        LEFT JOIN ledger_transactions tr ON tr.source = r.id AND tr.type = 'transfer_refund'
        LEFT JOIN ledger_transactions py ON py.source = r.id AND py.type = 'payment_refund'
        WHERE r.status = 'succeeded' AND c.transfer_destination IS NOT NULL`,
  )) {
    const what = `refund ${r.id} of destination charge ${r.charge_id}`;
    if (r.tr_id === null || r.py_id === null) {
      report(`${what} lacks its transfer reversal`);
      continue;
    }
    if (r.tr_account !== r.account_id || r.py_account !== r.dest)
      report(`${what}: reversal is booked on the wrong account`);
    if (num(r.py_amount) !== -num(r.tr_amount) || num(r.tr_amount) < 0)
      report(`${what}: reversal ${num(r.tr_amount)} / ${num(r.py_amount)} do not match`);
    const sums = reversed.get(String(r.charge_id)) ?? {
      reversedMinor: 0,
      refundedMinor: 0,
      capturedMinor: num(r.amount_captured),
    };
    sums.reversedMinor += num(r.tr_amount);
    sums.refundedMinor += num(r.amount);
    reversed.set(String(r.charge_id), sums);
  }
  for (const [chargeId, sums] of reversed) {
    const transferMinor = transfers.get(chargeId) ?? 0;
    const complete = sums.refundedMinor === sums.capturedMinor;
    if (sums.reversedMinor > transferMinor || (complete && sums.reversedMinor !== transferMinor))
      report(`charge ${chargeId}: reversals ${sums.reversedMinor} of a ${transferMinor} transfer`);
  }
}
/** What each payout status requires of its postings: [payout_paid, payout_cancel, payout_failure] counts. */
const PAYOUT_POSTINGS: Record<string, readonly (readonly [number, number, number])[]> = {
  pending: [[0, 0, 0]],
  in_transit: [[0, 0, 0]],
  paid: [[1, 0, 0]],
  canceled: [[0, 1, 0]],
  // A bank return after the payout was paid leaves both.
  failed: [
    [0, 0, 1],
    [1, 0, 1],
  ],
};

/** (3c) every payout has its `payout` posting and the postings its status implies. */
async function checkPayouts(ex: Executor, report: (p: string) => void) {
  const count = (type: string) =>
    sql`(SELECT COUNT(*) FROM ledger_transactions t WHERE t.payout_id = p.id AND t.type = ${type})`;
  for (const r of await rows(
    ex,
    sql`SELECT p.id, p.status, ${count('payout')} AS created, ${count(PAYOUT_PAID_TYPE)} AS paid,
          ${count('payout_cancel')} AS canceled, ${count('payout_failure')} AS failed
        FROM payouts p`,
  )) {
    if (num(r.created) !== 1) report(`payout ${r.id} has ${num(r.created)} payout postings, not 1`);
    const actual = [num(r.paid), num(r.canceled), num(r.failed)];
    const allowed = PAYOUT_POSTINGS[String(r.status)] ?? [];
    if (!allowed.some((want) => want.every((n, i) => n === actual[i])))
      report(
        `payout ${r.id} is ${r.status} but has paid/cancel/failure postings ${actual.join('/')}`,
      );
  }
}

/** (3d) every settlement batch has its posting, and the sums of its transactions match. */
async function checkBatches(ex: Executor, report: (p: string) => void) {
  const processor = sql.join([...PROCESSOR_TYPES]);
  // A bank transfer's cash was booked on arrival: its batch has no processor side.
  const onlyProcessor = sql`AND t.type IN (${processor})
    AND COALESCE(t.connector_id, '') <> ${BANK_TRANSFER_CONNECTOR}`;
  const members = (what: ReturnType<typeof sql>, only?: ReturnType<typeof sql>) =>
    sql`(SELECT COALESCE(${what}, 0) FROM ledger_transactions t
          WHERE t.settlement_batch_id = b.id AND t.type <> ${SETTLEMENT_TYPE}
          ${only ?? sql``})`;
  for (const r of await rows(
    ex,
    sql`SELECT b.id, b.gross, b.fee, b.net, b.count, s.id AS txn, s.amount, s.fee AS txn_fee, s.net AS txn_net,
          ${members(sql`COUNT(*)`)} AS n, ${members(sql`SUM(t.net)`)} AS nets,
          ${members(sql`SUM(t.amount)`, onlyProcessor)} AS gross_sum,
          ${members(sql`SUM(t.fee)`, onlyProcessor)} AS fee_sum
        FROM settlement_batches b
        LEFT JOIN ledger_transactions s ON s.source = b.id AND s.type = ${SETTLEMENT_TYPE}`,
  )) {
    const what = `settlement batch ${r.id}`;
    if (r.txn === null) report(`${what} has no settlement posting`);
    else if (
      [r.amount, r.txn_fee, r.txn_net].some((v, i) => num(v) !== num([r.gross, r.fee, r.net][i]))
    )
      report(`${what}: posting ${r.txn} does not carry the batch's gross, fee and net`);
    if (num(r.n) !== num(r.count)) report(`${what} counts ${num(r.count)} but holds ${num(r.n)}`);
    if (num(r.gross) !== num(r.gross_sum) || num(r.fee) !== num(r.fee_sum))
      report(
        `${what}: gross/fee ${num(r.gross)}/${num(r.fee)} but its transactions sum to ${num(r.gross_sum)}/${num(r.fee_sum)}`,
      );
    if (num(r.net) !== num(r.gross) - num(r.fee)) report(`${what}: net is not gross - fee`);
    await checkBatchEntries(ex, report, { batchId: String(r.id), netsMinor: num(r.nets), row: r });
  }
  for (const r of await rows(
    ex,
    sql`SELECT t.id, t.settlement_batch_id FROM ledger_transactions t
        JOIN settlement_batches b ON b.id = t.settlement_batch_id
        WHERE t.account_id <> b.account_id OR t.livemode <> b.livemode OR t.currency <> b.currency
          OR COALESCE(t.connector_id, '') <> b.connector_id`,
  )) {
    report(`transaction ${r.id} does not belong to the scope of ${r.settlement_batch_id}`);
  }
}

/** The settlement posting's entries per purpose: the nets released, the processor cleared. */
async function checkBatchEntries(
  ex: Executor,
  report: (p: string) => void,
  input: { batchId: string; netsMinor: number; row: Row },
) {
  const totals = new Map<string, number>();
  for (const e of await rows(
    ex,
    sql`SELECT a.purpose, SUM(e.amount) AS total FROM ledger_transactions t
        JOIN ledger_entries e ON e.transaction_id = t.id
        JOIN ledger_accounts a ON a.id = e.ledger_account_id
        WHERE t.source = ${input.batchId} AND t.type = ${SETTLEMENT_TYPE}
        GROUP BY a.purpose`,
  )) {
    totals.set(String(e.purpose), num(e.total));
  }
  const { row } = input;
  const expected: Record<string, number> = {
    merchant_pending: input.netsMinor,
    merchant_available: -input.netsMinor,
    processor_receivable: -num(row.gross),
    processing_fees: num(row.fee),
    cash: num(row.net),
  };
  for (const [purpose, want] of Object.entries(expected)) {
    const got = totals.get(purpose) ?? 0;
    if (got !== want)
      report(`settlement batch ${input.batchId}: ${purpose} moves ${got}, expected ${want}`);
  }
}

/**
 * (3e) every dispute has exactly the movements its status implies, in order
 * (funds withdrawn, reinstated, …), each for the dispute's amount on its account.
 */
async function checkDisputes(ex: Executor, report: (p: string) => void) {
  const posted = new Map<string, Row[]>();
  for (const r of await rows(
    ex,
    sql`SELECT t.source, t.type, t.account_id, COALESCE(t.source_amount, t.amount) AS posted,
          COALESCE(t.source_currency, t.currency) AS posted_currency
        FROM ledger_transactions t WHERE t.type IN (${sql.join(DISPUTE_TYPES)})`,
  )) {
    posted.set(String(r.source), [...(posted.get(String(r.source)) ?? []), r]);
  }
  for (const d of await rows(
    ex,
    sql`SELECT id, account_id, amount, currency, status, cycle, funds_moves FROM disputes`,
  )) {
    const what = `dispute ${d.id}`;
    const moves = num(d.funds_moves);
    const status = String(d.status);
    if (!isDisputeStatus(status)) report(`${what} has unknown status ${status}`);
    else if (fundsMovesFor(status, num(d.cycle)) !== moves)
      report(`${what} is ${status} (cycle ${num(d.cycle)}) but records ${moves} movement(s)`);
    const found = posted.get(String(d.id)) ?? [];
    for (const [index, movement] of DISPUTE_MOVEMENTS.entries()) {
      const txn = found.find((t) => t.type === movement.type);
      if (index >= moves) {
        if (txn) report(`${what} has a ${movement.type} posting it never made`);
        continue;
      }
      if (!txn) {
        report(`${what} moved funds (${movement.type}) but has no posting`);
        continue;
      }
      const want = movement.sign * num(d.amount);
      if (num(txn.posted) !== want || txn.posted_currency !== d.currency)
        report(
          `${what}: ${movement.type} posts ${num(txn.posted)} ${txn.posted_currency}, expected ${want} ${d.currency}`,
        );
      if (txn.account_id !== d.account_id)
        report(`${what}: ${movement.type} is on another account`);
    }
  }
}

function disputeCauseProblem(r: Row, type: string): string | null {
  if (r.d_moves === null) return 'no such dispute';
  if (r.d_account !== r.account_id) return 'posted on another account than its dispute';
  const moves = num(r.d_moves);
  if (DISPUTE_TYPES.indexOf(type) >= moves) return `the dispute records ${moves} movement(s)`;
  return null;
}

/** Why a transaction's cause does not hold, or null when it does. */
function causeProblem(r: Row): string | null {
  const type = String(r.type);
  if (DISPUTE_TYPES.includes(type)) return disputeCauseProblem(r, type);
  if (type === 'charge' || type === 'transfer' || type === 'payment') {
    if (r.amount_captured === null) return 'no such charge';
    if (num(r.amount_captured) === 0) return 'the charge is not captured';
    if (type !== 'charge' && r.c_dest === null) return 'the charge has no destination';
    return null;
  }
  if (type === 'refund' || type === 'transfer_refund' || type === 'payment_refund') {
    if (r.refund_status === null) return 'no such refund';
    if (r.refund_status !== 'succeeded') return `refund is ${r.refund_status}`;
    if (type !== 'refund' && r.rc_dest === null) return 'the refunded charge has no destination';
    return null;
  }
  if (type === RELEASE_TYPE) {
    if (r.released_status !== 'available') return 'source is not an available transaction';
    if (num(r.released_net) !== num(r.net))
      return `releases ${num(r.net)}, source net ${num(r.released_net)}`;
    return null;
  }
  if (type === SETTLEMENT_TYPE) {
    if (r.b_account === null) return 'no such settlement batch';
    if (r.settlement_batch_id !== r.source || r.b_account !== r.account_id)
      return 'posted outside its batch';
    return null;
  }
  if (type === PAYOUT_PAID_TYPE || (PAYOUT_TYPES as readonly string[]).includes(type))
    return payoutCauseProblem(r, type);
  // Their causes are payment attempts: checkExtraCaptures checks them.
  if (EXTRA_TYPES.includes(type)) return null;
  // Their causes are bank transfer receipts: checkBankTransfers checks them.
  if (BANK_TRANSFER_TYPES.includes(type)) return null;
  return 'unknown type';
}

function payoutCauseProblem(r: Row, type: string): string | null {
  if (r.payout_status === null) return `no such payout ${r.payout_id}`;
  if (r.p_account !== r.account_id || r.p_currency !== r.currency)
    return 'posted on another account or currency than its payout';
  const sign = type === 'payout' ? -1 : 1;
  if (num(r.amount) !== sign * num(r.payout_amount))
    return `amount ${num(r.amount)} does not match payout ${num(r.payout_amount)}`;
  const status = String(r.payout_status);
  if (type === 'payout_cancel' && status !== 'canceled') return `payout is ${status}`;
  if (type === 'payout_failure' && status !== 'failed') return `payout is ${status}`;
  if (type === PAYOUT_PAID_TYPE && status !== 'paid' && status !== 'failed')
    return `payout is ${status}`;
  return null;
}

/**
 * (4) no posting lacks its cause. Read page by page (keyset on id) so a
 * large ledger does not have to fit in memory.
 */
async function checkPostingsHaveCauses(ex: Executor, report: (p: string) => void) {
  let after = '';
  for (;;) {
    const page = await rows(
      ex,
      sql`SELECT t.id, t.type, t.source, t.net, t.amount, t.currency, t.account_id,
            t.settlement_batch_id, t.payout_id,
            c.amount_captured, c.transfer_destination AS c_dest,
            rf.status AS refund_status, rc.transfer_destination AS rc_dest,
            s.status AS released_status, s.net AS released_net, b.account_id AS b_account,
            p.status AS payout_status, p.amount AS payout_amount, p.account_id AS p_account,
            p.currency AS p_currency, d.funds_moves AS d_moves, d.account_id AS d_account
          FROM ledger_transactions t
          LEFT JOIN charges c ON t.type IN ('charge', 'transfer', 'payment') AND c.id = t.source
          LEFT JOIN refunds rf ON t.type IN ('refund', 'transfer_refund', 'payment_refund') AND rf.id = t.source
          LEFT JOIN charges rc ON rc.id = rf.charge_id
          LEFT JOIN ledger_transactions s ON t.type = ${RELEASE_TYPE} AND s.id = t.source
          LEFT JOIN settlement_batches b ON t.type = ${SETTLEMENT_TYPE} AND b.id = t.source
          LEFT JOIN payouts p ON p.id = t.payout_id
          LEFT JOIN disputes d ON t.type IN (${sql.join(DISPUTE_TYPES)}) AND d.id = t.source
          WHERE t.id > ${after} ORDER BY t.id LIMIT ${LIMITS.ledgerVerifyPageRows}`,
    );
    for (const r of page) {
      const problem = causeProblem(r);
      if (problem) report(`transaction ${r.id} (${r.type}) from ${r.source}: ${problem}`);
    }
    const last = page.at(-1);
    if (!last || page.length < LIMITS.ledgerVerifyPageRows) return;
    after = String(last.id);
  }
}

/** (5) settled types are available exactly when a batch (or, before batches, a release) made them so. */
async function checkReleased(ex: Executor, report: (p: string) => void) {
  for (const r of await rows(
    ex,
    sql`SELECT t.id, t.status, t.settlement_batch_id FROM ledger_transactions t
        LEFT JOIN settlement_batches b ON b.id = t.settlement_batch_id
        WHERE t.type IN (${sql.join([...SETTLED_TYPES])}) AND (
          (t.status = 'pending' AND t.settlement_batch_id IS NOT NULL)
          OR (t.settlement_batch_id IS NOT NULL AND b.id IS NULL)
          OR (t.status = 'available' AND t.settlement_batch_id IS NULL AND NOT EXISTS (
            SELECT 1 FROM ledger_transactions s WHERE s.source = t.id AND s.type = ${RELEASE_TYPE})))`,
  )) {
    if (r.status === 'pending') report(`transaction ${r.id} is pending but in a batch`);
    else if (r.settlement_batch_id !== null)
      report(`transaction ${r.id} names a missing batch ${r.settlement_batch_id}`);
    else report(`transaction ${r.id} is available but was never settled`);
  }
  const born = [...PAYOUT_TYPES, PAYOUT_PAID_TYPE, SETTLEMENT_TYPE, ...BANK_TRANSFER_TYPES];
  for (const r of await rows(
    ex,
    sql`SELECT id, type FROM ledger_transactions
        WHERE type IN (${sql.join(born)}) AND status <> 'available'`,
  )) {
    report(`transaction ${r.id} (${r.type}) is not available`);
  }
}

export async function verifyLedger(ex: Executor): Promise<VerifyReport> {
  const problems: string[] = [];
  let problemCount = 0;
  const report = (problem: string) => {
    problemCount += 1;
    if (problems.length < LIMITS.ledgerVerifyProblemsMax) problems.push(problem);
  };
  await checkTransactions(ex, report);
  await checkBalances(ex, report);
  await checkCausesPosted(ex, report);
  await checkSplits(ex, report);
  await checkPayouts(ex, report);
  await checkDisputes(ex, report);
  await checkBatches(ex, report);
  await checkPostingsHaveCauses(ex, report);
  await checkReleased(ex, report);
  const open: string[] = [];
  let openCount = 0;
  await checkExtraCaptures(ex, report, (item) => {
    openCount += 1;
    if (open.length < LIMITS.ledgerVerifyProblemsMax) open.push(item);
  });
  const unapplied = await checkBankTransfers(ex, report, LIMITS.ledgerVerifyProblemsMax);
  const count = async (table: 'ledger_transactions' | 'ledger_entries' | 'ledger_accounts') =>
    num(
      (
        await ex
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    ok: problemCount === 0,
    counts: {
      transactions: await count('ledger_transactions'),
      entries: await count('ledger_entries'),
      accounts: await count('ledger_accounts'),
    },
    problemCount,
    problems,
    openCount,
    open,
    unappliedCount: unapplied.count,
    unapplied: unapplied.items,
  };
}

export function formatReport(report: VerifyReport): string {
  const { transactions, entries, accounts } = report.counts;
  const head = `ledger verify: ${transactions} transactions, ${entries} entries, ${accounts} accounts`;
  const openLines = report.open.map((o) => `  - open: ${o}\n`).join('');
  const open = report.openCount > 0 ? `${report.openCount} open item(s)\n${openLines}` : '';
  const unappliedLines = report.unapplied.map((u) => `  - ${u}\n`).join('');
  const unapplied =
    report.unappliedCount > 0
      ? `${report.unappliedCount} payment intent(s) with unapplied bank transfers (the customers' money, not a failure)\n${unappliedLines}`
      : '';
  if (report.ok) return `${head}: OK, every invariant holds\n${open}${unapplied}`;
  const listed = report.problems.map((p) => `  - ${p}`).join('\n');
  const more =
    report.problemCount > report.problems.length
      ? `\n  ... and ${report.problemCount - report.problems.length} more`
      : '';
  return `${head}: ${report.problemCount} problem(s)\n${listed}${more}\n${unapplied}`;
}
