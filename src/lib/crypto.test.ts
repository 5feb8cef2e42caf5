import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  constantTimeEqual,
  EnvelopeCipher,
  newMasterKey,
  parseMasterKey,
  Secret,
  sha256Hex,
} from './crypto.ts';

const PAN = '4242424242424242';

describe('crypto', () => {
  const cipher = new EnvelopeCipher(newMasterKey());

  test('envelope round trip', () => {
    const sealed = cipher.encrypt(new Secret(PAN), 'pm_1');
    assert.match(sealed, /^v1\./);
    assert.ok(!sealed.includes(PAN));
    assert.equal(cipher.decrypt(sealed, 'pm_1').reveal(), PAN);
    // A fresh data key and IV every time.
    assert.notEqual(cipher.encrypt(new Secret(PAN), 'pm_1'), sealed);
    assert.equal(cipher.decrypt(cipher.encrypt(new Secret(''), 'pm_2'), 'pm_2').reveal(), '');
  });

  test('a ciphertext does not decrypt under another AAD (row) or another master key', () => {
    const sealed = cipher.encrypt(new Secret(PAN), 'pm_1');
    assert.throws(() => cipher.decrypt(sealed, 'pm_2'));
    assert.throws(() => new EnvelopeCipher(newMasterKey()).decrypt(sealed, 'pm_1'));
  });

  test('any tampering is detected', () => {
    const sealed = cipher.encrypt(new Secret(PAN), 'pm_1');
    for (let i = 3; i < sealed.length; i += 7) {
      const c = sealed[i];
      if (c === '.' || c === ':') continue;
      const tampered = sealed.slice(0, i) + (c === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
      assert.throws(() => cipher.decrypt(tampered, 'pm_1'), `tampering at ${i} went unnoticed`);
    }
    assert.throws(() => cipher.decrypt(sealed.replace(/^v1/, 'v2'), 'pm_1'));
    assert.throws(() => cipher.decrypt('v1.garbage', 'pm_1'));
  });

  test('fingerprints are stable within a scope and differ across scopes and keys', () => {
    const a = cipher.fingerprint(new Secret(PAN), 'acct_1');
    assert.equal(a, cipher.fingerprint(new Secret(PAN), 'acct_1'));
    assert.notEqual(a, cipher.fingerprint(new Secret(PAN), 'acct_2'));
    assert.notEqual(a, new EnvelopeCipher(newMasterKey()).fingerprint(new Secret(PAN), 'acct_1'));
    assert.ok(!a.includes(PAN.slice(-4)) || a.length === 16);
  });

  test('a Secret redacts itself in JSON.stringify, String and util.inspect', () => {
    const secret = new Secret(PAN);
    assert.ok(!JSON.stringify({ card: secret }).includes(PAN));
    assert.ok(!String(secret).includes(PAN));
    assert.ok(!`${secret}`.includes(PAN));
    assert.ok(!inspect(secret).includes(PAN));
    assert.ok(!inspect({ nested: { secret } }, { depth: 10 }).includes(PAN));
    assert.equal(secret.reveal(), PAN);
  });

  test('master keys: 64 hex characters or 32 bytes of base64', () => {
    const key = newMasterKey();
    assert.deepEqual(parseMasterKey(key.toString('hex')), key);
    assert.deepEqual(parseMasterKey(`${key.toString('base64')}\n`), key);
    assert.equal(parseMasterKey('short'), undefined);
    assert.equal(parseMasterKey(Buffer.alloc(16).toString('base64')), undefined);
    assert.throws(() => new EnvelopeCipher(Buffer.alloc(16)));
  });

  test('hash and comparison helpers', () => {
    assert.equal(
      sha256Hex('abc'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(constantTimeEqual('abc', 'abc'), true);
    assert.equal(constantTimeEqual('abc', 'abd'), false);
    assert.equal(constantTimeEqual('abc', 'abcd'), false);
  });
});
