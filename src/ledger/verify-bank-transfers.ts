import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';
import {
  BANK_TRANSFER_CONNECTOR,
  BANK_TRANSFER_RECEIPT_TYPE,
  UNAPPLIED_PURPOSE,
} from './bank-transfers.ts';

// `ledger verify`'s check of bank transfers received (src/ledger/bank-transfers.ts):
//
// - every receipt (bank_transfer_receipts) has exactly one `bank_transfer_receipt`
//   posting of its amount, currency, account and mode, and every such posting
//   has its receipt;
// - a receipt posting moves only `cash` +R and `bank_transfers_unapplied` −R;
// - a charge paid by bank transfer moves only `bank_transfers_unapplied` +A and
//   `merchant_pending` −A, and its intent's receipts sum to A, the last one
//   naming the charge;
// - per account, mode and currency, `bank_transfers_unapplied` holds exactly
//   the receipts not applied to a charge (so nothing else posts to it).
//
// Receipts of an intent that has no bank transfer charge are not a problem but
// are listed as unapplied: held while the intent still awaits the rest, owed
// back to the customer once it was canceled or paid another way.

/** Internal ledger types of bank transfers (the charge itself is a `charge`). */
export const BANK_TRANSFER_TYPES: readonly string[] = [BANK_TRANSFER_RECEIPT_TYPE];

type Row = Record<string, unknown>;
type Report = (problem: string) => void;
const num = (value: unknown) => Number(value ?? 0);

async function rows(ex: Executor, query: ReturnType<typeof sql>): Promise<Row[]> {
  return (await query.execute(ex)).rows as Row[];
}

/** Every receipt has one posting of its amount; every posting its receipt. */
async function checkReceiptsPosted(ex: Executor, report: Report) {
  for (const r of await rows(
    ex,
    sql`SELECT * FROM (
          SELECT r.id, r.amount, r.currency, r.account_id, r.livemode,
            (SELECT COUNT(*) FROM ledger_transactions c
              WHERE c.source = r.id AND c.type = ${BANK_TRANSFER_RECEIPT_TYPE}) AS n,
            t.id AS txn, t.amount AS t_amount, t.currency AS t_currency,
            t.account_id AS t_account, t.livemode AS t_livemode
          FROM bank_transfer_receipts r
          LEFT JOIN ledger_transactions t
            ON t.source = r.id AND t.type = ${BANK_TRANSFER_RECEIPT_TYPE}) x
        WHERE x.txn IS NULL OR x.n <> 1 OR x.t_amount <> x.amount OR x.t_currency <> x.currency
          OR x.t_account <> x.account_id OR x.t_livemode <> x.livemode
        ORDER BY x.id`,
  )) {
    const what = `bank transfer receipt ${r.id} of ${num(r.amount)} ${r.currency}`;
    if (r.txn === null) report(`${what} has no posting`);
    else if (num(r.n) !== 1) report(`${what} has ${num(r.n)} postings, not 1`);
    else report(`${what}: ${r.txn} posts ${num(r.t_amount)} ${r.t_currency} on ${r.t_account}`);
  }
  for (const r of await rows(
    ex,
    sql`SELECT t.id, t.source FROM ledger_transactions t
        WHERE t.type = ${BANK_TRANSFER_RECEIPT_TYPE}
          AND NOT EXISTS (SELECT 1 FROM bank_transfer_receipts r WHERE r.id = t.source)`,
  )) {
    report(`transaction ${r.id} (${BANK_TRANSFER_RECEIPT_TYPE}) from ${r.source}: no such receipt`);
  }
}

/**
 * Each posting moves `debit` by +amount and `credit` by −amount, both on its
 * own account, mode and currency, and no other purpose (entries summing to
 * zero per transaction is checked for every posting by verify.ts).
 */
