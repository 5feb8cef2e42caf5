import { z } from 'zod';
import { LIMITS } from '../lib/limits.ts';
import { errorReply, invalidParamsReply, type SimReply } from './handlers.ts';

// Dispute evidence (`POST /v1/disputes/:id/evidence`, docs/psp-sim.md): the
// simulator records every submission, idempotently by the caller's
// `reference`, so tests can see exactly what a processor received and that a
// retry did not submit twice (`GET /_sim/evidence`). It refuses evidence for
// a dispute that its own dispute control last reported as closed (won, lost,
// warning_closed), like a processor whose dispute moved on. Submissions are
// kept in memory only (bounded), not in the charge file.

const EVIDENCE_FIELD_LENGTH_MAX = 20_000;
const EVIDENCE_FIELDS_MAX = 64;
const CLOSED = new Set(['won', 'lost', 'warning_closed']);

const EvidenceRequestSchema = z.strictObject({
  reference: z.string().min(1).max(200),
  evidence: z
    .record(z.string().regex(/^[a-z_]{1,64}$/), z.string().max(EVIDENCE_FIELD_LENGTH_MAX))
    .refine((e) => Object.keys(e).length <= EVIDENCE_FIELDS_MAX, 'too many evidence fields'),
  submit: z.literal(true),
});

export interface PspSimEvidenceSubmission {
  id: string;
  object: 'dispute_evidence';
  dispute: string;
  reference: string;
  evidence: Record<string, string>;
  submitted: true;
  created_ms: number;
}

export interface EvidenceBook {
  /** The last status the dispute control issued for a dispute id. */
  noteDisputeStatus(disputeId: string, status: string): void;
  submit(disputeId: string, body: unknown, nowMs: number): SimReply;
  list(): PspSimEvidenceSubmission[];
}

export function createEvidenceBook(): EvidenceBook {
  const submissions: PspSimEvidenceSubmission[] = [];
  const byReference = new Map<string, PspSimEvidenceSubmission>();
  const statuses = new Map<string, string>();

  function submit(disputeId: string, body: unknown, nowMs: number): SimReply {
    const parsed = EvidenceRequestSchema.safeParse(body);
    if (!parsed.success) {
      return invalidParamsReply(parsed.error);
    }
    const input = parsed.data;
    const earlier = byReference.get(input.reference);
    if (earlier) {
      if (earlier.dispute !== disputeId) {
        return errorReply(409, {
          type: 'idempotency_error',
          code: 'idempotency_error',
          message: `reference ${input.reference} was used for dispute ${earlier.dispute}`,
        });
      }
      return { httpStatus: 200, body: earlier };
    }
    const status = statuses.get(disputeId);
    if (status !== undefined && CLOSED.has(status)) {
      return errorReply(400, {
        code: 'dispute_closed',
        message: `dispute ${disputeId} is ${status}: it takes no more evidence`,
      });
    }
    if (submissions.length >= LIMITS.pspSimRecordsMax) {
      return errorReply(503, {
        type: 'api_error',
        code: 'storage_full',
        message: 'psp-sim holds too many evidence submissions',
      });
    }
    const submission: PspSimEvidenceSubmission = {
      id: `simev_${nowMs.toString(36)}${submissions.length.toString(36)}`,
      object: 'dispute_evidence',
      dispute: disputeId,
      reference: input.reference,
      evidence: input.evidence,
      submitted: true,
      created_ms: nowMs,
    };
    submissions.push(submission);
    byReference.set(input.reference, submission);
    return { httpStatus: 200, body: submission };
  }

  return {
    noteDisputeStatus: (disputeId, status) => {
      if (statuses.size < LIMITS.pspSimRecordsMax || statuses.has(disputeId))
        statuses.set(disputeId, status);
    },
    submit,
    list: () => [...submissions],
  };
}
