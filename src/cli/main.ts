import { parseArgs } from 'node:util';
import { createAccountsService } from '../accounts/service.ts';
import { ConfigError, ensureDataDir, loadConfig } from '../config.ts';
import { migrate, openDatabase } from '../db/database.ts';
import { systemClock } from '../lib/clock.ts';

// `payrail <command>`: operator commands that work on the configured
// database (the same environment variables as the engine).
const USAGE = `usage:
  payrail start                                  start the engine (same as npm start)
  payrail keys create [--account acct_...] [--live] [--publishable]
                                                 make an API key and print it once
  payrail accounts create [--name NAME]          make a merchant account with a test secret key
  payrail psp-sim --port 9101 --name sim-a [--host H] [--data-dir DIR]
                                                 start the standalone processor simulator
  payrail ledger verify | settle                 check the books (exit 1 on a problem) / settle due funds (alias: release)
  payrail ledger export --format generic|quickbooks|xero --from D --to D [--account acct_] [--live] [--out FILE]
                                                 journal CSV of a date range (docs/exports.md)
  payrail fx load FILE.csv [--account acct_] [--live]
                                                 load FX rates from a CSV file (docs/fx.md)
  payrail payouts export --format pain.001 [--account acct_] [--live] [--out FILE] [--debtor-name N --debtor-iban I --debtor-bic B]
                                                 pending payouts as a pain.001 file, now in_transit (docs/payouts.md)
  payrail payouts mark po_... --paid | --failed CODE [--message M]
                                                 record what the bank did with a payout
  payrail reconcile import --type T --file F [--connector conn_] [--account acct_] [--live]
                                                 import a Stripe/Adyen settlement report or camt.053 statement
  payrail reconcile list | show recon_... | resolve rcl_... --note N
                                                 reconciliations and their exceptions (docs/reconciliation.md)`;

async function withAccounts<T>(
  fn: (accounts: ReturnType<typeof createAccountsService>) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  ensureDataDir(config.dataDir);
  const handle = openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    await migrate(handle);
    return await fn(createAccountsService(handle.db, systemClock));
  } finally {
    await handle.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (command === 'psp-sim') {
    const { runPspSimCli } = await import('../psp-sim/cli.ts');
    return runPspSimCli(argv.slice(1));
  }
  if (command === 'ledger' && sub === 'export') {
    const { runExportCli } = await import('../exports/cli.ts');
    return runExportCli(argv.slice(2));
  }
  if (command === 'payouts') {
    const { runPayoutsCli } = await import('../payouts/cli.ts');
    return runPayoutsCli(argv.slice(1));
  }
  if (command === 'reconcile') {
    const { runReconcileCli } = await import('../reconciliation/cli.ts');
    return runReconcileCli(argv.slice(1));
  }
  if (command === 'fx') {
    const { runFxCli } = await import('../fx/cli.ts');
    return runFxCli(argv.slice(1));
  }
  if (command === 'ledger') {
    const { runLedgerCli } = await import('../ledger/cli.ts');
    return runLedgerCli(argv.slice(1));
  }
  if (command === 'start') {
    await import('../main.ts');
    return -1;
  }
  if (command === 'keys' && sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        account: { type: 'string' },
        live: { type: 'boolean' },
        publishable: { type: 'boolean' },
      },
    });
    return withAccounts(async (accounts) => {
      const accountId = values.account ?? (await accounts.firstAccount())?.id;
      if (!accountId) {
        process.stderr.write(
          'payrail: no account yet: start the engine once or run `payrail accounts create`\n',
        );
        return 2;
      }
      const key = await accounts.createKey(accountId, {
        kind: values.publishable ? 'publishable' : 'secret',
        livemode: values.live === true,
      });
      process.stdout.write(`${key.key}\n`);
      return 0;
    });
  }
  if (command === 'accounts' && sub === 'create') {
    const { values } = parseArgs({ args: rest, options: { name: { type: 'string' } } });
    return withAccounts(async (accounts) => {
      const account = await accounts.createAccount({ businessName: values.name });
      const key = await accounts.createKey(account.id, { kind: 'secret', livemode: false });
      process.stdout.write(`${account.id}\n${key.key}\n`);
      return 0;
    });
  }
  process.stderr.write(`${USAGE}\n`);
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(
      `payrail: ${error instanceof ConfigError ? error.message : String((error as Error).stack ?? error)}\n`,
    );
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
