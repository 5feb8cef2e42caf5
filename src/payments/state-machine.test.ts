import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  INTENT_ACTIONS,
  INTENT_STATUSES,
  type IntentAction,
  type IntentStatus,
  nextStatus,
} from './state-machine.ts';

// Every (status, action) pair: the legal ones listed here with their target,
// everything else must be refused.
const LEGAL: ReadonlyArray<[IntentStatus, IntentAction, IntentStatus]> = [
  ['requires_payment_method', 'update', 'requires_payment_method'],
  ['requires_payment_method', 'attach_payment_method', 'requires_confirmation'],
  ['requires_payment_method', 'begin_confirm', 'processing'],
  ['requires_payment_method', 'cancel', 'canceled'],
  ['requires_confirmation', 'update', 'requires_confirmation'],
  ['requires_confirmation', 'attach_payment_method', 'requires_confirmation'],
  ['requires_confirmation', 'begin_confirm', 'processing'],
  ['requires_confirmation', 'cancel', 'canceled'],
  ['requires_action', 'update', 'requires_action'],
  ['requires_action', 'attach_payment_method', 'requires_confirmation'],
  ['requires_action', 'begin_confirm', 'processing'],
  ['requires_action', 'begin_authenticate', 'processing'],
  ['requires_action', 'fail_authentication', 'requires_payment_method'],
  ['requires_action', 'cancel', 'canceled'],
  ['processing', 'authorize_captured', 'succeeded'],
  ['processing', 'authorize_held', 'requires_capture'],
  ['processing', 'authorize_action', 'requires_action'],
  ['processing', 'authorize_failed', 'requires_payment_method'],
  ['processing', 'capture_succeeded', 'succeeded'],
  ['processing', 'capture_failed', 'requires_capture'],
  ['processing', 'void_succeeded', 'canceled'],
  ['processing', 'void_failed', 'requires_capture'],
  ['requires_capture', 'begin_capture', 'processing'],
  ['requires_capture', 'begin_void', 'processing'],
];

describe('payment intent state machine', () => {
  for (const status of INTENT_STATUSES) {
    for (const action of INTENT_ACTIONS) {
      const legal = LEGAL.find(([s, a]) => s === status && a === action);
      test(`${status} + ${action} → ${legal ? legal[2] : 'refused'}`, () => {
        assert.equal(nextStatus(status, action), legal ? legal[2] : null);
      });
    }
  }

  test('final states accept nothing', () => {
    for (const action of INTENT_ACTIONS) {
      assert.equal(nextStatus('succeeded', action), null);
      assert.equal(nextStatus('canceled', action), null);
    }
  });
});
