import { sql } from 'kysely';
import type { Tx } from '../db/database.ts';
import { selectRows } from '../db/insert.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { newId } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';

// Ledger accounts. Sign convention everywhere in the ledger: a debit is a
// positive amount, a credit a negative one, so the entries of every
// transaction sum to zero per currency and an account's balance is the plain
// sum of its entries. The books are Payrail's view of the merchant's money:
//
//   processor_receivable[connector]  asset      gross captured, owed by that processor
//   processing_fees                  liability  fees the processor keeps (netted when it pays out)
//   merchant_pending                 liability  owed to the merchant, not yet available
//   merchant_available               liability  owed to the merchant, available
//   transfers                        clearing   a split's share between platform and connected account
//   cash                             asset      deposited by processors (settlement), less paid payouts
//   payouts_in_transit               clearing   payouts created, not yet paid, canceled or failed
//
// So liabilities normally carry a negative (credit) balance and the merchant's
// balances shown by GET /v1/balance are their negations. The remaining
// purposes are reserved for later work (disputes, FX) so those postings fit
// the same accounts table without a migration. docs/ledger.md has every posting.
export const LEDGER_PURPOSES = [
  'processor_receivable',
  'processing_fees',
  'merchant_pending',
  'merchant_available',
  'refunds_in_flight',
  'disputes',
  'payouts_in_transit',
  'fx_conversion',
  // Money the processors have settled into the operator's bank account
  // (settlement batches debit it, paid payouts credit it).
  'cash',
  // Clearing between a platform and its connected accounts (splits).
  'transfers',
  // Clearing for extra charges found by recovery: what processors captured
  // and still hold until the refund reversing it succeeds (src/ledger/extra-charges.ts).
  'extra_charges',
  // Bank transfers received for an intent and not yet applied to a charge:
  // the customer's money in the operator's bank, owed back to the customer
  // until it pays the intent in full (src/ledger/bank-transfers.ts).
  'bank_transfers_unapplied',
] as const;

export type LedgerPurpose = (typeof LEDGER_PURPOSES)[number];

/** Which book account an entry goes to. */
export interface AccountKey {
  accountId: string;
  livemode: 0 | 1;
  currency: string;
  purpose: LedgerPurpose;
  /** Only for processor_receivable: the connector that owes the money. */
  connectorId?: string | null;
}

export function naturalKey(key: AccountKey): string {
  const connector = key.connectorId ?? '';
  assert(
    (key.purpose === 'processor_receivable') === (connector !== ''),
    `ledger account ${key.purpose} ${connector ? 'takes no' : 'needs a'} connector`,
  );
  return [key.accountId, key.livemode, key.currency, key.purpose, connector].join('|');
}

/**
 * The ids of the book accounts for `keys` (by natural key), each created
 * (with no balance) when missing. ON CONFLICT DO NOTHING keeps two racing
 * transactions from failing on the unique natural key: the loser waits for the
 * winner and then reads its row.
 */
export async function ledgerAccountIds(
  tx: Tx,
  keys: readonly AccountKey[],
  nowSeconds: number,
): Promise<Map<string, string>> {
  const byNatural = new Map(keys.map((key) => [naturalKey(key), key]));
  const naturals = [...byNatural.keys()];
  const ids = new Map<string, string>();
  const read = async (wanted: string[]) => {
    const rows = await selectRows(tx, 'ledger_accounts', ['id', 'natural_key'], {
      natural_key: wanted,
    });
    for (const row of rows) ids.set(row.natural_key, row.id);
  };
  await read(naturals);
  const missing = naturals.filter((natural) => !ids.has(natural));
  if (missing.length === 0) return ids;
  await tx
    .insertInto('ledger_accounts')
    .values(
      missing.map((natural) => {
        const key = byNatural.get(natural) as AccountKey;
        return {
          id: newId('la', nowSeconds * 1000),
          natural_key: natural,
          account_id: key.accountId,
          livemode: key.livemode,
          currency: key.currency,
          purpose: key.purpose,
          connector_id: key.connectorId ?? null,
          created: nowSeconds,
        };
      }),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
  await read(missing);
  for (const natural of missing) assert(ids.has(natural), `ledger account ${natural} exists`);
  return ids;
}

// Balances. An account's balance is the sum of its slot rows in
// ledger_balances. A posting adds to one slot, picked at random per posting,
// so concurrent postings to a busy account (a merchant's pending balance, a
// processor's receivable) rarely wait on the same row lock on PostgreSQL,
// where a row lock is held until COMMIT. Readers sum the slots.

/**
 * The slot a transaction's postings add to: picked at random when it first
 * posts, then the same for all its postings. Two transactions then either
 * touch no common balance row or lock the same rows in the same order; a
 * slot per posting could lock one account's slot 3 and then another's slot 7
 * while a concurrent transaction did the opposite, and deadlock.
 */
const slotOfTransaction = new WeakMap<Tx, number>();

export function balanceSlotFor(tx: Tx): number {
  let slot = slotOfTransaction.get(tx);
  if (slot === undefined) {
    slot = Math.floor(Math.random() * LIMITS.ledgerBalanceSlots);
    slotOfTransaction.set(tx, slot);
  }
  return slot;
}

/**
 * Adds each amount to one slot of its account's balance (creating the slot at
 * 0), in one statement; the rows are locked in the order given.
 */
export async function addToBalances(
  tx: Tx,
  slot: number,
  amounts: ReadonlyArray<{ ledgerAccountId: string; amountMinor: number }>,
): Promise<void> {
  if (amounts.length === 0) return;
  const rows = await tx
    .insertInto('ledger_balances')
    .values(
      amounts.map((a) => ({ ledger_account_id: a.ledgerAccountId, slot, balance: a.amountMinor })),
    )
    .onConflict((oc) =>
      oc
        .columns(['ledger_account_id', 'slot'])
        .doUpdateSet({ balance: sql<number>`ledger_balances.balance + excluded.balance` }),
    )
    .returning(['ledger_account_id', 'balance'])
    .execute();
  for (const row of rows) {
    assertSafeInteger(Number(row.balance), `balance of ledger account ${row.ledger_account_id}`);
  }
}

/** The balance of each of the given accounts (0 for an account without slots). */
export async function balancesOf(
  tx: Tx,
  ledgerAccountIds: readonly string[],
): Promise<Map<string, number>> {
  const balances = new Map<string, number>(ledgerAccountIds.map((id) => [id, 0]));
  if (ledgerAccountIds.length === 0) return balances;
  const rows = await tx
    .selectFrom('ledger_balances')
    .select(['ledger_account_id', (eb) => eb.fn.sum<number | string>('balance').as('balance')])
    .where('ledger_account_id', 'in', ledgerAccountIds)
    .groupBy('ledger_account_id')
    .execute();
  for (const row of rows) {
    const balance = Number(row.balance);
    assertSafeInteger(balance, `balance of ledger account ${row.ledger_account_id}`);
    balances.set(row.ledger_account_id, balance);
  }
  return balances;
}
