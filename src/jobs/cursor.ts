import type { Executor, Tx } from '../db/database.ts';

// Durable named positions in a stream (for example the webhook fan-out's
// position in `events.seq`). Read it with `lockCursor` inside the transaction
// that also writes what the position covers, so both commit or neither does.

export async function lockCursor(tx: Tx, name: string, nowMs: number, postgres: boolean) {
  await tx
    .insertInto('job_cursors')
    .values({ name, position: 0, updated_ms: nowMs })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  let query = tx.selectFrom('job_cursors').select('position').where('name', '=', name);
  // On PostgreSQL the row lock serialises the processes that advance this cursor.
  if (postgres) query = query.forUpdate();
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.position);
}

export async function advanceCursor(
  ex: Executor,
  name: string,
  position: number,
  nowMs: number,
): Promise<void> {
  await ex
    .updateTable('job_cursors')
    .set({ position, updated_ms: nowMs })
    .where('name', '=', name)
    .execute();
}
