import { ApiError } from '../lib/errors.ts';
import { parseAdyenSettlementReport } from './adyen-report.ts';
import { parseCamt053 } from './camt053.ts';
import { parseStripeBalanceReport } from './stripe-report.ts';
import { FileRejection, type ParsedReport, type ReconciliationType } from './types.ts';

const LABELS: Record<ReconciliationType, string> = {
  stripe_balance_change: 'Stripe balance change report',
  adyen_settlement_details: 'Adyen settlement details report',
  camt053: 'camt.053 bank statement',
};

const PARSERS: Record<ReconciliationType, (text: string) => ParsedReport> = {
  stripe_balance_change: parseStripeBalanceReport,
  adyen_settlement_details: parseAdyenSettlementReport,
  camt053: parseCamt053,
};

/** Parses a whole file or rejects it whole, as a 400 that says where and why. */
export function parseReport(type: ReconciliationType, content: string, fileName: string | null) {
  try {
    return PARSERS[type](content);
  } catch (error) {
    if (!(error instanceof FileRejection)) throw error;
    const name = fileName ? ` "${fileName}"` : '';
    throw new ApiError(
      'reconciliation_file_invalid',
      `Invalid ${LABELS[type]}${name}: ${error.message}`,
      { param: 'file' },
    );
  }
}
