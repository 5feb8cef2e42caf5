import type { ConnectorOutcome } from './types.ts';

// Which failed outcomes may be tried again on the next connector: data, not
// `if`s. A rule matches on the connector type (or `*`), the outcome status and
// the code (or `*`); the first matching rule wins. Accounts put their own
// rules in front of these defaults (routing config `failover_rules`).
//
// The defaults follow what processors document: a hard decline is the
// issuer's answer and is the same everywhere, so trying another processor
// only annoys the cardholder's bank and risks fraud flags; an outage, a 5xx
// before authorization or a rate limit is the processor's problem, and the
// next processor can take the payment. An unknown outcome (a timeout after
// the request left) may fail over because every shipped connector can undo a
// second charge: recovery asks the first processor and voids or refunds an
// extra charge (see payments/recovery.ts).

export type FailoverAction = 'failover' | 'stop';

export interface FailoverRule {
  /** A connector type (`psp_sim`, `stripe`, ...) or `*`. */
  connector: string;
  outcome: 'declined' | 'failed_retryable' | 'unknown';
  /** The outcome's code (decline code for declines) or `*`. */
  code: string;
  action: FailoverAction;
}

export const DEFAULT_FAILOVER_RULES: readonly FailoverRule[] = [
  // Soft, processor-side declines that another processor may well approve.
  { connector: '*', outcome: 'declined', code: 'processing_error', action: 'failover' },
  { connector: '*', outcome: 'declined', code: 'try_again_later', action: 'failover' },
  { connector: '*', outcome: 'declined', code: 'issuer_not_available', action: 'failover' },
  { connector: '*', outcome: 'declined', code: 'reenter_transaction', action: 'failover' },
  // Hard declines, named for the reader: never tried elsewhere.
  { connector: '*', outcome: 'declined', code: 'insufficient_funds', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'stolen_card', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'lost_card', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'do_not_honor', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'fraudulent', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'pickup_card', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'expired_card', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'incorrect_cvc', action: 'stop' },
  { connector: '*', outcome: 'declined', code: 'incorrect_number', action: 'stop' },
  { connector: '*', outcome: 'declined', code: '*', action: 'stop' },
  // The processor did not act: safe to try the next one.
  { connector: '*', outcome: 'failed_retryable', code: '*', action: 'failover' },
  // The processor may have acted: fail over, recovery undoes an extra charge.
  { connector: '*', outcome: 'unknown', code: '*', action: 'failover' },
];

/** The code a rule matches for an outcome: decline code first, then error code. */
export function outcomeCode(outcome: ConnectorOutcome): string {
  switch (outcome.status) {
    case 'declined':
      return outcome.declineCode ?? outcome.code;
    case 'failed_retryable':
      return outcome.code;
    case 'unknown':
      return 'timeout';
    default:
      return outcome.status;
  }
}

/** Whether a failed outcome may be tried on the next connector. Success and 3DS never fail over. */
export function failoverDecision(
  outcome: ConnectorOutcome,
  connectorType: string,
  accountRules: readonly FailoverRule[] = [],
): { action: FailoverAction; rule: FailoverRule | null } {
  if (outcome.status === 'succeeded' || outcome.status === 'requires_action')
    return { action: 'stop', rule: null };
  const code = outcomeCode(outcome);
  const codes = outcome.status === 'declined' ? [outcome.declineCode, outcome.code] : [code];
  for (const rule of [...accountRules, ...DEFAULT_FAILOVER_RULES]) {
    if (rule.outcome !== outcome.status) continue;
    if (rule.connector !== '*' && rule.connector !== connectorType) continue;
    if (rule.code !== '*' && !codes.includes(rule.code)) continue;
    return { action: rule.action, rule };
  }
  return { action: 'stop', rule: null };
}
