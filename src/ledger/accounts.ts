import type { Tx } from '../db/database.ts';
import { assert } from '../lib/assert.ts';
import { newId } from '../lib/ids.ts';

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
 * The id of the book account for `key`, created (balance 0) when missing.
 * ON CONFLICT DO NOTHING keeps two racing transactions from failing on the
 * unique natural key: the loser waits for the winner and then reads its row.
 */
export async function ledgerAccountId(tx: Tx, key: AccountKey, nowSeconds: number) {
  const natural = naturalKey(key);
  const existing = await tx
    .selectFrom('ledger_accounts')
    .select('id')
    .where('natural_key', '=', natural)
    .executeTakeFirst();
  if (existing) return existing.id;
  await tx
    .insertInto('ledger_accounts')
    .values({
      id: newId('la', nowSeconds * 1000),
      natural_key: natural,
      account_id: key.accountId,
      livemode: key.livemode,
      currency: key.currency,
      purpose: key.purpose,
      connector_id: key.connectorId ?? null,
      balance: 0,
      version: 0,
      created: nowSeconds,
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const row = await tx
    .selectFrom('ledger_accounts')
    .select('id')
    .where('natural_key', '=', natural)
    .executeTakeFirstOrThrow();
  return row.id;
}
