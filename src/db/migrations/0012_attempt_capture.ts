import type { Kysely, Migration } from 'kysely';

// Whether an authorize attempt asked the processor to capture at once. An
// intent's capture_method can change before it is confirmed again (after a
// failed try), so recovery must not judge an earlier attempt by the intent's
// current method: it voids or refunds, and books, what that attempt did.
// Null on attempts written before 0012: the intent's method then stands.
export function attemptCaptureMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('payment_attempts').addColumn('captures', 'integer').execute();
    },
  };
}
