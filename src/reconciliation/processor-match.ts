import type { Executor } from '../db/database.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import { batchIdsIn, matchBatch } from './batches.ts';
import { compareWithTxn, type LineMatch, unmatched } from './compare.ts';
import {
  chargeIdsByRef,
  disputeTxnsByRef,
  type LedgerTxn,
  type LookupScope,
  ledgerTxnsBySource,
  ledgerTxnsInRange,
  refundIdsByRef,
} from './lookup.ts';
import type { ReportLine } from './types.ts';

// Matching of a processor's settlement report (Stripe, Adyen) with our books:
// each charge/refund line with the ledger transaction its references name,
// each payout line with a settlement batch, and then our transactions of the
// report's connectors, currencies and period that no line named.

export interface ProcessorMatch {
  matches: LineMatch[];
  /** Ledger transactions the report should have listed and did not. */
  missed: LedgerTxn[];
  period: { start: number; end: number } | null;
}

/** Every line's ledger transaction (or none), resolved in a few bulk queries. */
async function txnPerLine(ex: Executor, scope: LookupScope, lines: ReportLine[]) {
  const chargeRefs = [...new Set(lines.flatMap((l) => l.chargeRefs))];
  const refundRefs = [...new Set(lines.flatMap((l) => l.refundRefs))];
  const chargeIds = await chargeIdsByRef(ex, scope, chargeRefs);
  const refundIds = await refundIdsByRef(ex, scope, refundRefs);
  const chargeTxns = await ledgerTxnsBySource(ex, scope, 'charge', [
    ...new Set(chargeIds.values()),
  ]);
  const refundTxns = await ledgerTxnsBySource(ex, scope, 'refund', [
    ...new Set(refundIds.values()),
  ]);
  const disputes = await disputeTxnsByRef(ex, scope, {
    disputeRefs: [...new Set(lines.flatMap((l) => l.disputeRefs ?? []))],
    chargeIds: [
      ...new Set(
        lines
          .filter((l) => l.category === 'chargeback')
          .flatMap((l) => l.chargeRefs.map((r) => chargeIds.get(r) ?? '')),
      ),
    ],
  });
  // A dispute may withdraw and reinstate twice: its lines take its postings in order.
  const used = new Map<string, number>();
  const disputeTxn = (line: ReportLine): LedgerTxn | null => {
    const id =
      (line.disputeRefs ?? []).map((r) => disputes.byRef.get(r)).find((d) => d !== undefined) ??
      line.chargeRefs
        .map((r) => disputes.byCharge.get(chargeIds.get(r) ?? ''))
        .find((d) => d !== undefined);
    if (!id) return null;
    const sign = line.amountMinor < 0 ? -1 : 1;
    const candidates = (disputes.txns.get(id) ?? []).filter((t) => Math.sign(t.amount) === sign);
    const key = `${id}|${sign}`;
    const index = used.get(key) ?? 0;
    used.set(key, index + 1);
    return candidates[Math.min(index, candidates.length - 1)] ?? null;
  };
  return lines.map((line): LedgerTxn | null => {
    if (line.category === 'chargeback') return disputeTxn(line);
    for (const ref of line.chargeRefs) {
      const txn = chargeTxns.get(chargeIds.get(ref) ?? '');
      if (txn) return txn;
    }
    for (const ref of line.refundRefs) {
      const txn = refundTxns.get(refundIds.get(ref) ?? '');
      if (txn) return txn;
    }
    return null;
  });
}

async function matchLine(
  ex: Executor,
  scope: LookupScope,
  line: ReportLine,
  txn: LedgerTxn | null,
  taken: { txns: Map<string, number>; batches: Set<string> },
): Promise<LineMatch> {
  if (line.category === 'payout') {
    return matchBatch(ex, scope, {
      ids: batchIdsIn([line.description, line.reference, ...Object.values(line.fields)]),
      netMinor: -line.amountMinor,
      currency: line.currency,
      at: line.occurredAt,
      taken: taken.batches,
    });
  }
  if (line.category !== 'charge' && line.category !== 'refund' && line.category !== 'chargeback') {
    return unmatched(`${line.category} lines have no ledger counterpart`);
  }
  if (!txn) {
    const refs = [...(line.disputeRefs ?? []), ...line.chargeRefs, ...line.refundRefs];
    const what = line.category === 'chargeback' ? 'dispute posting' : line.category;
    return unmatched(`no ${what} in the ledger for ${refs.join(', ') || 'this line'}`);
  }
  const earlier = taken.txns.get(txn.id);
  if (earlier !== undefined) {
    return unmatched(`${txn.id} is already matched by line ${earlier}`, {
      type: 'ledger_transaction',
      id: txn.id,
    });
  }
  taken.txns.set(txn.id, line.lineNumber);
  return compareWithTxn(line, txn);
}

function periodOf(lines: ReportLine[]): { start: number; end: number } | null {
  const times = lines
    .filter((l) => l.category === 'charge' || l.category === 'refund')
    .map((l) => l.occurredAt)
    .filter((t): t is number => t !== null);
  if (times.length === 0) return null;
  return { start: Math.min(...times), end: Math.max(...times) };
}

export async function matchProcessorReport(
  ex: Executor,
  scope: LookupScope,
  lines: ReportLine[],
): Promise<ProcessorMatch> {
  const txns = await txnPerLine(ex, scope, lines);
  const taken = { txns: new Map<string, number>(), batches: new Set<string>() };
  const matches: LineMatch[] = [];
  for (const [i, line] of lines.entries()) {
    matches.push(await matchLine(ex, scope, line, txns[i] ?? null, taken));
  }
  const period = periodOf(lines);
  // Without a named connector, the report's connectors are those of the lines that matched.
  const connectors = scope.connectorId
    ? [scope.connectorId]
    : [...new Set(txns.filter((t): t is LedgerTxn => t !== null).map((t) => t.connector))];
  const currencies = [
    ...new Set(
      lines
        .filter((l) => l.category === 'charge' || l.category === 'refund')
        .map((l) => l.currency),
    ),
  ];
  const inRange = period
    ? await ledgerTxnsInRange(ex, scope, {
        connectors,
        currencies,
        from: period.start,
        to: period.end,
        limit: LIMITS.reconciliationLedgerScanMax,
      })
    : [];
  if (inRange.length > LIMITS.reconciliationLedgerScanMax) {
    throw new ApiError(
      'parameter_invalid',
      `The report's period holds more than ${LIMITS.reconciliationLedgerScanMax} ledger transactions; import it in smaller files.`,
      { param: 'file' },
    );
  }
  return { matches, missed: inRange.filter((t) => !taken.txns.has(t.id)), period };
}
