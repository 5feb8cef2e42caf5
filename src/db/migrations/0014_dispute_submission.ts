import type { Kysely, Migration } from 'kysely';

// The claim on a dispute's evidence submission (src/disputes/service.ts,
// docs/disputes.md#evidence-goes-to-the-processor). Before evidence goes to the
// processor, one short transaction writes who is sending it
// (`submission_claim`, a random token), under which reference
// (`submission_reference`) and until when (`submission_claim_expires`, epoch
// ms): a second submission meanwhile is refused instead of reaching the
// processor too, and only the holder records what the processor took. A
// claim whose process died stops counting at its expiry. All three are null
// when nothing is being sent.
export function disputeSubmissionMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('disputes').addColumn('submission_claim', 'text').execute();
      await db.schema.alterTable('disputes').addColumn('submission_reference', 'text').execute();
      await db.schema
        .alterTable('disputes')
        .addColumn('submission_claim_expires', 'bigint')
        .execute();
    },
  };
}
