import type { Tx } from '../db/database.ts';
import { insertRows } from '../db/insert.ts';
import type { LedgerTransactionsTable } from '../db/schema.ts';
import { assert, assertSafeInteger } from '../lib/assert.ts';
import { newId } from '../lib/ids.ts';
import {
  type AccountKey,
  addToBalances,
  balanceSlotFor,
  ledgerAccountIds,
  naturalKey,
} from './accounts.ts';

// Posting: one ledger transaction and its entries, written in the caller's
// database transaction (the one that changes the charge or refund), so money
// never moves in the books without its cause and vice versa. Entries are only
// ever inserted; a correction is a new transaction.

export interface EntrySpec {
  account: AccountKey;
  /** Debit positive, credit negative, minor units. */
  amountMinor: number;
}

/** Throws unless the entries sum to zero in each currency: a broken posting is a bug. */
export function assertBalanced(entries: readonly EntrySpec[]): void {
  assert(entries.length >= 2, `a posting needs at least two entries, got ${entries.length}`);
  const sums = new Map<string, number>();
  for (const entry of entries) {
    assertSafeInteger(entry.amountMinor, `entry amount (${entry.account.purpose})`);
    const sum = (sums.get(entry.account.currency) ?? 0) + entry.amountMinor;
    assertSafeInteger(sum, 'entry sum');
    sums.set(entry.account.currency, sum);
  }
  for (const [currency, sum] of sums) {
    assert(sum === 0, `entries must sum to zero per currency: ${currency} sums to ${sum}`);
  }
}

/** Capture of `amountMinor` with processor fee `feeMinor` on `connectorId`. */
export function chargeEntries(input: {
  scope: Pick<AccountKey, 'accountId' | 'livemode' | 'currency'>;
  connectorId: string;
  amountMinor: number;
  feeMinor: number;
}): EntrySpec[] {
  const { scope, amountMinor, feeMinor } = input;
  assert(amountMinor > 0, `a charge posting needs a positive amount, got ${amountMinor}`);
  assert(feeMinor >= 0, `a fee cannot be negative, got ${feeMinor}`);
  const entries: EntrySpec[] = [
    {
      account: { ...scope, purpose: 'processor_receivable', connectorId: input.connectorId },
      amountMinor,
    },
    { account: { ...scope, purpose: 'merchant_pending' }, amountMinor: -(amountMinor - feeMinor) },
  ];
  if (feeMinor > 0)
    entries.push({ account: { ...scope, purpose: 'processing_fees' }, amountMinor: -feeMinor });
  return entries;
}

/** Refund of `amountMinor`: the merchant's balance pays it back through the processor; fees stay. */
export function refundEntries(input: {
  scope: Pick<AccountKey, 'accountId' | 'livemode' | 'currency'>;
  connectorId: string;
  amountMinor: number;
}): EntrySpec[] {
  const { scope, amountMinor } = input;
  assert(amountMinor > 0, `a refund posting needs a positive amount, got ${amountMinor}`);
  return [
    { account: { ...scope, purpose: 'merchant_pending' }, amountMinor },
    {
      account: { ...scope, purpose: 'processor_receivable', connectorId: input.connectorId },
      amountMinor: -amountMinor,
    },
  ];
}

/** Moves a balance transaction's net (possibly negative) from pending to available. */
export function releaseEntries(input: {
  scope: Pick<AccountKey, 'accountId' | 'livemode' | 'currency'>;
  netMinor: number;
}): EntrySpec[] {
  const { scope, netMinor } = input;
  return [
    { account: { ...scope, purpose: 'merchant_pending' }, amountMinor: netMinor },
    { account: { ...scope, purpose: 'merchant_available' }, amountMinor: -netMinor },
  ];
}

type Scope = Pick<AccountKey, 'accountId' | 'livemode' | 'currency'>;

/**
 * A destination charge's transfer (Stripe Connect): the connected account's
 * share leaves the platform's pending balance into the platform's `transfers`
 * clearing account. `paymentEntries` takes it out of clearing again.
 */
export function transferEntries(input: { platform: Scope; amountMinor: number }): EntrySpec[] {
  const { platform, amountMinor } = input;
  assert(amountMinor >= 0, `a transfer cannot be negative, got ${amountMinor}`);
  return [
    { account: { ...platform, purpose: 'merchant_pending' }, amountMinor },
    { account: { ...platform, purpose: 'transfers' }, amountMinor: -amountMinor },
  ];
}

