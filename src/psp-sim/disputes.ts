import { z } from 'zod';
import { signPspSimPayload } from '../connectors/psp-sim/transformers.ts';
import { PSP_SIM_SIGNATURE_HEADER, type PspSimDisputeNotice } from '../connectors/psp-sim/wire.ts';
import { DISPUTE_REASONS, DISPUTE_STATUSES } from '../connectors/types.ts';
import { randomBase36 } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { errorReply, invalidParamsReply, type SimContext, type SimReply } from './handlers.ts';

// The control that disputes a charge (`POST /_sim/charges/:id/dispute`,
// docs/psp-sim.md): it answers with a signed dispute notice for the caller
// to deliver to the processor's webhook endpoint (Payrail's
// /v1/connector_webhooks/:connector). The simulator sends no webhooks and
// keeps no dispute state: to move a dispute on, pass its id back as
// `dispute` with the new status.

const DisputeControlSchema = z.strictObject({
  /** Continue this dispute (simdp_…); absent: a new one. */
  dispute: z
    .string()
    .regex(/^simdp_[a-z0-9]{1,40}$/)
    .optional(),
  status: z.enum(DISPUTE_STATUSES).optional(),
  cycle: z.union([z.literal(1), z.literal(2)]).optional(),
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  reason: z.enum(DISPUTE_REASONS).optional(),
  network_reason_code: z.string().min(1).max(20).optional(),
  /** The key the notice is signed with; required when the simulator has no --api-key. */
  api_key: z.string().min(1).max(LIMITS.pspSimBodyBytesMax).optional(),
});

export interface SignedNotice {
  notice: PspSimDisputeNotice;
  /** The exact body to POST, and the signature header that goes with it. */
  raw_body: string;
  header: string;
  signature: string;
}

export function disputeCharge(
  ctx: SimContext & { apiKey: string | null },
  chargeId: string,
  body: unknown,
): SimReply {
  const parsed = DisputeControlSchema.safeParse(body);
  if (!parsed.success) {
    return invalidParamsReply(parsed.error);
  }
  const input = parsed.data;
  const apiKey = ctx.apiKey ?? input.api_key ?? null;
  if (!apiKey) {
    return errorReply(400, {
      code: 'parameter_missing',
      param: 'api_key',
      message: 'api_key is required to sign the notice (the simulator has no --api-key)',
    });
  }
  const charge = ctx.store.chargeById(chargeId);
  if (!charge) {
    return errorReply(404, { code: 'resource_missing', message: `no charge ${chargeId}` });
  }
  if (charge.amount_captured === 0) {
    return errorReply(400, {
      code: 'charge_not_captured',
      message: `charge ${chargeId} has captured nothing to dispute`,
    });
  }
  const amount = input.amount ?? charge.amount_captured;
  if (amount > charge.amount_captured) {
    return errorReply(400, {
      code: 'amount_too_large',
      param: 'amount',
      message: `amount ${amount} exceeds the captured ${charge.amount_captured}`,
    });
  }
  const nowMs = ctx.nowMs();
  const notice: PspSimDisputeNotice = {
    object: 'dispute',
    id: input.dispute ?? `simdp_${nowMs.toString(36)}${randomBase36(14)}`,
    charge: charge.id,
    reference: charge.reference,
    status: input.status ?? 'needs_response',
    cycle: input.cycle ?? 1,
    amount,
    currency: charge.currency,
    reason: input.reason ?? 'general',
    network_reason_code: input.network_reason_code ?? null,
    evidence_due_by: Math.floor(nowMs / 1000) + LIMITS.disputeEvidenceDueSeconds,
    created_ms: nowMs,
  };
  const rawBody = JSON.stringify(notice);
  const signature = signPspSimPayload({
    apiKey,
    rawBody,
    timestampSeconds: Math.floor(nowMs / 1000),
  });
  const answer: SignedNotice = {
    notice,
    raw_body: rawBody,
    header: PSP_SIM_SIGNATURE_HEADER,
    signature,
  };
  return { httpStatus: 200, body: answer };
}
