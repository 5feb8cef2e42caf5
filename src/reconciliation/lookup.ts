import type { Executor } from '../db/database.ts';
import type { LedgerTransactionsTable } from '../db/schema.ts';
import { DISPUTE_TYPES } from '../ledger/disputes.ts';
import { LIMITS } from '../lib/limits.ts';

// Read-only lookups of our side: which ledger transaction a processor's
// reference names. A reference may be the processor's id for our charge or
// refund (`connector_reference`), or one of our own ids that we sent along
// (Adyen's merchantReference is our attempt id pa_; a Stripe-compatible
// Payrail reports our pi_/ch_/re_ ids). All queries are scoped to one account
// and mode, and to one connector when the import names it.

export interface LookupScope {
  accountId: string;
  livemode: 0 | 1;
  connectorId: string | null;
}

export interface LedgerTxn extends LedgerTransactionsTable {
  /** The connector of the charge behind the transaction. */
  connector: string;
}

/** Runs `fn` over `values` in slices small enough for one IN (...) list. */
export async function inChunks<T, R>(values: readonly T[], fn: (chunk: T[]) => Promise<R[]>) {
  const out: R[] = [];
  for (let i = 0; i < values.length; i += LIMITS.reconciliationBatchRows) {
    if (values.length === 0) break;
    out.push(...(await fn(values.slice(i, i + LIMITS.reconciliationBatchRows))));
  }
  return out;
}

/** Charge id per reference: processor reference, ch_, pi_ (its captured charge) or pa_. */
export async function chargeIdsByRef(
  ex: Executor,
  scope: LookupScope,
  refs: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const charges = () => {
    let q = ex
      .selectFrom('charges')
      .select(['id', 'payment_intent_id', 'connector_reference'])
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode);
    if (scope.connectorId) q = q.where('connector', '=', scope.connectorId);
    return q;
  };
  const byProcessor = await inChunks(refs, (c) =>
    charges().where('connector_reference', 'in', c).execute(),
  );
  for (const row of byProcessor)
    if (row.connector_reference) found.set(row.connector_reference, row.id);
  const byId = await inChunks(refs, (c) => charges().where('id', 'in', c).execute());
  for (const row of byId) found.set(row.id, row.id);

  const attempts = await inChunks(refs, (c) =>
    ex
      .selectFrom('payment_attempts')
      .select(['id', 'payment_intent_id'])
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode)
      .where('operation', '=', 'authorize')
      .where('id', 'in', c)
      .execute(),
  );
  const intentOf = new Map<string, string>(refs.map((r) => [r, r]));
  for (const a of attempts) intentOf.set(a.id, a.payment_intent_id);
  const intents = [...new Set(intentOf.values())];
  // Newest first: with several charges under one intent, the captured one wins below.
  const byIntent = await inChunks(intents, (c) =>
    charges()
      .where('payment_intent_id', 'in', c)
      .where('captured', '=', 1)
      .orderBy('id', 'desc')
      .execute(),
  );
  const chargeOfIntent = new Map<string, string>();
  for (const row of byIntent) {
    if (!chargeOfIntent.has(row.payment_intent_id))
      chargeOfIntent.set(row.payment_intent_id, row.id);
  }
  for (const [ref, intent] of intentOf) {
    const charge = chargeOfIntent.get(intent);
    if (charge && !found.has(ref)) found.set(ref, charge);
  }
  return found;
}

/** Refund id per reference: processor refund reference (on its attempt), re_ or pa_. */
export async function refundIdsByRef(
  ex: Executor,
  scope: LookupScope,
  refs: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const attempts = await inChunks(refs, (c) =>
    ex
      .selectFrom('payment_attempts')
      .select(['id', 'connector_reference', 'refund_id'])
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode)
      .where('operation', '=', 'refund')
      .where('refund_id', 'is not', null)
      .where((eb) => eb.or([eb('connector_reference', 'in', c), eb('id', 'in', c)]))
      .execute(),
  );
  for (const a of attempts) {
    if (!a.refund_id) continue;
    found.set(a.id, a.refund_id);
    if (a.connector_reference) found.set(a.connector_reference, a.refund_id);
  }
  const refunds = await inChunks(refs, (c) =>
    ex
      .selectFrom('refunds')
      .select('id')
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode)
      .where('id', 'in', c)
      .execute(),
  );
  for (const r of refunds) found.set(r.id, r.id);
  return found;
}