async function checkEntries(
  ex: Executor,
  report: Report,
  input: { label: string; where: ReturnType<typeof sql>; debit: string; credit: string },
) {
  const { debit, credit } = input;
  for (const r of await rows(
    ex,
    sql`SELECT t.id, a.purpose, SUM(e.amount) AS total, MIN(t.amount) AS amount,
          SUM(CASE WHEN a.account_id = t.account_id AND a.livemode = t.livemode
            AND a.currency = t.currency THEN 0 ELSE 1 END) AS foreign_entries
        FROM ledger_transactions t
        JOIN ledger_entries e ON e.transaction_id = t.id
        JOIN ledger_accounts a ON a.id = e.ledger_account_id
        WHERE ${input.where}
        GROUP BY t.id, t.amount, a.purpose
        HAVING SUM(e.amount) <> CASE a.purpose WHEN ${debit} THEN t.amount
            WHEN ${credit} THEN -t.amount ELSE 0 END
          OR SUM(CASE WHEN a.account_id = t.account_id AND a.livemode = t.livemode
            AND a.currency = t.currency THEN 0 ELSE 1 END) > 0`,
  )) {
    const want = r.purpose === debit ? num(r.amount) : r.purpose === credit ? -num(r.amount) : 0;
    if (num(r.foreign_entries) > 0)
      report(`transaction ${r.id} (${input.label}): ${r.purpose} entry on another account`);
    else
      report(
        `transaction ${r.id} (${input.label}): ${r.purpose} moves ${num(r.total)}, expected ${want}`,
      );
  }
  // A purpose it must move and does not appear at all.
  for (const r of await rows(
    ex,
    sql`SELECT t.id FROM ledger_transactions t
        WHERE ${input.where} AND (SELECT COUNT(DISTINCT a.purpose) FROM ledger_entries e
          JOIN ledger_accounts a ON a.id = e.ledger_account_id
          WHERE e.transaction_id = t.id AND a.purpose IN (${debit}, ${credit})) <> 2`,
  )) {
    report(`transaction ${r.id} (${input.label}): does not move both ${debit} and ${credit}`);
  }
}

/** A bank transfer charge is what its intent's receipts add up to, and the last names it. */
async function checkCharges(ex: Executor, report: Report) {
  for (const r of await rows(
    ex,
    sql`SELECT * FROM (
          SELECT c.id, c.amount_captured, c.currency, c.payment_intent_id,
            (SELECT COALESCE(SUM(r.amount), 0) FROM bank_transfer_receipts r
              WHERE r.payment_intent_id = c.payment_intent_id AND r.currency = c.currency) AS received,
            (SELECT COUNT(*) FROM bank_transfer_receipts r WHERE r.charge_id = c.id) AS completing
          FROM charges c
          WHERE c.connector = ${BANK_TRANSFER_CONNECTOR} AND c.amount_captured > 0) x
        WHERE x.received <> x.amount_captured OR x.completing <> 1`,
  )) {
    const what = `bank transfer charge ${r.id} of ${num(r.amount_captured)} ${r.currency}`;
    if (num(r.received) !== num(r.amount_captured))
      report(`${what}: the receipts of ${r.payment_intent_id} add up to ${num(r.received)}`);
    if (num(r.completing) !== 1)
      report(`${what}: ${num(r.completing)} receipts name it as the one that completed it`);
  }
}

