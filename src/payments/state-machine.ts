// The payment intent lifecycle, Stripe's statuses, as a pure table. Every
// status change in the service goes through `nextStatus`; a missing entry is an
// illegal transition (payment_intent_unexpected_state).
//
// Actions a client starts: update, confirm, capture, cancel, authenticate.
// `begin_*` actions move an intent into `processing` while a processor call is
// out; `*_succeeded` / `*_failed` / `*_action` settle it with the answer.

export const INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'succeeded',
  'canceled',
] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

export const INTENT_ACTIONS = [
  'update',
  'attach_payment_method',
  'begin_confirm',
  'begin_authenticate',
  'fail_authentication',
  'authorize_captured',
  'authorize_held',
  'authorize_action',
  'authorize_failed',
  'begin_capture',
  'capture_succeeded',
  'capture_failed',
  'cancel',
  'begin_void',
  'void_succeeded',
  'void_failed',
] as const;
export type IntentAction = (typeof INTENT_ACTIONS)[number];

export const TRANSITIONS: Readonly<
  Record<IntentStatus, Partial<Record<IntentAction, IntentStatus>>>
> = {
  requires_payment_method: {
    update: 'requires_payment_method',
    attach_payment_method: 'requires_confirmation',
    begin_confirm: 'processing',
    cancel: 'canceled',
  },
  requires_confirmation: {
    update: 'requires_confirmation',
    attach_payment_method: 'requires_confirmation',
    begin_confirm: 'processing',
    cancel: 'canceled',
  },
  requires_action: {
    update: 'requires_action',
    attach_payment_method: 'requires_confirmation',
    begin_confirm: 'processing',
    begin_authenticate: 'processing',
    fail_authentication: 'requires_payment_method',
    cancel: 'canceled',
  },
  processing: {
    authorize_captured: 'succeeded',
    authorize_held: 'requires_capture',
    authorize_action: 'requires_action',
    authorize_failed: 'requires_payment_method',
    capture_succeeded: 'succeeded',
    capture_failed: 'requires_capture',
    void_succeeded: 'canceled',
    void_failed: 'requires_capture',
  },
  requires_capture: {
    begin_capture: 'processing',
    begin_void: 'processing',
  },
  succeeded: {},
  canceled: {},
};

/** The status after `action`, or null when the action is illegal in `status`. */
export function nextStatus(status: IntentStatus, action: IntentAction): IntentStatus | null {
  return TRANSITIONS[status][action] ?? null;
}

export function isIntentStatus(value: string): value is IntentStatus {
  return (INTENT_STATUSES as readonly string[]).includes(value);
}
