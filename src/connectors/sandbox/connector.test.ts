import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Secret } from '../../lib/crypto.ts';
import type { AuthorizeRequest } from '../types.ts';
import { createSandboxConnector } from './connector.ts';
import { SANDBOX_CARD_OUTCOMES } from './outcomes.ts';

const card = (number: string): AuthorizeRequest => ({
  reference: `pa_${number}`,
  paymentIntentId: `pi_${number}`,
  amountMinor: 1000,
  currency: 'usd',
  capture: true,
  instrument: {
    type: 'card',
    number: new Secret(number),
    brand: 'visa',
    last4: number.slice(-4),
    expMonth: 12,
    expYear: 2040,
    funding: 'credit',
    country: 'US',
  },
  authenticated: false,
  statementDescriptor: null,
});

describe('sandbox connector', () => {
  const sandbox = createSandboxConnector({
    latencyMs: 0,
    challengeUrl: (r) => `http://x/3ds/${r}`,
  });
  const signal = () => AbortSignal.timeout(1000);

  test('normal test cards succeed', async () => {
    const outcome = await sandbox.authorize(card('4242424242424242'), signal());
    assert.equal(outcome.status, 'succeeded');
  });

  test('every card in the table answers its documented outcome', async () => {
    for (const [number, expected] of Object.entries(SANDBOX_CARD_OUTCOMES)) {
      const outcome = await sandbox.authorize(card(number), signal());
      const status = {
        succeed: 'succeeded',
        decline: 'declined',
        retryable: 'failed_retryable',
        authenticate: 'requires_action',
      }[expected.kind];
      assert.equal(outcome.status, status, number);
      if (expected.kind === 'decline' && outcome.status === 'declined') {
        assert.equal(outcome.code, expected.code);
        assert.equal(outcome.declineCode, expected.declineCode);
      }
    }
  });

  test('3DS cards succeed once authenticated', async () => {
    const outcome = await sandbox.authorize(
      { ...card('4000000000003220'), authenticated: true },
      signal(),
    );
    assert.equal(outcome.status, 'succeeded');
  });

  test('retrieve answers remembered references and re-derives unknown ones', async () => {
    const request = card('4000000000009995');
    const answered = await sandbox.authorize(request, signal());
    const known = await sandbox.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(known, answered);
    const fresh = createSandboxConnector({ latencyMs: 0, challengeUrl: (r) => r });
    const derived = await fresh.retrieve(
      { reference: request.reference, operation: 'authorize', original: request },
      signal(),
    );
    assert.deepEqual(derived, answered);
  });

  test('an aborted call throws (recorded as unknown by the caller)', async () => {
    const slow = createSandboxConnector({ latencyMs: 200, challengeUrl: (r) => r });
    await assert.rejects(slow.authorize(card('4242424242424242'), AbortSignal.timeout(10)));
  });
});
