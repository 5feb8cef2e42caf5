import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PaymentIntentsTable } from '../db/schema.ts';
import { ApiError } from '../lib/errors.ts';
import { parseAuthenticationReturn } from './operations.ts';
import type { PaymentsService } from './service.ts';

// The 3-D Secure return page (docs/connectors.md#3-d-secure): a browser page,
// not an API route (no API key; the token in the URL, derived from the
// intent's client secret, stands for it). The processor sends the customer
// here after the challenge, with its own parameters appended (Adyen's
// redirectResult, Stripe's payment_intent...), by GET or, for some Adyen
// flows, POST. The engine completes the payment once, then sends the
// customer on to the merchant's return_url the way Stripe does.

/** Stripe's redirect_status for the intent's state after the return. */
function redirectStatus(status: string): 'succeeded' | 'processing' | 'failed' {
  if (status === 'succeeded' || status === 'requires_capture') return 'succeeded';
  if (status === 'processing') return 'processing';
  return 'failed';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The merchant's return_url with Stripe's parameters, or null when it does not parse (older rows). */
function merchantTarget(intent: PaymentIntentsTable, status: string): string | null {
  if (!intent.return_url) return null;
  let target: URL;
  try {
    target = new URL(intent.return_url);
  } catch {
    return null;
  }
  target.searchParams.set('payment_intent', intent.id);
  target.searchParams.set('payment_intent_client_secret', intent.client_secret);
  target.searchParams.set('redirect_status', status);
  return target.toString();
}

function page(reply: FastifyReply, code: number, title: string, text: string): FastifyReply {
  const html = `<!doctype html><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(text)}</p>`;
  return reply.code(code).type('text/html').send(html);
}

function respond(
  reply: FastifyReply,
  input: { intent: PaymentIntentsTable; waiting: boolean },
): FastifyReply {
  const { intent } = input;
  // The URL carries the token: keep it out of Referer headers and caches.
  reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
  if (input.waiting) {
    // Nothing began (no processor parameters, or no open challenge): say
    // so, rather than sending the merchant a "failed" that is not one.
    return page(
      reply,
      200,
      'Payment waiting',
      `Payment ${intent.id} is still waiting for authentication. Finish it on your bank's page, or go back to the shop.`,
    );
  }
  const status = redirectStatus(intent.status);
  const target = merchantTarget(intent, status);
  if (target) return reply.code(303).header('location', target).send();
  return page(
    reply,
    200,
    `Payment ${status}`,
    `Payment ${intent.id} is ${intent.status}. You can close this page.`,
  );
}

export function registerAuthenticationReturn(
  app: FastifyInstance,
  payments: Pick<PaymentsService, 'returnFromAuthentication'>,
): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = String((request.params as Record<string, string>).id ?? '');
    const query = (request.query ?? {}) as Record<string, unknown>;
    const body =
      request.body && typeof request.body === 'object'
        ? (request.body as Record<string, unknown>)
        : {};
    const input = parseAuthenticationReturn({ ...body, ...query });
    let returned: Awaited<ReturnType<PaymentsService['returnFromAuthentication']>>;
    try {
      returned = await payments.returnFromAuthentication(id, input);
    } catch (error) {
      // A wrong token (404) stays an API error; a completion that could not
      // begin is an error page, never a "failed" redirect: the processor may
      // have taken the payment.
      if (!(error instanceof ApiError) || error.status === 404) throw error;
      reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
      return page(
        reply,
        409,
        'Payment not completed',
        `${error.message} Please contact the shop; do not pay again.`,
      );
    }
    return respond(reply, returned);
  };
  app.get('/3ds/return/:id', handler);
  app.post('/3ds/return/:id', handler);
}
