import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCustomersService } from '../customers/service.ts';
import { internalContext } from '../db/context.ts';
import { type DatabaseHandle, migrate, openDatabase } from '../db/database.ts';
import { createEventsService } from '../events/service.ts';
import { EnvelopeCipher, newMasterKey, Secret } from '../lib/crypto.ts';
import { ApiError } from '../lib/errors.ts';
import { createVaultService } from './service.ts';

// The contract the payments module codes against, on a real SQLite file.
describe('vault service contract', () => {
  let dir: string;
  let handle: DatabaseHandle;
  let vault: ReturnType<typeof createVaultService>;
  const nowMs = Date.UTC(2026, 4, 15);
  const clock = { nowMs: () => nowMs };
  const testCtx = internalContext({ accountId: 'acct_test', livemode: false });
  const liveCtx = internalContext({ accountId: 'acct_test', livemode: true });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrail-vault-'));
    handle = openDatabase({ dataDir: dir });
    await migrate(handle);
    const events = createEventsService(handle.db, clock);
    const customers = createCustomersService({ db: handle.db, clock, events });
    vault = createVaultService({
      db: handle.db,
      clock,
      cipher: new EnvelopeCipher(newMasterKey()),
      events,
      customers,
    });
  });
  after(async () => {
    await handle.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const expectError = (code: string, param: string) => (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.param, param);
    return true;
  };

  test('resolveForPayment: test ids make a new card; instrument decrypts it', async () => {
    const row = await vault.resolveForPayment(
      handle.db,
      testCtx,
      'pm_card_chargeDeclined',
      'payment_method',
    );
    assert.match(row.id, /^pm_/);
    assert.ok(!row.secret_enc?.includes('4000000000000002'));
    const instrument = vault.instrument(row);
    assert.equal(instrument.type, 'card');
    if (instrument.type !== 'card') return;
    assert.ok(instrument.number instanceof Secret);
    assert.equal(instrument.number.reveal(), '4000000000000002');
    assert.equal(JSON.stringify(instrument).includes('4000000000000002'), false);
    assert.deepEqual(
      { ...instrument, number: undefined },
      {
        type: 'card',
        number: undefined,
        brand: 'visa',
        last4: '0002',
        expMonth: 5,
        expYear: 2027,
        funding: 'credit',
        country: 'US',
        wallet: null,
      },
    );
    const same = await vault.resolveForPayment(handle.db, testCtx, row.id, 'payment_method');
    assert.equal(same.id, row.id);
  });

  test('resolveForPayment: unknown ids, and test ids in live mode, are resource_missing naming param', async () => {
    await assert.rejects(
      vault.resolveForPayment(handle.db, testCtx, 'pm_nope', 'payment_method'),
      expectError('resource_missing', 'payment_method'),
    );
    await assert.rejects(
      vault.resolveForPayment(handle.db, liveCtx, 'pm_card_visa', 'payment_method'),
      expectError('resource_missing', 'payment_method'),
    );
    const testRow = await vault.resolveForPayment(
      handle.db,
      testCtx,
      'pm_card_visa',
      'payment_method',
    );
    await assert.rejects(
      vault.resolveForPayment(handle.db, liveCtx, testRow.id, 'payment_method'),
      expectError('resource_missing', 'payment_method'),
    );
  });

  test('createFromData: validates like POST /v1/payment_methods, params prefixed', async () => {
    const data = {
      type: 'card',
      card: { number: '4242424242424241', exp_month: '1', exp_year: '2030' },
    };
    await assert.rejects(
      vault.createFromData(handle.db, testCtx, data),
      expectError('incorrect_number', 'payment_method_data[card][number]'),
    );
    await assert.rejects(
      vault.createFromData(handle.db, testCtx, {
        ...data,
        card: { ...data.card, number: '4242424242424242', exp_year: '2025' },
      }),
      expectError('invalid_expiry_year', 'payment_method_data[card][exp_year]'),
    );
    await assert.rejects(
      vault.createFromData(handle.db, testCtx, { type: 'card', bogus: '1' }),
      expectError('parameter_unknown', 'payment_method_data[bogus]'),
    );
    await assert.rejects(
      vault.createFromData(handle.db, testCtx, {
        type: 'sepa_debit',
        sepa_debit: { iban: 'DE00' },
      }),
      expectError('invalid_iban', 'payment_method_data[sepa_debit][iban]'),
    );
    const row = await vault.createFromData(handle.db, testCtx, {
      type: 'card',
      card: { number: '4242424242424242', exp_month: '1', exp_year: '2030', cvc: '123' },
      billing_details: { name: 'Jenny' },
    });
    assert.equal(vault.serialize(row).type, 'card');
    const details = vault.chargeDetails(row);
    assert.equal(details.type, 'card');
    assert.equal((details.card as { last4: string }).last4, '4242');
    assert.equal((details.card as { network: string }).network, 'visa');
    assert.equal(JSON.stringify(details).includes('4242424242424242'), false);
  });

  test('bank instruments', async () => {
    const sepa = await vault.createFromData(handle.db, testCtx, {
      type: 'sepa_debit',
      sepa_debit: { iban: 'DE89370400440532013000' },
      billing_details: { name: 'Jenny', email: 'jenny@example.com' },
    });
    const sepaInstrument = vault.instrument(sepa);
    assert.equal(sepaInstrument.type, 'sepa_debit');
    if (sepaInstrument.type === 'sepa_debit')
      assert.equal(sepaInstrument.iban.reveal(), 'DE89370400440532013000');
    assert.equal(vault.chargeDetails(sepa).type, 'sepa_debit');
    const bank = await vault.createFromData(handle.db, testCtx, {
      type: 'us_bank_account',
      us_bank_account: { account_number: '000123456789', routing_number: '110000000' },
      billing_details: { name: 'Jenny' },
    });
    const bankInstrument = vault.instrument(bank);
    assert.equal(bankInstrument.type, 'us_bank_account');
    if (bankInstrument.type === 'us_bank_account') {
      assert.equal(bankInstrument.accountNumber.reveal(), '000123456789');
      assert.equal(bankInstrument.routingNumber, '110000000');
    }
  });

  test('a ciphertext moved to another row does not decrypt', async () => {
    const a = await vault.resolveForPayment(handle.db, testCtx, 'pm_card_visa', 'payment_method');
    const b = await vault.resolveForPayment(handle.db, testCtx, 'pm_card_amex', 'payment_method');
    assert.throws(() => vault.instrument({ ...b, secret_enc: a.secret_enc }));
  });
});
