import assert from 'node:assert/strict';
import { verifyLedger } from '../src/ledger/verify.ts';
import { type CliEngine, payrail, startCliEngine } from './helpers/cli-engine.ts';
import { rawRequest, type TestEngine } from './helpers/engine.ts';

// Shared by the payouts tests: an engine whose database the CLI can open too
// (on the PostgreSQL leg the test makes the database itself, so it knows the
// URL), funds made available at once, and a ledger check after each step.

export const IBAN_DE = 'DE89370400440532013000';
export const BIC_DE = 'COBADEFFXXX';
export const DEBTOR = {
  name: 'Payrail Operator AG',
  iban: 'DE02120300000000202051',
  bic: 'BYLADEM1001',
};

export type PayoutsEngine = CliEngine;
export const startPayoutsEngine = startCliEngine;
export { payrail };

/** Pays `amountMinor` by card in `currency`; the sandbox connector takes no fee. */
export async function pay(t: TestEngine, amountMinor: number, currency = 'eur') {
  const pi = await t.stripe.paymentIntents.create({
    amount: amountMinor,
    currency,
    payment_method: 'pm_card_visa',
    confirm: true,
  });
  assert.equal(pi.status, 'succeeded');
  return pi;
}

export async function availableMinor(t: TestEngine, currency = 'eur'): Promise<number> {
  const balance = await t.stripe.balance.retrieve();
  return balance.available.find((b) => b.currency === currency)?.amount ?? 0;
}

export async function addBankAccount(
  t: TestEngine,
  fields: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const form = new URLSearchParams({
    'external_account[object]': 'bank_account',
    'external_account[country]': 'DE',
    'external_account[currency]': 'eur',
    'external_account[account_number]': IBAN_DE,
    'external_account[routing_number]': BIC_DE,
    'external_account[account_holder_name]': 'Jane Doe',
    ...fields,
  });
  for (const [k, v] of Object.entries(fields)) if (v === '') form.delete(k);
  return rawRequest(t, 'POST', `/v1/accounts/${t.accountId}/external_accounts`, {
    body: form.toString(),
  });
}

export async function assertLedgerClean(t: TestEngine): Promise<void> {
  const report = await verifyLedger(t.engine.database.db);
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
}
