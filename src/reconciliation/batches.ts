import type { Executor } from '../db/database.ts';
import { BANK_TRANSFER_CONNECTOR } from '../ledger/bank-transfers.ts';
import { LIMITS } from '../lib/limits.ts';
import { compareAmount, type LineMatch, unmatched } from './compare.ts';
import type { LookupScope } from './lookup.ts';

// A processor's payout (in its report) or its deposit (on the bank
// statement) ↔ one of our settlement batches: by the batch id it carries
// (`PAYRAIL stb_...`), else by exact net, currency and a date within
// LIMITS.reconciliationDateToleranceDays, when exactly one batch fits.

const BATCH_ID = /\bstb_[0-9a-z]{24}\b/g;

export function batchIdsIn(texts: (string | null | undefined)[]): string[] {
  return [...new Set(texts.flatMap((t) => (t ? [...t.matchAll(BATCH_ID)].map((m) => m[0]) : [])))];
}

export interface BatchQuery {
  ids: string[];
  /** The batch's expected net (positive: paid to the merchant), minor units. */
  netMinor: number;
  currency: string;
  at: number | null;
  /** Batches an earlier line of the same file already matched. */
  taken: Set<string>;
}

export async function matchBatch(
  ex: Executor,
  scope: LookupScope,
  query: BatchQuery,
): Promise<LineMatch> {
  const batches = () => {
    let q = ex
      .selectFrom('settlement_batches')
      .select(['id', 'net', 'currency', 'cutoff'])
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode);
    if (scope.connectorId) q = q.where('connector_id', '=', scope.connectorId);
    return q;
  };
  if (query.ids.length > 0) {
    const found = await batches().where('id', 'in', query.ids).executeTakeFirst();
    if (!found) return unmatched(`no settlement batch ${query.ids.join(', ')}`);
    if (query.taken.has(found.id)) {
      return unmatched(`settlement batch ${found.id} is already matched by another line`);
    }
    query.taken.add(found.id);
    const batch = {
      type: 'settlement_batch' as const,
      id: found.id,
      amountMinor: found.net,
      currency: found.currency,
    };
    return compareAmount(batch, { currency: query.currency }, query.netMinor);
  }
  if (query.at === null)
    return unmatched('no batch reference and no date to match a settlement batch');
  const toleranceS = LIMITS.reconciliationDateToleranceDays * 86_400;
  const candidates = (
    await batches()
      // Bank transfer batches are never deposited: their credits are the customers'.
      .where('connector_id', '!=', BANK_TRANSFER_CONNECTOR)
      .where('currency', '=', query.currency)
      .where('net', '=', query.netMinor)
      .where('cutoff', '>=', query.at - toleranceS)
      .where('cutoff', '<=', query.at + toleranceS)
      .limit(LIMITS.reconciliationBatchRows)
      .execute()
  ).filter((b) => !query.taken.has(b.id));
  const [only] = candidates;
  if (candidates.length !== 1 || !only) {
    return unmatched(
      candidates.length === 0
        ? `no settlement batch with net ${query.netMinor} ${query.currency} within ${LIMITS.reconciliationDateToleranceDays} days`
        : `${candidates.length} settlement batches could match; the line carries no batch reference`,
    );
  }
  query.taken.add(only.id);
  return {
    status: 'matched',
    matchType: 'settlement_batch',
    matchId: only.id,
    amountDifference: 0,
    feeDifference: null,
    action: null,
    note: 'matched by amount and date',
  };
}
