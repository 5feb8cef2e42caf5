import { findConnected } from '../accounts/connect.ts';
import type { Scope } from '../db/context.ts';
import type { Executor } from '../db/database.ts';
import type { PaymentIntentsTable } from '../db/schema.ts';
import { ApiError, notFound } from '../lib/errors.ts';

// Splits (Stripe destination charges): a payment names a connected account of
// the caller in transfer_data[destination] and may keep an application fee.
// Here they are only checked and stored; the ledger posts the split when the
// charge is captured (ledger.postCharge reads them from the charge row).

export interface Splits {
  application_fee_amount: number | null;
  transfer_destination: string | null;
}

export const NO_SPLITS: Splits = { application_fee_amount: null, transfer_destination: null };

/** The splits an intent has now. */
export function splitsOf(intent: PaymentIntentsTable): Splits {
  return {
    application_fee_amount: intent.application_fee_amount ?? null,
    transfer_destination: intent.transfer_destination ?? null,
  };
}

/**
 * The splits after a request, checked: the fee needs a destination and is at
 * most `amountMinor` (the amount, or the amount to capture); a destination the
 * request names must be one of the caller's connected accounts.
 */
export async function checkSplits(
  ex: Executor,
  scope: Scope,
  input: {
    current: Splits;
    feeMinor: number | null | undefined;
    destination: string | undefined;
    amountMinor: number;
  },
): Promise<Splits> {
  const next: Splits = {
    application_fee_amount:
      input.feeMinor !== undefined ? input.feeMinor : input.current.application_fee_amount,
    transfer_destination: input.destination ?? input.current.transfer_destination,
  };
  const fee = next.application_fee_amount;
  if (fee !== null && next.transfer_destination === null) {
    throw new ApiError(
      'parameter_invalid',
      'application_fee_amount can only be used with transfer_data[destination] (a destination charge to a connected account).',
      { param: 'application_fee_amount' },
    );
  }
  if (fee !== null && fee > input.amountMinor) {
    throw new ApiError(
      'parameter_invalid',
      `application_fee_amount (${fee}) cannot be greater than the amount (${input.amountMinor}).`,
      { param: 'application_fee_amount' },
    );
  }
  if (input.destination !== undefined) {
    const account = await findConnected(ex, scope.accountId, input.destination);
    if (!account) throw notFound('destination', input.destination, 'transfer_data[destination]');
  }
  return next;
}
