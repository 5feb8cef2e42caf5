import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';
import { LIMITS } from '../lib/limits.ts';
import { BALANCE_TRANSACTION_TYPES, RELEASE_TYPE } from './service.ts';

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
    sql`SELECT a.id, a.purpose, a.balance,
          (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.ledger_account_id = a.id) AS total
        FROM ledger_accounts a
        WHERE a.balance <> (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e WHERE e.ledger_account_id = a.id)`,
  )) {
    if (num(r.balance) !== num(r.total)) {
      report(
        `ledger account ${r.id} (${r.purpose}): stored balance ${num(r.balance)} but entries sum to ${num(r.total)}`,
      );
    }
  }
  // The merchant's pending and available balances are the nets of its balance
  // transactions in that status (liabilities: credit, so negated).
  const types = sql.join([...BALANCE_TRANSACTION_TYPES]);
  for (const r of await rows(
    ex,
    sql`SELECT a.id, a.purpose, a.balance,
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
  for (const r of await rows(
    ex,
    sql`SELECT c.id, c.amount_captured, c.currency, t.id AS txn, t.amount, t.currency AS txn_currency
        FROM charges c LEFT JOIN ledger_transactions t ON t.source = c.id AND t.type = 'charge'
        WHERE c.amount_captured > 0
          AND (t.id IS NULL OR t.amount <> c.amount_captured OR t.currency <> c.currency)`,
  )) {
    if (r.txn === null)
      report(`charge ${r.id} captured ${num(r.amount_captured)} but has no posting`);
    else if (num(r.amount) !== num(r.amount_captured) || r.currency !== r.txn_currency)
      report(
        `charge ${r.id} captured ${num(r.amount_captured)} ${r.currency} but ${r.txn} posts ${num(r.amount)} ${r.txn_currency}`,
      );
  }
  for (const r of await rows(
    ex,
    sql`SELECT r.id, r.amount, t.id AS txn, t.amount AS posted
        FROM refunds r LEFT JOIN ledger_transactions t ON t.source = r.id AND t.type = 'refund'
        WHERE r.status = 'succeeded' AND (t.id IS NULL OR t.amount <> -r.amount)`,
  )) {
    if (r.txn === null) report(`refund ${r.id} succeeded but has no posting`);
    else if (num(r.posted) !== -num(r.amount))
      report(`refund ${r.id} of ${num(r.amount)} but ${r.txn} posts ${num(r.posted)}`);
  }
}

/**
 * (4) no posting lacks its cause. The filter is wrapped in COALESCE because a
 * missing source makes the joined columns NULL, and NOT NULL would hide the row.
 */
async function checkPostingsHaveCauses(ex: Executor, report: (p: string) => void) {
  for (const r of await rows(
    ex,
    sql`SELECT t.id, t.type, t.source, t.net,
          c.amount_captured, rf.status AS refund_status, s.status AS released_status, s.net AS released_net
        FROM ledger_transactions t
        LEFT JOIN charges c ON t.type = 'charge' AND c.id = t.source
        LEFT JOIN refunds rf ON t.type = 'refund' AND rf.id = t.source
        LEFT JOIN ledger_transactions s ON t.type = ${RELEASE_TYPE} AND s.id = t.source
        WHERE NOT COALESCE((t.type = 'charge' AND c.amount_captured > 0)
          OR (t.type = 'refund' AND rf.status = 'succeeded')
          OR (t.type = ${RELEASE_TYPE} AND s.status = 'available' AND s.net = t.net), FALSE)`,
  )) {
    const cause = `transaction ${r.id} (${r.type}) from ${r.source}`;
    if (r.type === 'charge') {
      if (r.amount_captured === null) report(`${cause}: no such charge`);
      else if (num(r.amount_captured) === 0) report(`${cause}: the charge is not captured`);
    } else if (r.type === 'refund') {
      if (r.refund_status === null) report(`${cause}: no such refund`);
      else if (r.refund_status !== 'succeeded') report(`${cause}: refund is ${r.refund_status}`);
    } else if (r.type === RELEASE_TYPE) {
      if (r.released_status !== 'available')
        report(`${cause}: source is not an available transaction`);
      else if (num(r.released_net) !== num(r.net))
        report(`${cause}: releases ${num(r.net)}, source net ${num(r.released_net)}`);
    } else {
      report(`${cause}: unknown type`);
    }
  }
  for (const r of await rows(
    ex,
    sql`SELECT t.id FROM ledger_transactions t WHERE t.status = 'available' AND t.type IN (${sql.join([...BALANCE_TRANSACTION_TYPES])})
          AND NOT EXISTS (SELECT 1 FROM ledger_transactions s WHERE s.source = t.id AND s.type = ${RELEASE_TYPE})`,
  )) {
    report(`transaction ${r.id} is available but was never released`);
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
  await checkPostingsHaveCauses(ex, report);
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
  };
}

export function formatReport(report: VerifyReport): string {
  const { transactions, entries, accounts } = report.counts;
  const head = `ledger verify: ${transactions} transactions, ${entries} entries, ${accounts} accounts`;
  if (report.ok) return `${head}: OK, every invariant holds\n`;
  const listed = report.problems.map((p) => `  - ${p}`).join('\n');
  const more =
    report.problemCount > report.problems.length
      ? `\n  ... and ${report.problemCount - report.problems.length} more`
      : '';
  return `${head}: ${report.problemCount} problem(s)\n${listed}${more}\n`;
}
