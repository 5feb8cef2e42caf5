import type { Kysely, Migration } from 'kysely';

// Reconciliation imports, their lines and the exceptions an operator resolves.
export function reconciliationMigration(): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
