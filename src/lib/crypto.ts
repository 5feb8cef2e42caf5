import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { assert } from './assert.ts';

// A value that must never be printed: card numbers, keys. It redacts itself
// when logged, stringified or inspected; `reveal()` is the only way in.
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) {
    this.#value = value;
  }
  reveal(): T {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Secret([redacted])';
  }
}

export function sha256Hex(input: string): string {
  return createHash('sha256').update(input).digest('hex');
}

export function hmacHex(key: Buffer, input: string): string {
  return createHmac('sha256', key).update(input).digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const ENVELOPE_VERSION = 'v1';

function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url')).join(':');
}

function open(key: Buffer, sealed: string, aad: string): Buffer {
  const [iv, body, tag] = sealed.split(':').map((part) => Buffer.from(part, 'base64url'));
  assert(iv && body && tag, 'sealed value is malformed');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

/**
 * Envelope encryption with AES-256-GCM: each value gets its own random data
 * key, which is itself encrypted under the master key. `aad` binds the
 * ciphertext to its row (for example the payment method id), so a ciphertext
 * copied to another row does not decrypt.
 */
export class EnvelopeCipher {
  readonly #masterKey: Buffer;
  readonly #fingerprintKey: Buffer;

  constructor(masterKey: Buffer) {
    assert(masterKey.length === KEY_BYTES, 'master key must be 32 bytes');
    this.#masterKey = masterKey;
    this.#fingerprintKey = createHmac('sha256', masterKey).update('payrail:fingerprint').digest();
  }

  encrypt(plaintext: Secret<string>, aad: string): string {
    const dataKey = randomBytes(KEY_BYTES);
    const wrapped = seal(this.#masterKey, dataKey, `key:${aad}`);
    const body = seal(dataKey, Buffer.from(plaintext.reveal(), 'utf8'), aad);
    return `${ENVELOPE_VERSION}.${wrapped}.${body}`;
  }

  decrypt(envelope: string, aad: string): Secret<string> {
    const [version, wrapped, body] = envelope.split('.');
    assert(version === ENVELOPE_VERSION && wrapped && body, 'unknown envelope format');
    const dataKey = open(this.#masterKey, wrapped, `key:${aad}`);
    return new Secret(open(dataKey, body, aad).toString('utf8'));
  }

  /** A stable, keyed fingerprint: the same value gives the same fingerprint within a scope. */
  fingerprint(value: Secret<string>, scope: string): string {
    return hmacHex(this.#fingerprintKey, `${scope}:${value.reveal()}`).slice(0, 16);
  }
}

export function parseMasterKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  const decoded = Buffer.from(trimmed, 'base64');
  return decoded.length === KEY_BYTES ? decoded : undefined;
}

export function newMasterKey(): Buffer {
  return randomBytes(KEY_BYTES);
}
