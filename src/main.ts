import { createEngine } from './app.ts';
import { ConfigError, ensureDataDir, loadConfig } from './config.ts';

// `npm start`: parse configuration, open the database, recover, listen.
async function main(): Promise<void> {
  const config = loadConfig();
  ensureDataDir(config.dataDir);
  const engine = await createEngine(config);
  const boot = await engine.accounts.bootstrap({ secretKey: config.bootstrapSecretKey });
  if (boot) {
    const secret = boot.keys.find((k) => k.kind === 'secret');
    const publishable = boot.keys.find((k) => k.kind === 'publishable');
    // Printed once, on a new data directory: only its hash is stored.
    process.stdout.write(
      `\nPayrail created account ${boot.account.id}.\n` +
        (config.bootstrapSecretKey
          ? 'Test secret key: the value of PAYRAIL_SECRET_KEY\n'
          : `Test secret key:      ${secret?.key}\n`) +
        `Test publishable key: ${publishable?.key}\nStore the secret key now: it is not shown again.\n\n`,
    );
  }
  await engine.recover();
  await engine.app.listen({ port: config.port, host: config.host });
  engine.logger.info(
    { port: config.port, host: config.host, database: engine.database.dialect },
    'payrail ready',
  );

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    engine.logger.info({ signal }, 'shutting down');
    await engine.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`payrail: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`payrail: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
