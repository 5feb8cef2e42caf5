import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LIMITS } from './lib/limits.ts';

// Configuration comes from the environment, is parsed once at start and a bad
// value stops the start with a message that names it. No default secrets.
const SECRET_KEY_PATTERN = /^sk_test_[A-Za-z0-9]{24,}$/;

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  PAYRAIL_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  PAYRAIL_SECRET_KEY: z
    .string()
    .regex(SECRET_KEY_PATTERN, 'must be sk_test_ followed by at least 24 letters or digits')
    .optional(),
  PAYRAIL_MASTER_KEY: z.string().min(1).optional(),
  PAYRAIL_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  PAYRAIL_SANDBOX_LATENCY_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(LIMITS.sandboxLatencyMsMax)
    .default(0),
  PAYRAIL_PUBLIC_URL: z.string().url().optional(),
});

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  bootstrapSecretKey: string | undefined;
  masterKey: string | undefined;
  logLevel: string;
  sandboxLatencyMs: number;
  publicUrl: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = EnvSchema.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.PAYRAIL_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    bootstrapSecretKey: e.PAYRAIL_SECRET_KEY,
    masterKey: e.PAYRAIL_MASTER_KEY,
    logLevel: e.PAYRAIL_LOG_LEVEL,
    sandboxLatencyMs: e.PAYRAIL_SANDBOX_LATENCY_MS,
    publicUrl: e.PAYRAIL_PUBLIC_URL,
  };
}

export function ensureDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
}
