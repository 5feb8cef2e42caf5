import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { sandboxOutcome } from '../../src/connectors/sandbox/outcomes.ts';
import { Secret } from '../../src/lib/crypto.ts';

// A local server that speaks the part of Adyen's Checkout API (v72) that the
// adyen connector uses, following Adyen's documented shapes: X-API-Key auth,
// {status, errorCode, message, errorType} errors, resultCode answers decided
// by card number like the sandbox (src/connectors/sandbox/outcomes.ts),
// Idempotency-Key replay, 201 `received` modifications, and HMAC-signed
// standard notifications. A switch makes it answer 5xx/429 or hang.
// 3-D Secure redirects: a card that needs authentication answers
// RedirectShopper with a redirect action; the shopper's page
// (GET /3ds/:psp?result=authorised|refused) sends the browser back to the
// payment's returnUrl with a redirectResult, which POST /payments/details
// turns into the final resultCode.

export type AdyenFault = { status: 429 | 500 | 502 | 503 } | 'hang' | null;

// biome-ignore lint/suspicious/noExplicitAny: untrusted request bodies, checked field by field.
type Body = Record<string, any>;

interface Stored {
  httpStatus: number;
  body: unknown;
}

export interface AdyenTestServer {
  url: string;
  apiKey: string;
  merchantAccount: string;
  hmacKeyHex: string;
  fault: AdyenFault;
  /** Payments made, by pspReference (replays do not add). */
  payments: Map<string, { reference: string; amount: { value: number; currency: string } }>;
  /** Modifications made, by pspReference. */
  modifications: Map<string, { kind: string; paymentPspReference: string; reference: string }>;
  /** The headers of every request received, in order. */
  seenHeaders: http.IncomingHttpHeaders[];
  /** Payments waiting for the shopper's 3-D Secure challenge, by pspReference. */
  challenges: Map<
    string,
    { reference: string; returnUrl: string | null; amount: { value: number; currency: string } }
  >;
  /** Every POST /payments/details that ran (replays under a stored key do not add). */
  detailsCalls: { idempotencyKey: string | null; redirectResult: string | null }[];
  /** A standard notification with one HMAC-signed item, as Adyen would POST it. */
  notification(item: NotificationInput, hmacKeyHex?: string): string;
  close(): Promise<void>;
}

export interface NotificationInput {
  eventCode: string;
  success: boolean;
  pspReference: string;
  originalReference?: string;
  merchantReference: string;
  amount: { value: number; currency: string };
  reason?: string;
}

/** Adyen's refusals for the sandbox decline codes (the reverse of what the connector maps). */
const REFUSALS: Readonly<Record<string, { code: string; reason: string }>> = {
  generic_decline: { code: '2', reason: 'Refused' },
  insufficient_funds: { code: '12', reason: 'Not enough balance' },
  lost_card: { code: '5', reason: 'Blocked Card' },
  stolen_card: { code: '5', reason: 'Blocked Card' },
  fraudulent: { code: '20', reason: 'FRAUD' },
  expired_card: { code: '6', reason: 'Expired Card' },
  incorrect_cvc: { code: '24', reason: 'CVC Declined' },
};

const pspReference = () =>
  Array.from(randomBytes(16), (b) => (b % 36).toString(36).toUpperCase())
    .join('')
    .slice(0, 16);

function apiError(status: number, errorCode: string, message: string, errorType: string): Stored {
  return { httpStatus: status, body: { status, errorCode, message, errorType } };
}

