import type { Kysely, Migration } from 'kysely';

// Finance fixes after review: filled in by that work.
export function financeFixesMigration(): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
