import type { Kysely, Migration } from 'kysely';

// Accounting exports: the mapping of ledger accounts to a merchant's chart of accounts.
export function exportsMigration(): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
