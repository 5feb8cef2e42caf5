import type { RecordContext, RecordedListener } from '../events/service.ts';
import type { VaultService } from '../vault/types.ts';
import { type DisputesService, SANDBOX_CONNECTOR } from './service.ts';

// The sandbox's dispute test card, like Stripe test mode: a payment with
// 4000000000000259 (pm_card_createDispute) succeeds and is then disputed as
// fraudulent. It reacts to the capture's own events, in the capture's
// transaction, so the payments code does not know about disputes and a
// captured test charge is never left undisputed by a crash.

export const DISPUTE_TEST_CARD = '4000000000000259';
const DISPUTE_TEST_LAST4 = DISPUTE_TEST_CARD.slice(-4);

/** The charge of an event that says it was captured, when it may be the dispute test card. */
function candidateChargeId(type: string, object: unknown): string | null {
  if (type !== 'charge.succeeded' && type !== 'charge.captured') return null;
  const charge = object as {
    id?: unknown;
    captured?: unknown;
    livemode?: unknown;
    payment_method_details?: { card?: { last4?: unknown } | null } | null;
  };
  if (charge.captured !== true || charge.livemode !== false) return null;
  if (charge.payment_method_details?.card?.last4 !== DISPUTE_TEST_LAST4) return null;
  return typeof charge.id === 'string' ? charge.id : null;
}

export function sandboxDisputeListener(deps: {
  vault: VaultService;
  disputes: DisputesService;
}): RecordedListener {
  return async (tx, _ctx: RecordContext, events) => {
    for (const event of events) {
      const chargeId = candidateChargeId(event.type, event.object);
      if (!chargeId) continue;
      const charge = await tx
        .selectFrom('charges')
        .selectAll()
        .where('id', '=', chargeId)
        .executeTakeFirst();
      if (!charge || charge.connector !== SANDBOX_CONNECTOR || charge.captured !== 1) continue;
      if (charge.livemode !== 0 || charge.amount_captured === 0) continue;
      const method = await tx
        .selectFrom('payment_methods')
        .selectAll()
        .where('id', '=', charge.payment_method_id)
        .executeTakeFirst();
      if (!method) continue;
      // Last4 alone is not the test card; only the vault may look at the number.
      const instrument = deps.vault.instrument(method);
      if (instrument.type !== 'card' || instrument.number.reveal() !== DISPUTE_TEST_CARD) continue;
      await deps.disputes.openSandbox(tx, charge);
    }
  };
}
