import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { cliScope, withCliDatabase } from '../fx/cli.ts';
import { parseWith } from '../http/validation.ts';
import { ApiError } from '../lib/errors.ts';
import { ExportQuery } from './schemas.ts';
import { exportJournal } from './service.ts';

// `payrail ledger export`: the same export as GET /v1/ledger/exports, on the
// configured database, to a file or stdout.
export const EXPORT_USAGE = `  payrail ledger export --format generic|quickbooks|xero --from D --to D
        [--account acct_...] [--live] [--currency C] [--tax-rate NAME] [--out FILE]
                                                 journal CSV of a date range (D: unix seconds or ISO date)`;

export async function runExportCli(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      format: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      account: { type: 'string' },
      live: { type: 'boolean' },
      currency: { type: 'string' },
      'tax-rate': { type: 'string' },
      out: { type: 'string' },
    },
  });
  return withCliDatabase(async (db) => {
    const scope = await cliScope(db, values.account, values.live === true);
    if (!scope) {
      process.stderr.write(`ledger export: no such account: ${values.account ?? '(none yet)'}\n`);
      return 2;
    }
    try {
      const query = parseWith(ExportQuery, {
        format: values.format,
        from: values.from,
        to: values.to,
        ...(values.currency !== undefined ? { currency: values.currency } : {}),
        ...(values['tax-rate'] !== undefined ? { tax_rate: values['tax-rate'] } : {}),
      });
      const file = await exportJournal(db, scope, {
        format: query.format,
        from: query.from,
        to: query.to,
        currency: query.currency,
        taxRate: query.tax_rate,
      });
      if (values.out) {
        fs.writeFileSync(values.out, file.csv);
        process.stderr.write(
          `ledger export: ${file.journals} journal(s), ${file.lines} line(s) written to ${values.out}\n`,
        );
      } else process.stdout.write(file.csv);
      return 0;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const param = error.param ? ` (--${error.param.replace('_', '-')})` : '';
      process.stderr.write(`ledger export: ${error.message}${param}\n${EXPORT_USAGE}\n`);
      return 2;
    }
  });
}
