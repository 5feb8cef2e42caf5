import type {
  Connector,
  DisputeEvidenceOutcome,
  DisputeNotice,
  DisputeReason,
  DisputeStatus,
} from '../connectors/types.ts';
import { livemodeFlag, type OpContext, type Scope } from '../db/context.ts';
import { type Db, type Executor, type Tx, toJson } from '../db/database.ts';
import { selectRow } from '../db/insert.ts';
import type { ChargesTable, DisputesTable, LedgerTransactionsTable } from '../db/schema.ts';
import {
  type EventsService,
  type NewEvent,
  previousAttributes,
  type RecordContext,
} from '../events/service.ts';
import { paginate } from '../http/pagination.ts';
import { mergeMetadata } from '../http/validation.ts';
import { DISPUTE_TYPES, type DisputeBooking } from '../ledger/disputes.ts';
import { assert } from '../lib/assert.ts';
import { type Clock, unixSeconds } from '../lib/clock.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { newId, randomToken } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import type { DisputeListInput, DisputeUpdateInput, Evidence } from './schemas.ts';
import { type ApiDispute, evidenceOf, serializeDispute } from './serialize.ts';
import { CLOSED_STATUSES, disputeRank, fundsMovesFor, RESPONDABLE_STATUSES } from './states.ts';

// Disputes. A dispute arises from its processor (a notice, or the sandbox's
// dispute test card) and then only moves forward (states.ts). Every change
// is one transaction: the dispute row (version-checked, locked first), the
// ledger postings its new status implies (src/ledger/disputes.ts) and its
// events, so a dispute's books and its state can never disagree.
// Submitted evidence goes to the dispute's processor first, outside any
// transaction (forwardEvidence); only what the processor took is recorded.
// A short transaction claims the submission before the call (the row's
// submission_claim, a bounded lease), so two requests never both send
// evidence for one dispute, and only the claim's holder records it.

/** The connector id of the built-in sandbox. */
export const SANDBOX_CONNECTOR = 'sandbox';

export interface DisputeOpening {
  charge: ChargesTable;
  connector: string;
  connectorDisputeId: string;
  amountMinor: number;
  reason: DisputeReason;
  status: DisputeStatus;
  cycle: 1 | 2;
  networkReasonCode: string | null;
  dueBy: number | null;
}

/** What a notice did: `ignored` names why (nothing was written). */
export type NoticeResult =
  | { result: 'opened' | 'updated' | 'unchanged'; dispute: string }
  | { result: 'ignored'; why: string };

interface Change {
  status?: DisputeStatus;
  cycle?: number;
  fields?: Partial<DisputesTable>;
}

/** The `where` of a query over `disputes` (select or update), for the lock's two lookups. */
type LockWhere<Q> = (
  column: 'id' | 'connector' | 'connector_dispute_id',
  op: '=',
  value: string,
) => Q;

function internal(scope: Scope): RecordContext {
  return { scope, requestId: null, idempotencyKey: null };
}

function scopeOf(row: Pick<DisputesTable, 'account_id' | 'livemode'>): Scope {
  return { accountId: row.account_id, livemode: row.livemode === 1 };
}

/** The connector behind a dispute's `connector` id, with its call timeout. */
export type DisputeConnectorResolver = (
  connectorId: string,
) => Promise<{ connector: Connector; timeoutMs: number }>;

