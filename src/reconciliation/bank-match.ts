import type { Tx } from '../db/database.ts';
import {
  findPayout,
  markPayoutFailed,
  markPayoutPaid,
  type PayoutTransitionDeps,
  type TransitionOutcome,
} from '../payouts/transitions.ts';
import { type BankTransferReceiver, matchBankTransfer } from './bank-transfers.ts';
import { batchIdsIn, matchBatch } from './batches.ts';
import { compareAmount, type LineMatch, unmatched } from './compare.ts';
import type { LookupScope } from './lookup.ts';
import type { ReportLine } from './types.ts';

// Matching of a bank statement (camt.053) with payouts and settlement
// batches. A booked debit whose EndToEndId is one of our payouts (we write the
// po_ id there in the pain.001 file) pays it; a return (RtrInf, or a credit
// carrying a payout's EndToEndId) fails it. Both run in the import's database
// transaction, so the payout changes exactly when the statement is imported.
// Booked credits are the processors' deposits of our settlement batches, or a
// customer's bank transfer when they quote an intent's reference (bank-transfers.ts).

const PAYOUT_ID = /^po_[0-9a-z]{24}$/;

/** ISO 20022 return reasons to Stripe's payout failure codes. */
const RETURN_CODES: Record<string, string> = {
  AC01: 'invalid_account_number',
  AC03: 'invalid_account_number',
  AC04: 'account_closed',
  AC06: 'account_frozen',
  AG01: 'bank_account_restricted',
  AM04: 'insufficient_funds',
  BE01: 'incorrect_account_holder_name',
  MD07: 'no_account',
  RC01: 'invalid_account_number',
  RR01: 'could_not_process',
};

function outcomeMatch(
  base: LineMatch,
  outcome: TransitionOutcome,
  input: { payoutId: string; to: 'paid' | 'failed'; status: string },
): LineMatch {
  switch (outcome) {
    case 'changed':
      return { ...base, action: input.to === 'paid' ? 'payout_paid' : 'payout_failed' };
    case 'unchanged':
      return { ...base, note: `payout ${input.payoutId} was already ${input.to}` };
    case 'invalid_state':
      return unmatched(
        `payout ${input.payoutId} is ${input.status}: it cannot become ${input.to}`,
        {
          type: 'payout',
          id: input.payoutId,
        },
      );
    case 'not_found':
      return unmatched(`no payout ${input.payoutId}`);
  }
}

async function matchPayoutEntry(
  tx: Tx,
  deps: PayoutTransitionDeps,
  scope: LookupScope,
  line: ReportLine,
  taken: Map<string, number>,
): Promise<LineMatch> {
  const bank = line.bank;
  const payoutId = bank?.endToEndId ?? '';
  const ref = { accountId: scope.accountId, livemode: scope.livemode, payoutId };
  const payout = await findPayout(tx, ref);
  if (!payout || !bank) return unmatched(`no payout ${payoutId}`);
  const isReturn = bank.returnReason !== null || bank.creditDebit === 'CRDT';
  // One debit and one return per payout: a payout sent and returned shows both.
  const key = `${payoutId}:${isReturn ? 'return' : 'debit'}`;
  const earlier = taken.get(key);
  if (earlier !== undefined) {
    return unmatched(`payout ${payoutId} is already matched by entry ${earlier}`, {
      type: 'payout',
      id: payoutId,
    });
  }
  taken.set(key, line.lineNumber);
  const found = {
    type: 'payout' as const,
    id: payoutId,
    amountMinor: payout.amount,
    currency: payout.currency,
  };
  const compared = compareAmount(found, line, Math.abs(line.amountMinor));
  // A payout changes state only on an exact amount: anything else is for an operator.
  if (compared.status !== 'matched') return compared;
  if (isReturn) {
    const reason = bank.returnReason || 'unknown';
    const outcome = await markPayoutFailed(tx, deps, ref, {
      failureCode: RETURN_CODES[reason] ?? 'could_not_process',
      failureMessage: `Returned by the bank (reason ${reason}, statement ${bank.statementId}).`,
    });
    return outcomeMatch(compared, outcome, { payoutId, to: 'failed', status: payout.status });
  }
  const paidAt = line.occurredAt ?? Math.floor(deps.clock.nowMs() / 1000);
  const outcome = await markPayoutPaid(tx, deps, ref, { paidAt });
  return outcomeMatch(compared, outcome, { payoutId, to: 'paid', status: payout.status });
}

export async function matchBankStatement(
  tx: Tx,
  deps: PayoutTransitionDeps & { bankTransfers: BankTransferReceiver },
  scope: LookupScope,
  input: { lines: ReportLine[]; reconciliationId: string },
): Promise<LineMatch[]> {
  const payouts = new Map<string, number>();
  const batches = new Set<string>();
  const matches: LineMatch[] = [];
  // Content keys of the credits without a bank reference, per statement (bank-transfers.ts).
  const seen = new Map<string, number>();
  const nowSeconds = Math.floor(deps.clock.nowMs() / 1000);
  for (const line of input.lines) {
    const bank = line.bank;
    if (!bank) throw new Error('bank statement line without bank details');
    const entry = { line, seen, reconciliationId: input.reconciliationId, nowSeconds };
    if (bank.status !== 'BOOK') {
      matches.push(unmatched(`entry is ${bank.status || 'without status'}, not booked`));
    } else if (bank.endToEndId && PAYOUT_ID.test(bank.endToEndId)) {
      matches.push(await matchPayoutEntry(tx, deps, scope, line, payouts));
    } else if (bank.creditDebit === 'CRDT') {
      const transfer = await matchBankTransfer(tx, deps.bankTransfers, scope, entry);
      if (transfer) {
        matches.push(transfer);
        continue;
      }
      const ids = batchIdsIn([bank.remittance, bank.acctSvcrRef, bank.endToEndId]);
      const query = {
        ids,
        netMinor: line.amountMinor,
        currency: line.currency,
        at: line.occurredAt,
        taken: batches,
      };
      matches.push(await matchBatch(tx, scope, query));
    } else {
      matches.push(unmatched('a debit that names no payout'));
    }
  }
  return matches;
}
