import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { naturalKey } from './accounts.ts';
import { cumulativeShare, roundDiv } from './book.ts';
import {
  assertBalanced,
  chargeEntries,
  paymentEntries,
  refundEntries,
  releaseEntries,
  reversalEntries,
  settlementEntries,
  transferEntries,
} from './postings.ts';

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

  test('a split nets to zero in the transfers clearing account; reversals undo it', () => {
    const platform = scope;
    const split = [
      ...transferEntries({ platform, amountMinor: 900 }),
      ...paymentEntries({ platform, destinationAccountId: 'acct_d', amountMinor: 900 }),
    ];
    assertBalanced(split);
    const clearing = split.filter((e) => e.account.purpose === 'transfers');
    assert.equal(sum(clearing), 0);
    assert.deepEqual(
      split
        .filter((e) => e.account.purpose === 'merchant_pending')
        .map((e) => [e.account.accountId, e.amountMinor]),
      [
        ['acct_1', 900],
        ['acct_d', -900],
      ],
    );
    const back = reversalEntries({ platform, destinationAccountId: 'acct_d', amountMinor: 300 });
    assertBalanced(back.transfer);
    assertBalanced(back.payment);
    assert.throws(() => transferEntries({ platform, amountMinor: -1 }));
  });

  test('a settlement clears the processor side and releases the nets', () => {
    const entries = settlementEntries({
      scope,
      connectorId: 'conn_a',
      netsMinor: 8_680,
      grossMinor: 10_000,
      feeMinor: 320,
    });
    assertBalanced(entries);
    assert.deepEqual(
      entries.map((e) => [e.account.purpose, e.amountMinor]),
      [
        ['merchant_pending', 8_680],
        ['merchant_available', -8_680],
        ['processor_receivable', -10_000],
        ['processing_fees', 320],
        ['cash', 9_680],
      ],
    );
    // A connected account's batch has no processor side.
    const only = settlementEntries({
      scope,
      connectorId: 'conn_a',
      netsMinor: 900,
      grossMinor: 0,
      feeMinor: 0,
    });
    assert.equal(only.length, 2);
  });

  test('shares round half away from zero on the running sum and end on the whole', () => {
    assert.equal(roundDiv(5n, 2n), 3);
    assert.equal(roundDiv(-5n, 2n), -3);
    assert.equal(roundDiv(29_997_000n, 10_000n), 3_000);
    // 3 refunds of 1 on a transfer of 1 out of 3: cumulative 0, 1, 1.
    const cumulative = [1, 2, 3].map((k) =>
      cumulativeShare({ totalMinor: 1, partMinor: k, wholeMinor: 3 }),
    );
    assert.deepEqual(cumulative, [0, 1, 1]);
    // Exact beyond 2^53 intermediate products.
    const big = 9_000_000_000_000;
    assert.equal(
      cumulativeShare({ totalMinor: big, partMinor: big - 1, wholeMinor: big }),
      big - 1,
    );
    assert.throws(() => cumulativeShare({ totalMinor: 1, partMinor: 4, wholeMinor: 3 }));
  });
});
