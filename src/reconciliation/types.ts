// Shapes shared by the report parsers and the matcher. Parsers are pure: text
// in, lines out, or a FileRejection naming the line and field.

export const RECONCILIATION_TYPES = [
  'stripe_balance_change',
  'adyen_settlement_details',
  'camt053',
] as const;
export type ReconciliationType = (typeof RECONCILIATION_TYPES)[number];

export type LineCategory =
  | 'charge'
  | 'refund'
  | 'payout'
  | 'fee'
  | 'chargeback'
  | 'bank_credit'
  | 'bank_debit'
  | 'other';

export const LINE_STATUSES = [
  'matched',
  'amount_mismatch',
  'fee_mismatch',
  'unmatched_report',
  'unmatched_ledger',
] as const;
export type LineStatus = (typeof LINE_STATUSES)[number];

/** One line of a processor report or bank statement, amounts in minor units. */
export interface ReportLine {
  lineNumber: number;
  category: LineCategory;
  /** The line's own id in the report (balance transaction, PSP reference, bank reference). */
  reference: string | null;
  /** Ids that may name our charge (processor references, our own pi_/pa_/ch_ ids). */
  chargeRefs: string[];
  /** Ids that may name our refund. */
  refundRefs: string[];
  /** Chargeback lines: ids that may name our dispute (du_… or the processor's dispute id). */
  disputeRefs?: string[];
  /** Lowercase ISO 4217 code. */
  currency: string;
  /** Gross, money in positive, money out negative. */
  amountMinor: number;
  /** Fees withheld (positive = charged); null when the report has none for the line. */
  feeMinor: number | null;
  netMinor: number | null;
  occurredAt: number | null;
  description: string | null;
  fields: Record<string, string>;
  /** Bank statements only. */
  bank?: BankEntryInfo;
}

export interface BankEntryInfo {
  statementId: string;
  /** The statement's account (Acct/Id: IBAN, else Othr/Id); null when it names none. */
  account?: string | null;
  creditDebit: 'CRDT' | 'DBIT';
  /** BOOK, PDNG, INFO. */
  status: string;
  endToEndId: string | null;
  acctSvcrRef: string | null;
  remittance: string | null;
  /** RtrInf/Rsn/Cd when the entry is a return; '' when RtrInf has no code. */
  returnReason: string | null;
}

export interface ParsedReport {
  lines: ReportLine[];
}

/** A file that cannot be imported; the message names where and why. */
export class FileRejection extends Error {
  override name = 'FileRejection';
}