/** Per scope: the liability holds exactly the receipts no charge applied. */
async function checkUnappliedBalances(ex: Executor, report: Report) {
  for (const r of await rows(
    ex,
    sql`SELECT s.account_id, s.livemode, s.currency,
          (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_entries e
            JOIN ledger_accounts a ON a.id = e.ledger_account_id
            WHERE a.purpose = ${UNAPPLIED_PURPOSE} AND a.account_id = s.account_id
              AND a.livemode = s.livemode AND a.currency = s.currency) AS booked,
          (SELECT COALESCE(SUM(r.amount), 0) FROM bank_transfer_receipts r
            WHERE r.account_id = s.account_id AND r.livemode = s.livemode
              AND r.currency = s.currency) AS received,
          (SELECT COALESCE(SUM(c.amount_captured), 0) FROM charges c
            WHERE c.connector = ${BANK_TRANSFER_CONNECTOR} AND c.account_id = s.account_id
              AND c.livemode = s.livemode AND c.currency = s.currency) AS applied
        FROM (
          SELECT account_id, livemode, currency FROM ledger_accounts WHERE purpose = ${UNAPPLIED_PURPOSE}
          UNION SELECT account_id, livemode, currency FROM bank_transfer_receipts
        ) s`,
  )) {
    const want = -(num(r.received) - num(r.applied));
    if (num(r.booked) !== want)
      report(
        `${UNAPPLIED_PURPOSE} of ${r.account_id} (${num(r.livemode) ? 'live' : 'test'}, ${r.currency}) is ${num(r.booked)}, but unapplied receipts are ${-want}`,
      );
  }
}

const UNAPPLIED_INTENTS = sql`FROM bank_transfer_receipts r
  JOIN payment_intents pi ON pi.id = r.payment_intent_id
  WHERE NOT EXISTS (SELECT 1 FROM bank_transfer_receipts done
    WHERE done.payment_intent_id = r.payment_intent_id AND done.charge_id IS NOT NULL)`;

/**
 * Intents holding receipts that no charge applied (informational): how many,
 * and the first `listMax` of them.
 */
async function listUnapplied(
  ex: Executor,
  listMax: number,
): Promise<{ count: number; items: string[] }> {
  const [counted] = await rows(
    ex,
    sql`SELECT COUNT(DISTINCT r.payment_intent_id) AS n ${UNAPPLIED_INTENTS}`,
  );
  const items: string[] = [];
  for (const r of await rows(
    ex,
    sql`SELECT r.payment_intent_id AS id, r.currency, SUM(r.amount) AS held, COUNT(*) AS n,
          pi.status, pi.amount, pi.next_action
        ${UNAPPLIED_INTENTS}
        GROUP BY r.payment_intent_id, r.currency, pi.status, pi.amount, pi.next_action
        ORDER BY r.payment_intent_id LIMIT ${listMax}`,
  )) {
    const held = `${num(r.held)} ${r.currency} received in ${num(r.n)} transfer(s)`;
    const awaiting =
      r.status === 'requires_action' &&
      String(r.next_action ?? '').includes('display_bank_transfer_instructions');
    items.push(
      awaiting
        ? `${r.id} awaits the rest of ${num(r.amount)}: ${held}, held for it`
        : `${r.id} is ${r.status}: ${held}, owed back to the customer (return or apply it)`,
    );
  }
  return { count: num(counted?.n), items };
}

/** Problems go to `report`; the unapplied receipts are returned (not problems). */
export async function checkBankTransfers(
  ex: Executor,
  report: Report,
  listMax: number,
): Promise<{ count: number; items: string[] }> {
  await checkReceiptsPosted(ex, report);
  await checkEntries(ex, report, {
    label: BANK_TRANSFER_RECEIPT_TYPE,
    where: sql`t.type = ${BANK_TRANSFER_RECEIPT_TYPE}`,
    debit: 'cash',
    credit: UNAPPLIED_PURPOSE,
  });
  await checkEntries(ex, report, {
    label: 'bank transfer charge',
    where: sql`t.type = 'charge' AND (t.connector_id = ${BANK_TRANSFER_CONNECTOR} OR t.source IN (
      SELECT c.id FROM charges c WHERE c.connector = ${BANK_TRANSFER_CONNECTOR}))`,
    debit: UNAPPLIED_PURPOSE,
    credit: 'merchant_pending',
  });
  await checkCharges(ex, report);
  await checkUnappliedBalances(ex, report);
  return listUnapplied(ex, listMax);
}
