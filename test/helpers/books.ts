import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/schema.ts';

/**
 * The ledger accounts with their balances (the sum of their balance slots,
 * src/ledger/accounts.ts), queryable like a table named `ledger_accounts`:
 * `ledgerBooks(db).select(['purpose', 'balance']).where(...)`.
 */
export function ledgerBooks(db: Kysely<Database>) {
  return db.selectFrom((eb) =>
    eb
      .selectFrom('ledger_accounts as a')
      .selectAll('a')
      .select(
        sql<number>`(SELECT CAST(COALESCE(SUM(b.balance), 0) AS BIGINT) FROM ledger_balances b WHERE b.ledger_account_id = a.id)`.as(
          'balance',
        ),
      )
      .as('ledger_accounts'),
  );
}
