import pg from 'pg';
import { sha256Hex } from '../lib/crypto.ts';
import { newId } from '../lib/ids.ts';
import type { DatabaseHandle } from './database.ts';

// Which engine processes are alive. Work in progress (a pending attempt, an
// idempotency key being executed) records the process that owns it; recovery
// takes it over only when that process is gone. On SQLite one process owns
// the data directory, so every other owner is gone. On PostgreSQL each process
// holds a session advisory lock named after its id on a connection of its
// own: the server drops the lock the moment that connection dies (kill -9
// included), so "can I take the lock?" answers "is the owner dead?".

export const PROCESS_INSTANCE_ID = newId('inst');

export interface InstanceRegistry {
  readonly instanceId: string;
  isAlive(instanceId: string): Promise<boolean>;
  close(): Promise<void>;
}

function lockKeys(instanceId: string): [number, number] {
  const hex = sha256Hex(instanceId);
  // Two signed 32-bit keys: pg_advisory_lock(int4, int4).
  return [Number.parseInt(hex.slice(0, 8), 16) | 0, Number.parseInt(hex.slice(8, 16), 16) | 0];
}

export async function createInstanceRegistry(
  handle: DatabaseHandle,
  databaseUrl: string | undefined,
): Promise<InstanceRegistry> {
  const instanceId = PROCESS_INSTANCE_ID;
  if (handle.dialect === 'sqlite' || databaseUrl === undefined) {
    return { instanceId, isAlive: async (id) => id === instanceId, close: async () => {} };
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  // A dropped connection must not crash the process: isAlive then fails and
  // recovery retries on its next pass.
  client.on('error', () => {});
  await client.connect();
  const [k1, k2] = lockKeys(instanceId);
  // try: another engine of this same process may hold it already, which is the same answer.
  await client.query('select pg_try_advisory_lock($1, $2)', [k1, k2]);
  return {
    instanceId,
    async isAlive(id: string): Promise<boolean> {
      if (id === instanceId) return true;
      const [a, b] = lockKeys(id);
      const got = await client.query<{ got: boolean }>(
        'select pg_try_advisory_lock($1, $2) as got',
        [a, b],
      );
      if (got.rows[0]?.got) {
        await client.query('select pg_advisory_unlock($1, $2)', [a, b]);
        return false;
      }
      return true;
    },
    close: () => client.end(),
  };
}
