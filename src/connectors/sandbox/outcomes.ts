import type { ChargeInstrument } from '../../vault/types.ts';

// The sandbox's outcome table, as data: Stripe's documented test card numbers
// and what they do. Any other valid number succeeds, like Stripe's normal test
// cards; bank debits and wallets succeed.

export type SandboxOutcome =
  | { kind: 'succeed' }
  | { kind: 'decline'; code: string; declineCode: string; message: string }
  | { kind: 'retryable'; code: string; message: string }
  | { kind: 'authenticate' };

const DECLINED = 'Your card was declined.';

export const SANDBOX_CARD_OUTCOMES: Readonly<Record<string, SandboxOutcome>> = {
  '4000000000000002': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'generic_decline',
    message: DECLINED,
  },
  '4000000000009995': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  '4000000000009987': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'lost_card',
    message: DECLINED,
  },
  '4000000000009979': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'stolen_card',
    message: DECLINED,
  },
  '4100000000000019': {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'fraudulent',
    message: DECLINED,
  },
  '4000000000000069': {
    kind: 'decline',
    code: 'expired_card',
    declineCode: 'expired_card',
    message: 'Your card has expired.',
  },
  '4000000000000127': {
    kind: 'decline',
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
  },
  '4000000000000119': {
    kind: 'retryable',
    code: 'processing_error',
    message: 'An error occurred while processing your card. Try again in a little bit.',
  },
  '4000002500003155': { kind: 'authenticate' },
  '4000000000003220': { kind: 'authenticate' },
  '4000002760003184': { kind: 'authenticate' },
};

/** The outcome of authorizing `instrument`; pure and deterministic. */
export function sandboxOutcome(
  instrument: ChargeInstrument,
  authenticated: boolean,
): SandboxOutcome {
  switch (instrument.type) {
    case 'card': {
      const outcome = SANDBOX_CARD_OUTCOMES[instrument.number.reveal()] ?? { kind: 'succeed' };
      return outcome.kind === 'authenticate' && authenticated ? { kind: 'succeed' } : outcome;
    }
    case 'sepa_debit':
    case 'us_bank_account':
    case 'wallet':
      return { kind: 'succeed' };
    default: {
      const never: never = instrument;
      throw new Error(`unhandled instrument ${JSON.stringify(never)}`);
    }
  }
}
