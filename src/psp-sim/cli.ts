import { parseArgs } from 'node:util';
import { defaultPspSimDataDir, startPspSim } from './server.ts';

// `payrail psp-sim --port 9101 --name sim-a`: runs the simulator until
// SIGINT or SIGTERM. Returns -1 while it runs (the caller must not exit),
// 2 with a usage message on bad arguments.

const USAGE = `usage: payrail psp-sim --port PORT --name NAME [--host 127.0.0.1]
                       [--data-dir ./data/psp-sim-NAME] [--api-key KEY] [--control-port PORT]
  Starts the standalone processor simulator (docs/psp-sim.md).`;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

interface CliOptions {
  port: number;
  name: string;
  host: string;
  dataDir: string;
  apiKey: string | null;
  controlPort: number;
}

function parsePort(text: string | undefined, flag: string, fallback?: number): number {
  if (text === undefined) {
    if (fallback === undefined) throw new Error(`${flag} is required`);
    return fallback;
  }
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535)
    throw new Error(`${flag} must be a port number 0..65535`);
  return port;
}

/** Parses the arguments; throws an Error whose message names the bad flag. */
export function parsePspSimArgs(args: string[]): CliOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      name: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'api-key': { type: 'string' },
      'control-port': { type: 'string' },
    },
  });
  const name = values.name;
  if (!name) throw new Error('--name is required');
  if (!NAME_PATTERN.test(name)) {
    throw new Error('--name must be 1 to 63 letters, digits, - or _');
  }
  if (values['api-key'] === '') throw new Error('--api-key must not be empty');
  return {
    port: parsePort(values.port, '--port'),
    name,
    host: values.host ?? '127.0.0.1',
    dataDir: values['data-dir'] ?? defaultPspSimDataDir(name),
    apiKey: values['api-key'] ?? null,
    controlPort: parsePort(values['control-port'], '--control-port', 0),
  };
}

export async function runPspSimCli(args: string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parsePspSimArgs(args);
  } catch (error) {
    process.stderr.write(`payrail psp-sim: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const sim = await startPspSim(options);
  process.stdout.write(
    `psp-sim ${options.name} listening on ${sim.url} (control ${sim.controlUrl}), data in ${options.dataDir}\n`,
  );
  const stop = () => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return -1;
}
