import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { naturalKey } from './accounts.ts';
import { assertBalanced, chargeEntries, refundEntries, releaseEntries } from './postings.ts';

const scope = { accountId: 'acct_1', livemode: 0 as const, currency: 'usd' };
const sum = (entries: { amountMinor: number }[]) => entries.reduce((s, e) => s + e.amountMinor, 0);

describe('ledger postings', () => {
  test('a capture debits the receivable and credits merchant and fees', () => {
    const entries = chargeEntries({
      scope,
      connectorId: 'conn_a',
      amountMinor: 1000,
      feeMinor: 59,
    });
    assert.deepEqual(
      entries.map((e) => [e.account.purpose, e.amountMinor]),
      [
        ['processor_receivable', 1000],
        ['merchant_pending', -941],
        ['processing_fees', -59],
      ],
    );
    assert.equal(sum(entries), 0);
    assertBalanced(entries);
  });

  test('no fee, no fee entry; refunds and releases balance', () => {
    assert.equal(
      chargeEntries({ scope, connectorId: 'sandbox', amountMinor: 5, feeMinor: 0 }).length,
      2,
    );
    assertBalanced(refundEntries({ scope, connectorId: 'conn_a', amountMinor: 300 }));
    assertBalanced(releaseEntries({ scope, netMinor: -300 }));
  });

  test('unbalanced, unsafe or one-sided postings throw', () => {
    const [a, b] = chargeEntries({ scope, connectorId: 'c', amountMinor: 10, feeMinor: 0 });
    assert.ok(a && b);
    assert.throws(() => assertBalanced([a, { ...b, amountMinor: -9 }]), /sum to zero/);
    assert.throws(() => assertBalanced([a]), /at least two/);
    assert.throws(() => assertBalanced([a, { ...b, amountMinor: 0.5 }]), /safe integer/);
    // Balanced in total but not per currency.
    const eur = { ...b, account: { ...b.account, currency: 'eur' } };
    assert.throws(() => assertBalanced([a, eur]), /usd sums to 10/);
    assert.throws(() => chargeEntries({ scope, connectorId: 'c', amountMinor: 0, feeMinor: 0 }));
    assert.throws(() => refundEntries({ scope, connectorId: 'c', amountMinor: -1 }));
  });

  test('receivables need a connector; other purposes take none', () => {
    assert.throws(() => naturalKey({ ...scope, purpose: 'processor_receivable' }), /needs a/);
    assert.throws(
      () => naturalKey({ ...scope, purpose: 'merchant_pending', connectorId: 'conn_a' }),
      /takes no/,
    );
    assert.equal(
      naturalKey({ ...scope, purpose: 'processor_receivable', connectorId: 'conn_a' }),
      'acct_1|0|usd|processor_receivable|conn_a',
    );
  });
});
