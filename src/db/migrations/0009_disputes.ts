import type { Kysely, Migration } from 'kysely';

// Disputes (chargebacks): filled in by the disputes work.
export function disputesMigration(): Migration {
  return {
    async up(_db: Kysely<unknown>): Promise<void> {},
  };
}
