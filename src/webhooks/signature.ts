import { hmacHex } from '../lib/crypto.ts';
import { randomToken } from '../lib/ids.ts';

// Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "t.body" under the endpoint secret>`, one v1 per secret that
// currently signs (two during a secret roll). The official SDKs accept the
// event when any v1 matches and t is within their tolerance (300 s).

const SECRET_PREFIX = 'whsec_';
const SECRET_CHARS = 32;

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomToken(SECRET_CHARS)}`;
}

export function signatureHeader(options: {
  payload: string;
  secrets: string[];
  timestampSeconds: number;
}): string {
  const signed = `${options.timestampSeconds}.${options.payload}`;
  const parts = [`t=${options.timestampSeconds}`];
  for (const secret of options.secrets) {
    // Stripe uses the whole secret string, prefix included, as the HMAC key.
    parts.push(`v1=${hmacHex(Buffer.from(secret, 'utf8'), signed)}`);
  }
  return parts.join(',');
}
