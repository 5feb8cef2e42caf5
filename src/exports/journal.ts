import type { Scope } from '../db/context.ts';
import { livemodeFlag } from '../db/context.ts';
import type { Executor } from '../db/database.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';

// The journal of a date range: the ledger's entries grouped into journals,
// one per ledger transaction and currency (a journal never mixes currencies),
// each checked to balance before any file is written.

export interface JournalLine {
  ledgerAccountId: string;
  purpose: string;
  /** The connector of the book account (receivables) or of the transaction. */
  connectorId: string | null;
  /** Debit positive, credit negative, minor units. */
  amountMinor: number;
}

export interface Journal {
  transactionId: string;
  created: number;
  type: string;
  source: string;
  description: string | null;
  currency: string;
  lines: JournalLine[];
}

export interface JournalRange {
  from: number;
  to: number;
  currency?: string | undefined;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

export function rangeText(range: JournalRange): string {
  return `${iso(range.from)} .. ${iso(range.to)}`;
}

/** Reads the range's entries (oldest first), refusing more than LIMITS.exportEntriesMax. */
export async function readJournals(
  db: Executor,
  scope: Scope,
  range: JournalRange,
): Promise<Journal[]> {
  let query = db
    .selectFrom('ledger_entries as e')
    .innerJoin('ledger_transactions as t', 't.id', 'e.transaction_id')
    .innerJoin('ledger_accounts as a', 'a.id', 'e.ledger_account_id')
    .select([
      't.id as transaction_id',
      't.created',
      't.type',
      't.source',
      't.description',
      't.connector_id as txn_connector',
      'a.id as ledger_account_id',
      'a.purpose',
      'a.connector_id as account_connector',
      'e.currency',
      'e.amount',
    ])
    .where('t.account_id', '=', scope.accountId)
    .where('t.livemode', '=', livemodeFlag(scope))
    .where('t.created', '>=', range.from)
    .where('t.created', '<=', range.to);
  if (range.currency) query = query.where('e.currency', '=', range.currency);
  const rows = await query
    .orderBy('t.created')
    .orderBy('t.id')
    .orderBy('e.currency')
    .orderBy('e.id')
    .limit(LIMITS.exportEntriesMax + 1)
    .execute();
  if (rows.length > LIMITS.exportEntriesMax) {
    throw new ApiError(
      'export_too_large',
      `The range ${rangeText(range)} holds more than ${LIMITS.exportEntriesMax} ledger entries; export a shorter range.`,
      { param: 'to' },
    );
  }
  const journals: Journal[] = [];
  for (const row of rows) {
    let last = journals.at(-1);
    if (!last || last.transactionId !== row.transaction_id || last.currency !== row.currency) {
      last = {
        transactionId: row.transaction_id,
        created: Number(row.created),
        type: row.type,
        source: row.source,
        description: row.description,
        currency: row.currency,
        lines: [],
      };
      journals.push(last);
    }
    last.lines.push({
      ledgerAccountId: row.ledger_account_id,
      purpose: row.purpose,
      connectorId: row.account_connector ?? row.txn_connector ?? null,
      amountMinor: Number(row.amount),
    });
  }
  for (const journal of journals) assertJournalBalanced(journal);
  return journals;
}

/** A journal whose debits and credits differ is a broken ledger: a bug, never exported. */
export function assertJournalBalanced(journal: Journal): void {
  let sum = 0;
  for (const line of journal.lines) {
    assertSafeInteger(line.amountMinor, `entry of ${journal.transactionId}`);
    sum += line.amountMinor;
  }
  assert(
    sum === 0,
    `journal ${journal.transactionId} (${journal.currency}) does not balance: entries sum to ${sum}`,
  );
}

/** Debits and credits of the whole file, per currency, must be equal. */
export function assertFileBalanced(journals: readonly Journal[]): void {
  const totals = new Map<string, { debit: number; credit: number }>();
  for (const journal of journals) {
    const total = totals.get(journal.currency) ?? { debit: 0, credit: 0 };
    for (const line of journal.lines) {
      if (line.amountMinor > 0) total.debit += line.amountMinor;
      else total.credit -= line.amountMinor;
    }
    totals.set(journal.currency, total);
  }
  for (const [currency, total] of totals) {
    assertSafeInteger(total.debit, 'export debits');
    assert(
      total.debit === total.credit,
      `export ${currency}: debits ${total.debit} != credits ${total.credit}`,
    );
  }
}