/** HMAC over Adyen's documented field order, with the hex key decoded (independent of the library). */
export function adyenItemSignature(
  item: Omit<NotificationInput, 'success'> & { success: string; merchantAccountCode: string },
  hmacKeyHex: string,
): string {
  const data = [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    item.amount.value,
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(':');
  return createHmac('sha256', Buffer.from(hmacKeyHex, 'hex')).update(data, 'utf8').digest('base64');
}

export async function startAdyenServer(): Promise<AdyenTestServer> {
  const state: AdyenTestServer = {
    url: '',
    apiKey: `AQE_test_${randomBytes(12).toString('hex')}`,
    merchantAccount: 'PayrailTestECOM',
    hmacKeyHex: randomBytes(32).toString('hex').toUpperCase(),
    fault: null,
    payments: new Map(),
    modifications: new Map(),
    seenHeaders: [],
    challenges: new Map(),
    detailsCalls: [],
    notification: () => '',
    close: async () => {},
  };
  const idempotent = new Map<string, Stored>();
  /** redirectResult → the challenged payment and how the shopper ended it (each usable once). */
  const redirectResults = new Map<
    string,
    { psp: string; result: 'authorised' | 'refused'; used: boolean }
  >();

  function pay(body: Body): Stored {
    const missing = ['amount', 'reference', 'merchantAccount', 'paymentMethod'].find(
      (f) => body[f] === undefined,
    );
    if (missing)
      return apiError(422, '130', `Required field '${missing}' is not provided.`, 'validation');
    if (body.merchantAccount !== state.merchantAccount) {
      return apiError(403, '901', 'Invalid Merchant Account', 'security');
    }
    const amount = body.amount;
    if (!Number.isSafeInteger(amount?.value) || !/^[A-Z]{3}$/.test(amount?.currency ?? '')) {
      return apiError(422, '137', 'Invalid amount specified', 'validation');
    }
    const method = body.paymentMethod;
    if (method?.type !== 'scheme' || typeof method.number !== 'string') {
      return apiError(422, '14_004', 'Missing payment method details', 'validation');
    }
    if (!/^\d{2}$/.test(method.expiryMonth ?? '') || !/^\d{4}$/.test(method.expiryYear ?? '')) {
      return apiError(422, '14_012', 'The provided Expiry Date is not valid.', 'validation');
    }
    const psp = pspReference();
    const outcome = sandboxOutcome(
      {
        type: 'card',
        number: new Secret(method.number),
        brand: 'visa',
        last4: method.number.slice(-4),
        expMonth: Number(method.expiryMonth),
        expYear: Number(method.expiryYear),
        funding: 'credit',
        country: null,
      },
      false,
    );
    const base = { pspReference: psp, merchantReference: body.reference, amount };
    switch (outcome.kind) {
      case 'succeed':
        state.payments.set(psp, { reference: body.reference, amount });
        return { httpStatus: 200, body: { ...base, resultCode: 'Authorised' } };
      case 'decline': {
        const refusal = REFUSALS[outcome.declineCode] ?? { code: '2', reason: 'Refused' };
        const refused = { resultCode: 'Refused', refusalReason: refusal.reason };
        return { httpStatus: 200, body: { ...base, ...refused, refusalReasonCode: refusal.code } };
      }
      case 'retryable':
        return {
          httpStatus: 200,
          body: {
            ...base,
            resultCode: 'Refused',
            refusalReason: 'Acquirer Error',
            refusalReasonCode: '4',
          },
        };
      case 'authenticate': {
        const returnUrl = typeof body.returnUrl === 'string' ? body.returnUrl : null;
        state.challenges.set(psp, { reference: body.reference, returnUrl, amount });
        const url = `${state.url}/3ds/${psp}`;
        const action = { type: 'redirect', method: 'GET', url, paymentMethodType: 'scheme' };
        return {
          httpStatus: 200,
          body: { resultCode: 'RedirectShopper', pspReference: psp, action },
        };
      }
      default:
        throw new Error('unhandled sandbox outcome');
    }
  }

  function modify(kind: string, paymentPsp: string, body: Body): Stored {
    if (body.merchantAccount !== state.merchantAccount) {
      return apiError(403, '901', 'Invalid Merchant Account', 'security');
    }
    if (typeof body.reference !== 'string') {
      return apiError(422, '130', "Required field 'reference' is not provided.", 'validation');
    }
    if (kind !== 'cancels' && !Number.isSafeInteger(body.amount?.value)) {
      return apiError(422, '137', 'Invalid amount specified', 'validation');
    }
    if (!state.payments.has(paymentPsp)) {
      return apiError(
        422,
        '167',
        'Original pspReference required for this operation',
        'validation',
      );
    }
    const psp = pspReference();
    state.modifications.set(psp, {
      kind,
      paymentPspReference: paymentPsp,
      reference: body.reference,
    });
    const answer = {
      merchantAccount: body.merchantAccount,
      paymentPspReference: paymentPsp,
      pspReference: psp,
      reference: body.reference,
      status: 'received',
      ...(body.amount ? { amount: body.amount } : {}),
    };
    return { httpStatus: 201, body: answer };
  }

  /** POST /payments/details: the redirectResult decides; each one completes its payment once. */
  function details(body: Body, idempotencyKey: string | null): Stored {
    const redirectResult = body.details?.redirectResult;
    state.detailsCalls.push({
      idempotencyKey,
      redirectResult: typeof redirectResult === 'string' ? redirectResult : null,
    });
    const found = typeof redirectResult === 'string' ? redirectResults.get(redirectResult) : null;
    if (!found || found.used) {
      return apiError(422, '14_018', 'Invalid redirectResult or payload', 'validation');
    }
    const challenge = state.challenges.get(found.psp);
    if (!challenge) throw new Error('redirectResult without its payment');
    found.used = true;
    state.challenges.delete(found.psp);
    const base = { pspReference: found.psp, merchantReference: challenge.reference };
    if (found.result === 'refused') {
      const refused = { refusalReason: '3D Not Authenticated', refusalReasonCode: '11' };
      return { httpStatus: 200, body: { ...base, resultCode: 'Refused', ...refused } };
    }
    state.payments.set(found.psp, { reference: challenge.reference, amount: challenge.amount });
    // Adyen's details answer names the authorised amount.
    return {
      httpStatus: 200,
      body: { ...base, amount: challenge.amount, resultCode: 'Authorised' },
    };
  }

  /** The shopper's challenge page: back to the returnUrl with a redirectResult appended. */
  function challengePage(
    psp: string,
    result: string | null,
  ): { status: number; location?: string } {
    const challenge = state.challenges.get(psp);
    if (!challenge?.returnUrl || (result !== 'authorised' && result !== 'refused')) {
      return { status: 404 };
    }
    const redirectResult = Buffer.from(
      JSON.stringify({ psp, nonce: randomBytes(24).toString('hex') }),
    ).toString('base64');
    redirectResults.set(redirectResult, { psp, result, used: false });
    const target = new URL(challenge.returnUrl);
    target.searchParams.set('redirectResult', redirectResult);
    return { status: 302, location: target.toString() };
  }

  function route(method: string, path: string, body: Body, key: string | null): Stored {
    if (method !== 'POST') return apiError(405, '905', 'Method not allowed', 'validation');
    if (path === '/v72/payments') return pay(body);
    if (path === '/v72/payments/details') return details(body, key);
    if (path === '/v72/paymentMethods') {
      if (body.merchantAccount !== state.merchantAccount) {
        return apiError(403, '901', 'Invalid Merchant Account', 'security');
      }
      return { httpStatus: 200, body: { paymentMethods: [{ name: 'Cards', type: 'scheme' }] } };
    }
    const modification = /^\/v72\/payments\/([A-Z0-9]+)\/(captures|cancels|refunds)$/.exec(path);
    if (modification?.[1] && modification[2]) return modify(modification[2], modification[1], body);
    return apiError(404, '000', 'Not found', 'validation');
  }

  function handle(req: http.IncomingMessage, raw: string): Stored | null {
    state.seenHeaders.push(req.headers);
    if (state.fault === 'hang') return null;
    if (state.fault) {
      const status = state.fault.status;
      const type = status === 429 ? 'rateLimit' : 'internal';
      return apiError(status, status === 429 ? '429' : '905', 'Simulated fault', type);
    }
    if (req.headers['x-api-key'] !== state.apiKey) {
      return apiError(401, '000', 'HTTP Status Response - Unauthorized', 'security');
    }
    let body: Body;
    try {
      body = JSON.parse(raw);
    } catch {
      return apiError(400, '702', 'Structure of the request is not valid JSON', 'validation');
    }
    const key = req.headers['idempotency-key'];
    // Adyen takes keys of at most 64 characters (docs: API idempotency).
    if (typeof key === 'string' && key.length > 64) {
      return apiError(422, '000', 'Idempotency-Key is longer than 64 characters', 'validation');
    }
    const storeKey = typeof key === 'string' ? `${req.url} ${key}` : null;
    const stored = storeKey ? idempotent.get(storeKey) : undefined;
    if (stored) return stored;
    const answer = route(
      req.method ?? '',
      req.url ?? '',
      body,
      typeof key === 'string' ? key : null,
    );
    // Like Adyen, validation failures are not stored: the request did not run.
    if (storeKey && answer.httpStatus < 400) idempotent.set(storeKey, answer);
    return answer;
  }

  const server = http.createServer((req, res) => {
    const page = /^\/3ds\/([A-Z0-9]+)(?:\?(.*))?$/.exec(req.url ?? '');
    if (req.method === 'GET' && page?.[1]) {
      const result = new URLSearchParams(page[2] ?? '').get('result');
      const answer = challengePage(page[1], result);
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
      res.end();
      return;
    }
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
      if (raw.length > 1_000_000) req.destroy();
    });
    req.on('end', () => {
      const answer = handle(req, raw);
      if (!answer) return; // hang: never answer
      res.writeHead(answer.httpStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  state.url = `http://127.0.0.1:${port}`;
  state.notification = (input, hmacKeyHex = state.hmacKeyHex) => {
    const item = {
      ...input,
      success: String(input.success),
      merchantAccountCode: state.merchantAccount,
      originalReference: input.originalReference ?? '',
    };
    const NotificationRequestItem = {
      ...item,
      additionalData: { hmacSignature: adyenItemSignature(item, hmacKeyHex) },
    };
    return JSON.stringify({ live: 'false', notificationItems: [{ NotificationRequestItem }] });
  };
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
