import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';
import { EXTRA_CAPTURE_REVERSAL_TYPE, EXTRA_CAPTURE_TYPE } from './extra-charges.ts';

// `ledger verify`'s check of the extra charges recovery found
// (src/ledger/extra-charges.ts). Each reverse attempt undoes one extra
// attempt. When the payment captures on authorization, the extra took money:
// it must have its `extra_capture` posting, and once the reversal succeeded
// its `extra_capture_reversal` of the opposite amount, so the pair nets to
// zero. A reversal not (yet) succeeded leaves the capture open: not a
// problem, but listed, because a processor still holds a customer's money.
// An extra that was only authorized (manual capture) is voided and must
// have posted nothing.

export const EXTRA_TYPES: readonly string[] = [EXTRA_CAPTURE_TYPE, EXTRA_CAPTURE_REVERSAL_TYPE];

type Row = Record<string, unknown>;
const num = (value: unknown) => Number(value ?? 0);

async function rows(ex: Executor, query: ReturnType<typeof sql>): Promise<Row[]> {
  return (await query.execute(ex)).rows as Row[];
}

/** What is wrong with one posting against the attempt it books, or null. */
function postingProblem(
  r: Row,
  prefix: 'ec' | 'er',
  want: { amountMinor: number; attempt: 'x' | 'r' },
): string | null {
  const type = prefix === 'ec' ? EXTRA_CAPTURE_TYPE : EXTRA_CAPTURE_REVERSAL_TYPE;
  const a = want.attempt;
  if (
    num(r[`${prefix}_amount`]) !== want.amountMinor ||
    r[`${prefix}_currency`] !== r[`${a}_currency`] ||
    r[`${prefix}_connector`] !== r[`${a}_connector`] ||
    r[`${prefix}_account`] !== r[`${a}_account`]
  )
    return `${type} ${r[`${prefix}_id`]} does not carry ${want.amountMinor} ${r[`${a}_currency`]} on ${r[`${a}_connector`]}`;
  return null;
}

function pairProblems(r: Row, open: (item: string) => void): string[] {
  const what = `extra charge ${r.x_id} (reversed by ${r.r_id})`;
  const amountMinor = num(r.x_amount);
  const problems: string[] = [];
  // The extra attempt's own capture flag (0012); older attempts: the intent's method.
  if (num(r.captures) === 0) {
    if (r.ec_id !== null || r.er_id !== null)
      problems.push(`${what} was only authorized but is posted`);
    return problems;
  }
  // A reversal that succeeded before these postings existed (migration 0010)
  // has neither of them. Its capture and refund net to zero at the processor,
  // so the books are whole without them.
  if (r.ec_id === null && r.er_id === null && r.r_status === 'succeeded') return problems;
  if (r.ec_id === null) problems.push(`${what} captured ${amountMinor} but has no extra_capture`);
  else {
    const problem = postingProblem(r, 'ec', { amountMinor, attempt: 'x' });
    if (problem) problems.push(`${what}: ${problem}`);
  }
  if (r.r_status === 'succeeded') {
    if (r.er_id === null) problems.push(`${what} was refunded but has no extra_capture_reversal`);
    else {
      const problem = postingProblem(r, 'er', { amountMinor: -amountMinor, attempt: 'r' });
      if (problem) problems.push(`${what}: ${problem}`);
    }
  } else if (r.er_id !== null) {
    problems.push(`${what}: its reversal is ${r.r_status} but is posted`);
  } else {
    open(
      `${what}: ${amountMinor} ${r.x_currency} still held by ${r.x_connector}, reversal ${r.r_status}`,
    );
  }
  return problems;
}

/** Every reverse attempt's postings, and no extra posting without its attempts. */
export async function checkExtraCaptures(
  ex: Executor,
  report: (p: string) => void,
  open: (item: string) => void,
): Promise<void> {
  for (const r of await rows(
    ex,
    sql`SELECT x.id AS x_id, x.amount AS x_amount, x.currency AS x_currency,
          x.connector AS x_connector, x.account_id AS x_account,
          r.id AS r_id, r.status AS r_status, r.currency AS r_currency,
          r.connector AS r_connector, r.account_id AS r_account,
          COALESCE(x.captures, CASE pi.capture_method WHEN 'manual' THEN 0 ELSE 1 END) AS captures,
          ec.id AS ec_id, ec.amount AS ec_amount, ec.currency AS ec_currency,
          ec.connector_id AS ec_connector, ec.account_id AS ec_account,
          er.id AS er_id, er.amount AS er_amount, er.currency AS er_currency,
          er.connector_id AS er_connector, er.account_id AS er_account
        FROM payment_attempts r
        JOIN payment_attempts x ON x.id = r.reverses_attempt_id
        JOIN payment_intents pi ON pi.id = x.payment_intent_id
        LEFT JOIN ledger_transactions ec ON ec.source = x.id AND ec.type = ${EXTRA_CAPTURE_TYPE}
        LEFT JOIN ledger_transactions er ON er.source = r.id AND er.type = ${EXTRA_CAPTURE_REVERSAL_TYPE}
        WHERE r.operation = 'reverse'
        ORDER BY r.id`,
  )) {
    for (const problem of pairProblems(r, open)) report(problem);
  }
  for (const r of await rows(
    ex,
    sql`SELECT t.id, t.type, t.source FROM ledger_transactions t
        WHERE (t.type = ${EXTRA_CAPTURE_TYPE} AND NOT EXISTS (
            SELECT 1 FROM payment_attempts r WHERE r.reverses_attempt_id = t.source
              AND r.operation = 'reverse'))
          OR (t.type = ${EXTRA_CAPTURE_REVERSAL_TYPE} AND NOT EXISTS (
            SELECT 1 FROM payment_attempts r WHERE r.id = t.source AND r.operation = 'reverse'))`,
  )) {
    report(`transaction ${r.id} (${r.type}) from ${r.source}: no reversed extra charge`);
  }
  // Only the receivable and the clearing account move, by the transaction's amount.
  for (const r of await rows(
    ex,
    sql`SELECT t.id, t.type, t.amount, t.connector_id AS t_connector, a.purpose,
          a.connector_id AS a_connector, SUM(e.amount) AS total
        FROM ledger_transactions t
        JOIN ledger_entries e ON e.transaction_id = t.id
        JOIN ledger_accounts a ON a.id = e.ledger_account_id
        WHERE t.type IN (${sql.join([...EXTRA_TYPES])})
        GROUP BY t.id, t.type, t.amount, t.connector_id, a.purpose, a.connector_id`,
  )) {
    const want =
      r.purpose === 'processor_receivable'
        ? num(r.amount)
        : r.purpose === 'extra_charges'
          ? -num(r.amount)
          : 0;
    if (r.purpose === 'processor_receivable' && r.a_connector !== r.t_connector)
      report(
        `transaction ${r.id} (${r.type}): receivable of ${r.a_connector}, not ${r.t_connector}`,
      );
    else if (num(r.total) !== want)
      report(
        `transaction ${r.id} (${r.type}): ${r.purpose} moves ${num(r.total)}, expected ${want}`,
      );
  }
}
