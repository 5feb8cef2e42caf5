import type { Scope } from '../db/context.ts';
import type { Executor } from '../db/database.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import { isoDay } from './dates.ts';
import { renderJournals } from './formats.ts';
import { rangeText, readJournals } from './journal.ts';
import { loadResolver } from './mappings.ts';
import { type ExportFormat, XERO_TAX_RATE_DEFAULT } from './schemas.ts';

// One journal export: read the range, check it, render the chosen layout.

export interface ExportRequest {
  format: ExportFormat;
  from: number;
  to: number;
  currency?: string | undefined;
  taxRate?: string | undefined;
}

export interface ExportFile {
  filename: string;
  csv: string;
  journals: number;
  lines: number;
}

export async function exportJournal(
  db: Executor,
  scope: Scope,
  request: ExportRequest,
): Promise<ExportFile> {
  const range = { from: request.from, to: request.to, currency: request.currency };
  const journals = await readJournals(db, scope, range);
  const lines = journals.reduce((n, j) => n + j.lines.length, 0);
  if (request.format === 'xero' && lines > LIMITS.exportXeroLinesMax) {
    throw new ApiError(
      'export_too_large',
      `The range ${rangeText(range)} holds ${lines} journal lines; Xero imports at most ${LIMITS.exportXeroLinesMax} per file: export a shorter range.`,
      { param: 'to' },
    );
  }
  const chart = await loadResolver(db, scope);
  const csv = renderJournals({
    format: request.format,
    journals,
    chart,
    xeroTaxRate: request.taxRate ?? XERO_TAX_RATE_DEFAULT,
  });
  const mode = scope.livemode ? 'live' : 'test';
  const currency = request.currency ? `-${request.currency}` : '';
  const filename = `payrail-journal-${request.format}-${scope.accountId}-${mode}${currency}-${isoDay(request.from)}-${isoDay(request.to)}.csv`;
  return { filename, csv, journals: journals.length, lines };
}