/** The charge or refund postings of these sources, with the connector behind each. */
export async function ledgerTxnsBySource(
  ex: Executor,
  scope: LookupScope,
  type: 'charge' | 'refund',
  sources: string[],
): Promise<Map<string, LedgerTxn>> {
  const rows = await inChunks(sources, (c) =>
    ledgerQuery(ex, scope, type).where('t.source', 'in', c).execute(),
  );
  return new Map(rows.map((r) => [r.source, r]));
}

/** Charge and refund postings of a connector set, currencies and time range (inclusive). */
export async function ledgerTxnsInRange(
  ex: Executor,
  scope: LookupScope,
  input: { connectors: string[]; currencies: string[]; from: number; to: number; limit: number },
): Promise<LedgerTxn[]> {
  const out: LedgerTxn[] = [];
  if (input.connectors.length === 0 || input.currencies.length === 0) return out;
  for (const type of ['charge', 'refund'] as const) {
    const rows = await ledgerQuery(ex, { ...scope, connectorId: null }, type)
      .where('c.connector', 'in', input.connectors)
      .where('t.currency', 'in', input.currencies)
      .where('t.created', '>=', input.from)
      .where('t.created', '<=', input.to)
      .orderBy('t.id')
      .limit(input.limit - out.length + 1)
      .execute();
    out.push(...rows);
  }
  return out;
}

function ledgerQuery(ex: Executor, scope: LookupScope, type: 'charge' | 'refund') {
  const base =
    type === 'charge'
      ? ex.selectFrom('ledger_transactions as t').innerJoin('charges as c', 'c.id', 't.source')
      : ex
          .selectFrom('ledger_transactions as t')
          .innerJoin('refunds as r', 'r.id', 't.source')
          .innerJoin('charges as c', 'c.id', 'r.charge_id');
  let q = base
    .selectAll('t')
    .select('c.connector as connector')
    .where('t.account_id', '=', scope.accountId)
    .where('t.livemode', '=', scope.livemode)
    .where('t.type', '=', type);
  if (scope.connectorId) q = q.where('c.connector', '=', scope.connectorId);
  return q;
}

/**
 * The dispute postings of chargeback lines, per dispute (oldest first). A
 * line names its dispute by our du_ id or the processor's dispute id, or
 * else by the charge (its latest dispute).
 */
export async function disputeTxnsByRef(
  ex: Executor,
  scope: LookupScope,
  input: { disputeRefs: string[]; chargeIds: string[] },
) {
  const disputes = () => {
    let q = ex
      .selectFrom('disputes')
      .select(['id', 'connector_dispute_id', 'charge_id'])
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', scope.livemode);
    if (scope.connectorId) q = q.where('connector', '=', scope.connectorId);
    return q;
  };
  const byRef = new Map<string, string>();
  const byCharge = new Map<string, string>();
  const named = await inChunks(input.disputeRefs, (c) =>
    disputes()
      .where((eb) => eb.or([eb('id', 'in', c), eb('connector_dispute_id', 'in', c)]))
      .execute(),
  );
  for (const d of named) {
    byRef.set(d.id, d.id);
    byRef.set(d.connector_dispute_id, d.id);
  }
  const ofCharges = await inChunks(input.chargeIds, (c) =>
    disputes().where('charge_id', 'in', c).orderBy('id').execute(),
  );
  for (const d of ofCharges) byCharge.set(d.charge_id, d.id);
  const ids = [...new Set([...byRef.values(), ...byCharge.values()])];
  const rows = await inChunks(ids, (c) =>
    ex
      .selectFrom('ledger_transactions as t')
      .innerJoin('disputes as d', 'd.id', 't.source')
      .selectAll('t')
      .select('d.connector as connector')
      .where('t.account_id', '=', scope.accountId)
      .where('t.livemode', '=', scope.livemode)
      .where('t.type', 'in', DISPUTE_TYPES)
      .where('t.source', 'in', c)
      .orderBy('t.id')
      .execute(),
  );
  const txns = new Map<string, LedgerTxn[]>();
  for (const row of rows) txns.set(row.source, [...(txns.get(row.source) ?? []), row]);
  return { byRef, byCharge, txns };
}
