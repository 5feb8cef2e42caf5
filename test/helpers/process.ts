import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// Runs the real engine as a separate process (`node --import tsx src/main.ts`),
// for tests that kill it. Processes are tracked by PID and killed on stop.

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface EngineProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnEngine(
  env: Record<string, string>,
  options: { readyTimeoutMs?: number } = {},
): Promise<EngineProcess> {
  const port = await freePort();
  const logPath = path.join(env.PAYRAIL_DATA_DIR ?? ROOT, `engine-${port}.log`);
  const log = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PAYRAIL_LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const pid = child.pid;
  if (pid === undefined) throw new Error('engine did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`engine exited early: ${fs.readFileSync(logPath, 'utf8')}`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`engine not ready in time: ${fs.readFileSync(logPath, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid,
    port,
    url,
    output: () => fs.readFileSync(logPath, 'utf8'),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, signal);
        await exited;
      }
    },
  };
}

/**
 * Runs `node args` and resolves with its exit status and output, like
 * spawnSync, but without blocking this process: a test that runs the CLI
 * beside an engine in this process must keep that engine's event loop going,
 * or a SQLite write group the engine opened stays open and the CLI waits on
 * its lock until busy_timeout.
 */
export function runNode(
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { env: options.env, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = (error as { code?: unknown } | null)?.code;
        resolve({ status: error ? (typeof code === 'number' ? code : null) : 0, stdout, stderr });
      },
    );
  });
}
