import type { DisputeEvidenceOutcome, DisputeEvidenceRequest } from '../types.ts';
import type { PspSimHttpAnswer } from './transformers.ts';

// Dispute evidence for the simulator (docs/psp-sim.md):
// POST /v1/disputes/:id/evidence {reference, evidence, submit: true},
// idempotent by `reference`. Pure mapping; connector.ts sends it.

export function toPspSimEvidencePath(request: DisputeEvidenceRequest): string {
  return `/v1/disputes/${encodeURIComponent(request.disputeReference)}/evidence`;
}

export function toPspSimEvidenceBody(request: DisputeEvidenceRequest) {
  return { reference: request.reference, evidence: request.evidence, submit: true as const };
}

/**
 * 4xx answers that say nothing about the evidence: 401/403 our key
 * (configuration), 409 a reference conflict, 429 a rate limit.
 */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([401, 403, 409, 429]);

/**
 * 200 `dispute_evidence`: submitted. A 4xx with an error body (other than
 * RETRYABLE_4XX) is the simulator refusing it: nothing was recorded.
 * Anything else may or may not have been recorded: unavailable.
 */
export function fromPspSimEvidenceAnswer(answer: PspSimHttpAnswer): DisputeEvidenceOutcome {
  const body = answer.body as {
    object?: unknown;
    error?: { code?: unknown; message?: unknown; param?: unknown };
  } | null;
  if (answer.httpStatus === 200 && body?.object === 'dispute_evidence') {
    return { status: 'submitted' };
  }
  const error = body?.error;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${answer.httpStatus}`;
  const refused =
    answer.httpStatus >= 400 &&
    answer.httpStatus < 500 &&
    !RETRYABLE_4XX.has(answer.httpStatus) &&
    error !== undefined;
  if (refused) {
    return {
      status: 'refused',
      code: typeof error.code === 'string' ? error.code : `http_${answer.httpStatus}`,
      message,
      param: typeof error.param === 'string' ? error.param : null,
    };
  }
  const auth = answer.httpStatus === 401 || answer.httpStatus === 403;
  const hint = auth ? ' (check the connector api_key)' : '';
  return {
    status: 'unavailable',
    message: `psp-sim answered HTTP ${answer.httpStatus}: ${message}${hint}`,
  };
}
