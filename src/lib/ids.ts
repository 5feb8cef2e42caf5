import { randomBytes } from 'node:crypto';

// Ids are a Stripe-style prefix followed by 24 lowercase base-36 characters:
// 9 for the millisecond time, 4 for a per-process counter and 11 random. They
// sort by creation time as plain strings on both databases (lowercase
// alphanumerics compare the same under every collation), which is what list
// pagination relies on.
const TIME_CHARS = 9;
const COUNTER_CHARS = 4;
const RANDOM_CHARS = 11;
const COUNTER_MAX = 36 ** COUNTER_CHARS;

let lastMs = 0;
let counter = 0;

export type IdPrefix =
  | 'acct'
  | 'key'
  | 'cus'
  | 'pm'
  | 'pi'
  | 'pa'
  | 'ch'
  | 're'
  | 'evt'
  | 'req'
  | 'seti'
  | 'inst'
  | 'conn'
  | 'mw'
  | 'inc'
  | 'iu'
  | 'we'
  | 'whd'
  | 'job'
  | 'ntf'
  | 'txn'
  | 'la'
  | 'le'
  | 'po'
  | 'ba'
  | 'fxr'
  | 'stb'
  | 'recon'
  | 'rcl'
  | 'jmap'
  | 'du'
  | 'btr';

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  if (nowMs > lastMs) {
    lastMs = nowMs;
    counter = 0;
  } else {
    counter += 1;
    if (counter >= COUNTER_MAX) {
      // More than 1.6 million ids in one millisecond: borrow the next one.
      lastMs += 1;
      counter = 0;
    }
  }
  const time = lastMs.toString(36).padStart(TIME_CHARS, '0');
  const count = counter.toString(36).padStart(COUNTER_CHARS, '0');
  return `${prefix}_${time}${count}${randomBase36(RANDOM_CHARS)}`;
}

// Random bytes are drawn from the CSPRNG a pool at a time: one randomBytes()
// call per id cost more than the rest of newId.
const POOL_BYTES = 4096;
let pool = randomBytes(POOL_BYTES);
let poolOffset = 0;

function nextRandomBytes(length: number): Buffer {
  if (length > POOL_BYTES) return randomBytes(length);
  if (poolOffset + length > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + length);
  poolOffset += length;
  return bytes;
}

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

export function randomBase36(length: number): string {
  const bytes = nextRandomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += BASE36[(bytes[i] as number) % 36];
  return out;
}

/** A random token of URL-safe characters, for secrets such as API keys. */
export function randomToken(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  for (const byte of bytes) {
    // Rejection sampling keeps every character equally likely.
    if (byte >= 248) continue;
    out += alphabet[byte % 62];
    if (out.length === length) break;
  }
  return out.length === length ? out : out + randomToken(length - out.length);
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`);
}