export function createDisputesService(deps: {
  db: Db;
  clock: Clock;
  events: EventsService;
  booking: DisputeBooking;
  /** Absent: evidence is recorded only, as for the sandbox. */
  resolveConnector?: DisputeConnectorResolver;
}) {
  const { db, clock, events, booking } = deps;

  async function postingsOf(ex: Executor, ids: string[]) {
    const bySource = new Map<string, LedgerTransactionsTable[]>();
    if (ids.length === 0) return bySource;
    const rows = await ex
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('source', 'in', ids)
      .where('type', 'in', DISPUTE_TYPES)
      .execute();
    for (const row of rows) bySource.set(row.source, [...(bySource.get(row.source) ?? []), row]);
    return bySource;
  }

  async function serialize(ex: Executor, row: DisputesTable): Promise<ApiDispute> {
    const postings = await postingsOf(ex, [row.id]);
    return serializeDispute(row, postings.get(row.id) ?? []);
  }

  /**
   * Locks the dispute for the rest of the transaction and reads it: the
   * no-op UPDATE takes the row lock on PostgreSQL (SQLite's write lock covers
   * it), so two changes of one dispute run one after the other.
   */
  async function lock(tx: Tx, key: { id: string } | { connector: string; reference: string }) {
    const match = <Q extends { where: LockWhere<Q> }>(q: Q): Q =>
      'id' in key
        ? q.where('id', '=', key.id)
        : q
            .where('connector', '=', key.connector)
            .where('connector_dispute_id', '=', key.reference);
    await match(tx.updateTable('disputes').set((eb) => ({ version: eb.ref('version') }))).execute();
    return match(tx.selectFrom('disputes').selectAll()).executeTakeFirst();
  }

  async function lockScoped(tx: Tx, scope: Scope, id: string): Promise<DisputesTable> {
    const row = await lock(tx, { id });
    if (!row || row.account_id !== scope.accountId || row.livemode !== livemodeFlag(scope))
      throw notFound('dispute', id);
    return row;
  }

  /**
   * Applies a change: the new status and fields, the ledger movements the
   * status implies (never undone: a dispute's money only moves forward), the
   * row (version-checked) and the events, in the caller's transaction.
   */
  async function advance(
    tx: Tx,
    ctx: RecordContext,
    before: DisputesTable,
    change: Change,
    created = false,
  ): Promise<{ row: DisputesTable; api: ApiDispute }> {
    const charge = await tx
      .selectFrom('charges')
      .selectAll()
      .where('id', '=', before.charge_id)
      .executeTakeFirst();
    assert(charge !== undefined, `charge ${before.charge_id} of ${before.id} exists`);
    const apiBefore = created ? null : await serialize(tx, before);
    let after: DisputesTable = {
      ...before,
      ...change.fields,
      status: change.status ?? before.status,
      cycle: change.cycle ?? before.cycle,
      updated: unixSeconds(clock),
    };
    const status = after.status as DisputeStatus;
    const target = fundsMovesFor(status, after.cycle);
    const moved: NewEvent['type'][] = [];
    while (after.funds_moves < target) {
      const txn = await booking.postDisputeMovement(tx, { dispute: after, charge });
      moved.push(
        txn.amount < 0 ? 'charge.dispute.funds_withdrawn' : 'charge.dispute.funds_reinstated',
      );
      after = { ...after, funds_moves: after.funds_moves + 1 };
    }
    // Once the processor took the funds, a refund would pay the customer twice.
    if (after.funds_moves > 0) after.is_charge_refundable = 0;
    after.version = before.version + 1;
    const saved = await tx
      .updateTable('disputes')
      .set(after)
      .where('id', '=', before.id)
      .where('version', '=', before.version)
      .executeTakeFirst();
    assert(Number(saved.numUpdatedRows) === 1, `${before.id} changed under its lock`);
    const api = await serialize(tx, after);
    await events.record(tx, ctx, disputeEvents({ before, after, apiBefore, api, moved }));
    return { row: after, api };
  }

  /** Opens the dispute a processor reported, or moves it on when it exists (a repeated notice). */
  async function open(tx: Tx, o: DisputeOpening): Promise<NoticeResult> {
    const { charge } = o;
    const now = unixSeconds(clock);
    const row: DisputesTable = {
      id: newId('du', clock.nowMs()),
      account_id: charge.account_id,
      livemode: charge.livemode,
      charge_id: charge.id,
      payment_intent_id: charge.payment_intent_id,
      connector: o.connector,
      connector_dispute_id: o.connectorDisputeId,
      amount: o.amountMinor,
      currency: charge.currency,
      reason: o.reason,
      status: o.status,
      cycle: o.cycle,
      funds_moves: 0,
      network_reason_code: o.networkReasonCode,
      evidence: '{}',
      due_by: o.dueBy,
      submission_count: 0,
      has_evidence: 0,
      past_due: 0,
      is_charge_refundable: charge.amount_refunded < charge.amount_captured ? 1 : 0,
      metadata: '{}',
      version: 0,
      created: now,
      updated: now,
      submission_claim: null,
      submission_reference: null,
      submission_claim_expires: null,
    };
    const ctx = internal(scopeOf(row));
    const inserted = await tx
      .insertInto('disputes')
      .values(row)
      .onConflict((oc) => oc.columns(['connector', 'connector_dispute_id']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) {
      await tx.updateTable('charges').set({ disputed: 1 }).where('id', '=', charge.id).execute();
      await advance(tx, ctx, row, {}, true);
      return { result: 'opened', dispute: row.id };
    }
    const existing = await lock(tx, { connector: o.connector, reference: o.connectorDisputeId });
    assert(existing !== undefined, `dispute ${o.connectorDisputeId} of ${o.connector} exists`);
    if (existing.charge_id !== charge.id) return { result: 'ignored', why: 'names another charge' };
    const current = disputeRank(existing.status as DisputeStatus, existing.cycle);
    if (disputeRank(o.status, o.cycle) <= current)
      return { result: 'unchanged', dispute: existing.id };
    const fields = { due_by: o.dueBy ?? existing.due_by };
    await advance(tx, ctx, existing, { status: o.status, cycle: o.cycle, fields });
    return { result: 'updated', dispute: existing.id };
  }

  /** The captured charge of `connectorId` that a notice's references name. */
  async function chargeOfNotice(tx: Tx, connectorId: string, refs: string[]) {
    if (refs.length === 0) return undefined;
    const direct = await tx
      .selectFrom('charges')
      .selectAll()
      .where('connector', '=', connectorId)
      .where((eb) => eb.or([eb('connector_reference', 'in', refs), eb('id', 'in', refs)]))
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (direct) return direct;
    // Our own attempt id (Adyen's merchantReference, psp-sim's reference).
    return tx
      .selectFrom('payment_attempts as a')
      .innerJoin('charges as c', 'c.payment_intent_id', 'a.payment_intent_id')
      .selectAll('c')
      .where('a.id', 'in', refs)
      .where('a.connector', '=', connectorId)
      .where('c.connector', '=', connectorId)
      .where('c.captured', '=', 1)
      .orderBy('c.id', 'desc')
      .executeTakeFirst();
  }

  /** A processor's dispute notice, verified by its connector: opens or moves on one dispute. */
  async function applyNotice(connectorId: string, notice: DisputeNotice): Promise<NoticeResult> {
    return db.transaction().execute(async (tx) => {
      const refs = notice.paymentReferences.slice(0, LIMITS.disputeNoticeReferencesMax);
      const charge = await chargeOfNotice(tx, connectorId, refs);
      if (!charge) return { result: 'ignored', why: `no charge of this connector for ${refs}` };
      if (charge.captured !== 1 || charge.amount_captured === 0)
        return { result: 'ignored', why: `${charge.id} is not captured` };
      if (notice.currency !== null && notice.currency !== charge.currency)
        return { result: 'ignored', why: `currency ${notice.currency} is not ${charge.currency}` };
      const amountMinor = notice.amountMinor ?? charge.amount_captured;
      if (amountMinor < 1 || amountMinor > charge.amount_captured)
        return {
          result: 'ignored',
          why: `amount ${amountMinor} outside 1..${charge.amount_captured}`,
        };
      return open(tx, {
        charge,
        connector: connectorId,
        connectorDisputeId: notice.disputeReference,
        amountMinor,
        reason: notice.reason,
        status: notice.status,
        cycle: notice.cycle,
        networkReasonCode: notice.networkReasonCode,
        dueBy: notice.evidenceDueBy,
      });
    });
  }

  /** The sandbox's dispute test card: disputed as fraudulent right after capture, in its transaction. */
  async function openSandbox(tx: Tx, charge: ChargesTable): Promise<NoticeResult> {
    return open(tx, {
      charge,
      connector: SANDBOX_CONNECTOR,
      connectorDisputeId: `sbxdp_${charge.id}`,
      amountMinor: charge.amount_captured,
      reason: 'fraudulent',
      status: 'needs_response',
      cycle: 1,
      networkReasonCode: '10.4',
      dueBy: unixSeconds(clock) + LIMITS.disputeEvidenceDueSeconds,
    });
  }

  async function retrieve(scope: Scope, id: string): Promise<ApiDispute> {
    const row = await selectRow(db, 'disputes', {
      id,
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
    });
    if (!row) throw notFound('dispute', id);
    return serialize(db, row);
  }

  async function list(scope: Scope, filters: DisputeListInput) {
    let query = db
      .selectFrom('disputes')
      .selectAll()
      .where('account_id', '=', scope.accountId)
      .where('livemode', '=', livemodeFlag(scope));
    if (filters.charge !== undefined) query = query.where('charge_id', '=', filters.charge);
    if (filters.payment_intent !== undefined)
      query = query.where('payment_intent_id', '=', filters.payment_intent);
    const page = await paginate(query, filters);
    const postings = await postingsOf(
      db,
      page.rows.map((r) => r.id),
    );
    return {
      data: page.rows.map((r) => serializeDispute(r, postings.get(r.id) ?? [])),
      hasMore: page.hasMore,
    };
  }

  /**
   * Claims the dispute's next submission in its own short transaction: the
   * dispute must take evidence and no other request may be sending some
   * (claimState). Writes a random token, the reference and the lease's end,
   * version-checked under the row lock; the holder then calls the processor
   * with no transaction open.
   */
  async function claimSubmission(
    scope: Scope,
    id: string,
    input: DisputeUpdateInput,
  ): Promise<SubmissionClaim> {
    return db.transaction().execute(async (tx) => {
      const row = await lockScoped(tx, scope, id);
      assertRespondable(row, input);
      const evidence = mergedEvidence(row, input.evidence);
      const reference = evidenceReference(row, presentEvidence(evidence));
      const nowMs = clock.nowMs();
      assertClaimable(row, reference, nowMs);
      const token = randomToken(24);
      const saved = await tx
        .updateTable('disputes')
        .set({
          submission_claim: token,
          submission_reference: reference,
          submission_claim_expires: nowMs + LIMITS.disputeSubmissionLeaseMs,
          version: row.version + 1,
        })
        .where('id', '=', row.id)
        .where('version', '=', row.version)
        .executeTakeFirst();
      assert(Number(saved.numUpdatedRows) === 1, `${row.id} changed under its lock`);
      return { token, reference, evidence, disputeReference: row.connector_dispute_id };
    });
  }

  /**
   * Gives a claim up when its submission did not go through. Refused (nothing
   * was submitted): the dispute is free again. Unknown (it may have been
   * taken): nobody holds it, but its reference stays until the lease ends, so
   * only the same evidence (same reference: the processor answers it without
   * taking it twice) can be sent meanwhile. A failure here only leaves the
   * claim to expire by itself.
   */
  async function releaseClaim(id: string, claim: SubmissionClaim, outcome: 'refused' | 'unknown') {
    await db
      .transaction()
      .execute(async (tx) => {
        const row = await lock(tx, { id });
        if (!row || row.submission_claim !== claim.token) return;
        const pinned = {
          submission_claim: null,
          submission_claim_expires: clock.nowMs() + LIMITS.disputeSubmissionLeaseMs,
        };
        const free = {
          submission_claim: null,
          submission_reference: null,
          submission_claim_expires: null,
        };
        await tx
          .updateTable('disputes')
          .set({ ...(outcome === 'refused' ? free : pinned), version: row.version + 1 })
          .where('id', '=', row.id)
          .where('version', '=', row.version)
          .execute();
      })
      .catch(() => {});
  }

  /**
   * Sends submitted evidence to the dispute's processor under a claim
   * (claimSubmission), before anything is recorded and outside any
   * transaction: a refusal or an outage releases the claim, throws and
   * leaves the dispute as it was. The claim when the processor took it (the
   * caller records it); null when there is no processor to send it to (the
   * sandbox, or a connector without a dispute API), where the evidence is
   * only recorded, as before.
   */
  async function forwardEvidence(
    scope: Scope,
    id: string,
    input: DisputeUpdateInput,
  ): Promise<SubmissionClaim | null> {
    if (!deps.resolveConnector) return null;
    const row = await selectRow(db, 'disputes', {
      id,
      account_id: scope.accountId,
      livemode: livemodeFlag(scope),
    });
    if (!row) throw notFound('dispute', id);
    if (row.connector === SANDBOX_CONNECTOR) return null;
    // A fast answer before the processor is looked up; the claim checks again under the lock.
    assertRespondable(row, input);
    let resolved: Awaited<ReturnType<DisputeConnectorResolver>>;
    try {
      resolved = await deps.resolveConnector(row.connector);
    } catch (error) {
      throw new ApiError(
        'service_unavailable',
        `The processor of dispute ${id} (${row.connector}) is not available: ${(error as Error).message}. The dispute is unchanged.`,
      );
    }
    const { connector } = resolved;
    if (!connector.submitDisputeEvidence) return null;
    const claim = await claimSubmission(scope, id, input);
    const request = {
      reference: claim.reference,
      disputeReference: claim.disputeReference,
      evidence: presentEvidence(claim.evidence),
    };
    let outcome: DisputeEvidenceOutcome;
    try {
      outcome = await connector.submitDisputeEvidence(
        request,
        AbortSignal.timeout(resolved.timeoutMs),
      );
    } catch (error) {
      outcome = { status: 'unavailable', message: (error as Error).message };
    }
    if (outcome.status === 'submitted') return claim;
    await releaseClaim(id, claim, outcome.status === 'refused' ? 'refused' : 'unknown');
    if (outcome.status === 'refused') {
      const param = outcome.param?.startsWith('evidence') ? outcome.param : 'evidence';
      throw new ApiError(
        'parameter_invalid',
        `The processor refused the evidence for dispute ${id} (${outcome.code}: ${outcome.message}). Nothing was submitted; the dispute is unchanged.`,
        { param },
      );
    }
    throw new ApiError(
      'service_unavailable',
      `The evidence for dispute ${id} could not be submitted to its processor (${outcome.message}). The dispute is unchanged; retry: the same evidence is sent under the same reference, so the processor never takes it twice.`,
    );
  }

  /**
   * Evidence, metadata and submission (Stripe's update). Submitted evidence
   * is first forwarded to the processor under a claim (no transaction open);
   * then one transaction records it, only while the claim is still this
   * request's. Evidence cannot change while another request holds a claim.
   */
  async function update(ctx: OpContext, id: string, input: DisputeUpdateInput) {
    const submitting = input.submit ?? input.evidence !== undefined;
    const claim = submitting ? await forwardEvidence(ctx.scope, id, input) : null;
    try {
      return await db.transaction().execute(async (tx) => {
        const before = await lockScoped(tx, ctx.scope, id);
        if (claim) assertHolder(before, claim);
        else {
          assertRespondable(before, input);
          if (input.evidence !== undefined || submitting) assertNotHeld(before, clock.nowMs());
        }
        // The processor took the claimed evidence: record exactly that.
        const evidence = claim ? claim.evidence : mergedEvidence(before, input.evidence);
        const fields: Partial<DisputesTable> = {
          evidence: toJson(
            Object.fromEntries(Object.entries(evidence).filter(([, v]) => v !== null)),
          ),
          has_evidence: Object.values(evidence).some((v) => v !== null) ? 1 : 0,
          metadata: toJson(mergeMetadata(JSON.parse(before.metadata), input.metadata)),
        };
        if (claim) {
          fields.submission_claim = null;
          fields.submission_reference = null;
          fields.submission_claim_expires = null;
        }
        let status = before.status as DisputeStatus;
        if (submitting) {
          // Else the processor's own notice got here first (under review, or decided).
          if (RESPONDABLE_STATUSES.has(before.status))
            status = before.status === 'needs_response' ? 'under_review' : 'warning_under_review';
          const now = unixSeconds(clock);
          fields.submission_count = before.submission_count + 1;
          fields.past_due = before.due_by !== null && now > Number(before.due_by) ? 1 : 0;
        }
        let done = await advance(tx, ctx, before, { status, fields });
        const outcome = submitting ? sandboxOutcome(before, evidence) : null;
        if (outcome) done = await advance(tx, ctx, done.row, { status: outcome });
        await ctx.complete(tx, done.api);
        return done.api;
      });
    } catch (error) {
      // Taken by the processor but not recorded: only the same evidence may follow.
      if (claim) await releaseClaim(id, claim, 'unknown');
      throw error;
    }
  }

  /** Accepts the dispute as lost (Stripe's close); an inquiry closes without loss. */
  async function close(ctx: OpContext, id: string) {
    return db.transaction().execute(async (tx) => {
      const before = await lockScoped(tx, ctx.scope, id);
      assertNotHeld(before, clock.nowMs());
      if (!RESPONDABLE_STATUSES.has(before.status)) {
        throw new ApiError(
          'dispute_unexpected_state',
          `Dispute ${id} is ${before.status}: only a dispute that needs a response can be closed.`,
        );
      }
      const status = before.status === 'needs_response' ? 'lost' : 'warning_closed';
      const { api } = await advance(tx, ctx, before, { status });
      await ctx.complete(tx, api);
      return api;
    });
  }

  return { applyNotice, openSandbox, retrieve, list, update, close };
}

export type DisputesService = ReturnType<typeof createDisputesService>;

/** One request's claim on a submission: what it sends, under which reference. */
interface SubmissionClaim {
  token: string;
  reference: string;
  /** The stored evidence merged with the request's: exactly what is sent and recorded. */
  evidence: Evidence;
  disputeReference: string;
}

/**
 * `held`: a request is sending evidence now; `pinned`: the last one's outcome
 * is unknown, and its reference stands until the lease ends; null: free (a
 * claim past its lease, whose process died, no longer counts).
 */
function claimState(row: DisputesTable, nowMs: number): 'held' | 'pinned' | null {
  const expiresMs = row.submission_claim_expires;
  if (expiresMs === null || Number(expiresMs) <= nowMs) return null;
  return row.submission_claim !== null ? 'held' : 'pinned';
}

function inProgress(row: DisputesTable, nowMs: number): ApiError {
  const waitSeconds = Math.ceil((Number(row.submission_claim_expires) - nowMs) / 1000);
  return new ApiError(
    'lock_timeout',
    `Evidence for dispute ${row.id} is being submitted to its processor by another request (for at most ${waitSeconds} s more). Retry once it has finished.`,
  );
}

/** Nobody else is sending evidence, and an unknown outcome is only followed by the same evidence. */
function assertClaimable(row: DisputesTable, reference: string, nowMs: number): void {
  const state = claimState(row, nowMs);
  if (state === 'held') throw inProgress(row, nowMs);
  if (state === 'pinned' && row.submission_reference !== reference) {
    const waitSeconds = Math.ceil((Number(row.submission_claim_expires) - nowMs) / 1000);
    throw new ApiError(
      'lock_timeout',
      `The outcome of the last submission of dispute ${row.id} (${row.submission_reference}) is not known: the processor may have taken it. Submit the same evidence again (it is sent under the same reference, so the processor never takes it twice), or other evidence in ${waitSeconds} s.`,
    );
  }
}

/** Evidence and closing wait while another request is sending evidence. */
function assertNotHeld(row: DisputesTable, nowMs: number): void {
  if (claimState(row, nowMs) === 'held') throw inProgress(row, nowMs);
}

/** Only the claim's holder records what the processor took. */
function assertHolder(row: DisputesTable, claim: SubmissionClaim): void {
  if (row.submission_claim === claim.token) return;
  throw new ApiError(
    'service_unavailable',
    `The processor took the evidence for dispute ${row.id}, but this request's claim on the submission ran out before it was recorded. The dispute is unchanged here; retry with the same evidence: it is sent under the same reference, so the processor does not take it twice.`,
  );
}

/** Evidence can be given or submitted only while the dispute needs a response. */
function assertRespondable(row: DisputesTable, input: DisputeUpdateInput): void {
  const submitting = input.submit ?? input.evidence !== undefined;
  if ((input.evidence !== undefined || submitting) && !RESPONDABLE_STATUSES.has(row.status)) {
    throw new ApiError(
      'dispute_unexpected_state',
      `Dispute ${row.id} is ${row.status}: evidence can only be given or submitted while it needs a response.`,
      { param: input.evidence !== undefined ? 'evidence' : 'submit' },
    );
  }
}

/** The fields that hold a value, in field order. */
function presentEvidence(evidence: Evidence): Record<string, string> {
  return Object.fromEntries(
    Object.entries(evidence).filter((entry): entry is [string, string] => entry[1] !== null),
  );
}

/**
 * Payrail's reference for one submission, the processor's idempotency key:
 * the dispute, which submission this is, and a digest of the evidence. A
 * retry of the same evidence (after a timeout, or a crash before the commit)
 * gets the same reference, so the processor answers it without submitting
 * twice; different evidence is a new request.
 */
export function evidenceReference(
  row: Pick<DisputesTable, 'id' | 'submission_count'>,
  evidence: Record<string, string>,
): string {
  const digest = sha256Hex(JSON.stringify(Object.entries(evidence).sort())).slice(0, 24);
  return `${row.id}_ev${row.submission_count + 1}_${digest}`;
}

/** The stored evidence with the request's fields over it ("" unset them); bounded in total. */
function mergedEvidence(before: DisputesTable, given: DisputeUpdateInput['evidence']): Evidence {
  const evidence = evidenceOf(before);
  for (const [field, value] of Object.entries(given ?? {})) {
    if (value !== undefined) evidence[field as keyof Evidence] = value;
  }
  const total = Object.values(evidence).reduce((sum, v) => sum + (v?.length ?? 0), 0);
  if (total > LIMITS.disputeEvidenceTotalLengthMax) {
    throw new ApiError(
      'parameter_invalid',
      `The evidence fields together may hold at most ${LIMITS.disputeEvidenceTotalLengthMax} characters (${total} given).`,
      { param: 'evidence' },
    );
  }
  return evidence;
}

/**
 * Stripe's test behaviour, for the sandbox only: submitted evidence whose
 * uncategorized_text is `winning_evidence` wins the dispute, `losing_evidence`
 * loses it; anything else leaves it under review.
 */
function sandboxOutcome(before: DisputesTable, evidence: Evidence): DisputeStatus | null {
  if (before.connector !== SANDBOX_CONNECTOR || before.status !== 'needs_response') return null;
  if (evidence.uncategorized_text === 'winning_evidence') return 'won';
  if (evidence.uncategorized_text === 'losing_evidence') return 'lost';
  return null;
}

/** Stripe's events for one change: created, or updated/closed; then the money's. */
function disputeEvents(input: {
  before: DisputesTable;
  after: DisputesTable;
  apiBefore: ApiDispute | null;
  api: ApiDispute;
  moved: string[];
}): NewEvent[] {
  const { before, after, apiBefore, api } = input;
  const out: NewEvent[] = [];
  if (apiBefore === null) out.push({ type: 'charge.dispute.created', object: api });
  else {
    const previous = previousAttributes(apiBefore, api);
    const closed = CLOSED_STATUSES.has(after.status) && !CLOSED_STATUSES.has(before.status);
    if (previous || closed) {
      const type = closed ? 'charge.dispute.closed' : 'charge.dispute.updated';
      out.push({ type, object: api, previousAttributes: previous });
    }
  }
  for (const type of input.moved) out.push({ type, object: api });
  return out;
}
