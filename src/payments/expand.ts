import type { Scope } from '../db/context.ts';
import type { LedgerTransactionsTable } from '../db/schema.ts';
import { serializeBalanceTransaction } from '../ledger/serialize.ts';
import type { ApiPaymentIntent } from './serialize.ts';

// Stripe's expand[] for balance transactions: `balance_transaction` on a
// charge or refund, `latest_charge.balance_transaction` on a payment intent.
// Reads only: the write responses expand latest_charge at most.

export type ApiBalanceTransaction = ReturnType<typeof serializeBalanceTransaction>;

/** The ledger's read of one balance transaction in a scope (404 when it is not there). */
export type BalanceTransactionLookup = (
  scope: Scope,
  id: string,
) => Promise<LedgerTransactionsTable>;

export const LATEST_CHARGE_BALANCE = 'latest_charge.balance_transaction';

/** The expanded balance transaction when `expand` asks for `path` and one is linked. */
export async function expandBalanceTransaction(
  input: { lookup: BalanceTransactionLookup; scope: Scope; expand: string[] | undefined },
  path: string,
  id: string | null | undefined,
): Promise<ApiBalanceTransaction | undefined> {
  if (!id || !input.expand?.includes(path)) return undefined;
  return serializeBalanceTransaction(await input.lookup(input.scope, id));
}

/** Expanding `latest_charge.balance_transaction` expands `latest_charge` too, as on Stripe. */
export function withLatestCharge(expand: string[] | undefined): string[] | undefined {
  return expand?.includes(LATEST_CHARGE_BALANCE) ? [...expand, 'latest_charge'] : expand;
}

export async function expandIntent(
  input: { lookup: BalanceTransactionLookup; scope: Scope; expand: string[] | undefined },
  intent: ApiPaymentIntent,
): Promise<ApiPaymentIntent> {
  const charge = intent.latest_charge;
  if (charge === null || typeof charge === 'string') return intent;
  const linked = typeof charge.balance_transaction === 'string' ? charge.balance_transaction : null;
  const expanded = await expandBalanceTransaction(input, LATEST_CHARGE_BALANCE, linked);
  if (!expanded) return intent;
  return { ...intent, latest_charge: { ...charge, balance_transaction: expanded } };
}