/** The connected account's payment: out of the platform's clearing into its own pending balance. */
export function paymentEntries(input: {
  platform: Scope;
  destinationAccountId: string;
  amountMinor: number;
}): EntrySpec[] {
  const { platform, amountMinor } = input;
  assert(amountMinor >= 0, `a payment cannot be negative, got ${amountMinor}`);
  return [
    { account: { ...platform, purpose: 'transfers' }, amountMinor },
    {
      account: { ...platform, accountId: input.destinationAccountId, purpose: 'merchant_pending' },
      amountMinor: -amountMinor,
    },
  ];
}

/** A refund's transfer reversal: the connected account gives back `amountMinor` to the platform. */
export function reversalEntries(input: {
  platform: Scope;
  destinationAccountId: string;
  amountMinor: number;
}): { transfer: EntrySpec[]; payment: EntrySpec[] } {
  const { platform, amountMinor } = input;
  assert(amountMinor >= 0, `a transfer reversal cannot be negative, got ${amountMinor}`);
  const negate = (entries: EntrySpec[]) =>
    entries.map((e) => ({ account: e.account, amountMinor: -e.amountMinor }));
  return {
    transfer: negate(transferEntries({ platform, amountMinor })),
    payment: negate(paymentEntries({ ...input })),
  };
}

/**
 * One settlement batch: the merchant's side moves the batch's nets from
 * pending to available; the processor's side clears what it owed (the
 * receivable for the gross, the fees it kept) against the cash it deposited.
 * Zero processor entries are left out; the merchant pair is always written.
 */
export function settlementEntries(input: {
  scope: Scope;
  connectorId: string;
  netsMinor: number;
  grossMinor: number;
  feeMinor: number;
}): EntrySpec[] {
  const { scope, netsMinor, grossMinor, feeMinor } = input;
  const processor: EntrySpec[] = [
    {
      account: { ...scope, purpose: 'processor_receivable', connectorId: input.connectorId },
      amountMinor: -grossMinor,
    },
    { account: { ...scope, purpose: 'processing_fees' }, amountMinor: feeMinor },
    { account: { ...scope, purpose: 'cash' }, amountMinor: grossMinor - feeMinor },
  ];
  return [
    ...releaseEntries({ scope, netMinor: netsMinor }),
    ...processor.filter((e) => e.amountMinor !== 0),
  ];
}

/**
 * Writes the transaction, its entries and the account balances. Each posting
 * adds to its database transaction's balance slot of each account
 * (src/ledger/accounts.ts balanceSlotFor) and touches the accounts in
 * natural-key order.
 */
export async function post(
  tx: Tx,
  txn: LedgerTransactionsTable,
  entries: readonly EntrySpec[],
): Promise<void> {
  assertBalanced(entries);
  for (const n of [txn.amount, txn.fee, txn.net]) assertSafeInteger(n, `${txn.type} amount`);
  assert(txn.net === txn.amount - txn.fee, `${txn.id}: net must equal amount - fee`);
  // `+ 0` turns a negated zero (-0) into 0 before it reaches the database.
  const row = { ...txn, amount: txn.amount + 0, fee: txn.fee + 0, net: txn.net + 0 };
  await insertRows(tx, 'ledger_transactions', [row]);
  const ordered = [...entries].sort((a, b) =>
    naturalKey(a.account) < naturalKey(b.account) ? -1 : 1,
  );
  const slot = balanceSlotFor(tx);
  const ids = await ledgerAccountIds(
    tx,
    ordered.map((entry) => entry.account),
    txn.created,
  );
  const rows = ordered.map((entry) => ({
    id: newId('le', txn.created * 1000),
    transaction_id: txn.id,
    ledger_account_id: ids.get(naturalKey(entry.account)) as string,
    amount: entry.amountMinor + 0,
    currency: entry.account.currency,
    created: txn.created,
  }));
  if (rows.length === 0) return;
  await insertRows(tx, 'ledger_entries', rows);
  // One balance row per account: entries to the same account add up first.
  const sums = new Map<string, number>();
  for (const row of rows) {
    sums.set(row.ledger_account_id, (sums.get(row.ledger_account_id) ?? 0) + row.amount);
  }
  await addToBalances(
    tx,
    slot,
    [...sums].map(([ledgerAccountId, amountMinor]) => ({ ledgerAccountId, amountMinor })),
  );
}
