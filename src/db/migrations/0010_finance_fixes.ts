import { type Kysely, type Migration, sql } from 'kysely';

// Finance fixes after review. A bank account is the default of its currency
// at most once per (account, mode, currency): a unique partial index, which
// SQLite and PostgreSQL both support, makes a second default impossible even
// if two requests race. Rows written before this migration may already hold
// two defaults (that race is why the index exists); the newest stays the
// default, as if the requests had run one after the other.
export function financeFixesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`UPDATE external_accounts SET default_for_currency = 0
        WHERE default_for_currency = 1 AND EXISTS (
          SELECT 1 FROM external_accounts newer
          WHERE newer.account_id = external_accounts.account_id
            AND newer.livemode = external_accounts.livemode
            AND newer.currency = external_accounts.currency
            AND newer.default_for_currency = 1
            AND newer.id > external_accounts.id)`.execute(db);
      await db.schema
        .createIndex('external_accounts_one_default')
        .on('external_accounts')
        .columns(['account_id', 'livemode', 'currency'])
        .unique()
        .where(sql.ref('default_for_currency'), '=', 1)
        .execute();
    },
  };
}
