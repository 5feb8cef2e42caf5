import { createHash } from 'node:crypto';
import type { Tx } from '../db/database.ts';
import {
  type BankTransfers,
  isPlaceholderReference,
  type ReceiptOutcome,
  referenceCandidates,
} from '../payments/bank-transfer.ts';
import type { LineMatch } from './compare.ts';
import { unmatched } from './compare.ts';
import type { LookupScope } from './lookup.ts';
import type { ReportLine } from './types.ts';

// A booked credit on a bank statement whose remittance information quotes the
// reference of an intent offered a bank transfer (the secondary method) is
// the customer's payment: it is recorded with the same function as the API's
// `bank_transfer_received` (src/payments/bank-transfer.ts), in the import's
// transaction. The credit's bank reference (its AcctSvcrRef, else a key made
// of its content) is recorded with it and is unique, so the same credit on a
// second statement, or already recorded by an operator under that reference,
// is not booked again (docs/bank-transfers.md). Nothing is booked, and the
// line is an exception for a human, when that reference was recorded for
// another intent, amount or currency (banks reuse references), or when the
// intent already received the same amount around that day under another
// reference (an operator who recorded it with their own note).

export type BankTransferReceiver = Pick<BankTransfers, 'receive' | 'findByReference'>;

export interface BankTransferEntry {
  line: ReportLine;
  /** Content keys given so far in this import, per statement (`contentReference`). */
  seen: Map<string, number>;
  reconciliationId: string;
  nowSeconds: number;
}

/** Within the API's bank_reference length, with room for a `#n` suffix. */
const CONTENT_KEY_LENGTH_MAX = 130;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The bank reference of a credit whose AcctSvcrRef identifies nothing: made of
 * what the entry says (the statement's account, booking date, amount,
 * currency, end-to-end id, a hash of the remittance text), not of its place,
 * so a statement re-issued with its entries in another order gives each
 * credit the same key. Identical credits in one statement (the same payer
 * paying the same amount twice that day) are told apart by their count: the
 * second is `…#2`.
 */
export function contentReference(line: ReportLine, seen: Map<string, number>): string {
  const bank = line.bank;
  if (!bank) throw new Error('a bank statement credit has its bank details');
  const day =
    line.occurredAt === null ? '-' : new Date(line.occurredAt * 1000).toISOString().slice(0, 10);
  const endToEnd = isPlaceholderReference(bank.endToEndId) ? '-' : String(bank.endToEndId);
  const remittance = (bank.remittance ?? '').replace(/\s+/g, ' ').trim();
  const parts = [
    bank.account || '-',
    day,
    `${line.amountMinor}${line.currency}`,
    endToEnd,
    sha256(remittance).slice(0, 16),
  ];
  let key = `camt053:${parts.join(':')}`;
  if (key.length > CONTENT_KEY_LENGTH_MAX) key = `camt053:${sha256(key)}`;
  const counted = `${bank.statementId}\n${key}`;
  const n = (seen.get(counted) ?? 0) + 1;
  seen.set(counted, n);
  return n === 1 ? key : `${key}#${n}`;
}

/** A bank reference that identifies the credit: AcctSvcrRef unless a placeholder. */
function bankReferenceOf(entry: BankTransferEntry): string {
  const ref = entry.line.bank?.acctSvcrRef;
  return ref && !isPlaceholderReference(ref) ? ref : contentReference(entry.line, entry.seen);
}

function matchOf(outcome: ReceiptOutcome, line: ReportLine): LineMatch {
  const found = { type: 'payment_intent' as const, id: outcome.intent.id };
  const base = {
    status: 'matched' as const,
    matchType: found.type,
    matchId: found.id,
    amountDifference: 0,
    feeDifference: null,
  };
  switch (outcome.kind) {
    case 'funded':
      return {
        ...base,
        action: 'bank_transfer_received',
        note: `bank transfer ${outcome.receipt.id} paid ${found.id} in full (charge ${outcome.charge.id})`,
      };
    case 'partially_funded':
      return {
        ...base,
        action: 'bank_transfer_partially_funded',
        note: `bank transfer ${outcome.receipt.id}: ${outcome.receipt.amount_remaining} ${line.currency} of ${found.id} remain`,
      };
    case 'duplicate':
      return {
        ...base,
        matchId: outcome.receipt.payment_intent_id,
        action: null,
        note: `already recorded as ${outcome.receipt.id}: nothing booked again`,
      };
    case 'reference_reused': {
      const r = outcome.receipt;
      return unmatched(
        `bank reference ${r.bank_reference} was already recorded as ${r.id} (${r.amount} ${r.currency} for ${r.payment_intent_id}), not for this credit: nothing booked; record it by hand if it is another transfer`,
        found,
      );
    }
    case 'lookalike': {
      const r = outcome.receipt;
      const day = new Date(r.received_at * 1000).toISOString().slice(0, 10);
      return unmatched(
        `${found.id} already received ${r.amount} ${r.currency} on ${day} as ${r.id} (${r.source}, bank reference ${r.bank_reference ?? 'none'}): maybe this credit, so nothing booked; record it by hand if it is another transfer`,
        found,
      );
    }
    case 'not_awaiting':
      return unmatched(
        `${outcome.message} The money is the customer's: apply or return it.`,
        found,
      );
    case 'currency_mismatch':
      return {
        ...base,
        status: 'amount_mismatch',
        amountDifference: null,
        action: null,
        note: outcome.message,
      };
    case 'overpaid':
      return {
        ...base,
        status: 'amount_mismatch',
        amountDifference: line.amountMinor - Math.max(outcome.remainingMinor, 0),
        action: null,
        note: `${outcome.message} Nothing booked.`,
      };
  }
}

/**
 * The match of a booked credit that quotes a bank transfer reference, after
 * recording it; null when it quotes none (it may be a processor's deposit).
 */
export async function matchBankTransfer(
  tx: Tx,
  receiver: BankTransferReceiver,
  scope: LookupScope,
  entry: BankTransferEntry,
): Promise<LineMatch | null> {
  const { line } = entry;
  const bank = line.bank;
  if (bank?.creditDebit !== 'CRDT') return null;
  const references = referenceCandidates([bank.remittance, bank.endToEndId]);
  if (references.length === 0) return null;
  const opScope = { accountId: scope.accountId, livemode: scope.livemode === 1 };
  const intents = await receiver.findByReference(tx, opScope, references);
  const [intent, ...others] = intents;
  if (!intent) return null;
  if (others.length > 0) {
    const ids = intents.map((i) => i.id).join(', ');
    return unmatched(`the remittance quotes the references of ${ids}: record it by hand`);
  }
  if (line.amountMinor <= 0)
    return unmatched('a credit of no amount', { type: 'payment_intent', id: intent.id });
  const bankReference = bankReferenceOf(entry);
  const outcome = await receiver.receive(
    tx,
    { scope: opScope, requestId: null, idempotencyKey: null },
    {
      intentId: intent.id,
      amountMinor: line.amountMinor,
      currency: line.currency,
      receivedAt: line.occurredAt ?? entry.nowSeconds,
      bankReference,
      source: 'camt053',
      reconciliationId: entry.reconciliationId,
      lookalikes: { bookedAt: line.occurredAt },
    },
  );
  return matchOf(outcome, line);
}
