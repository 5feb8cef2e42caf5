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
  payrail ledger verify | release                check the books (exit 1 on a problem) / release due funds`;

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
