import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createPgDatabase, startEngine, type TestEngine, testDialect } from './engine.ts';

// An engine whose database the CLI can open too (on the PostgreSQL leg the
// test makes the database itself, so it knows the URL), with funds made
// available at once; and `payrail <args>` run against that database.

export interface CliEngine {
  t: TestEngine;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startCliEngine(): Promise<CliEngine> {
  const pg = testDialect() === 'postgres' ? await createPgDatabase() : undefined;
  const env: Record<string, string> = {
    PAYRAIL_FUNDS_AVAILABLE_AFTER_SECONDS: '0',
    ...(pg ? { DATABASE_URL: pg.url } : {}),
  };
  const t = await startEngine({ env });
  return {
    t,
    env: { ...env, PAYRAIL_DATA_DIR: t.dataDir, PAYRAIL_LOG_LEVEL: 'silent' },
    async close() {
      await t.close();
      await pg?.drop();
    },
  };
}

const execFileAsync = promisify(execFile);

/** Runs `payrail <args>` against the engine's database; never throws on a non-zero exit. */
export async function payrail(
  e: CliEngine,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['bin/payrail.mjs', ...args], {
      env: { ...process.env, ...e.env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
