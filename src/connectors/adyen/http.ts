import type { Config } from '@adyen/api-library';
import type { AdyenApiError, AdyenFailure } from './transformers.ts';

// The HTTP client the Adyen library calls, plugged in through its documented
// extension point (`new Client(config, httpClient)`, "Custom HTTP client
// configuration" in the library's README). It exists for three reasons:
// - the library builds every Checkout URL from a fixed host
//   (https://checkout-test.adyen.com/v72, or a live host from a URL prefix)
//   and has no setting for another base URL; here the fixed origin is
//   replaced by the configured one, keeping the library's path and version;
// - its default client speaks only https and has no AbortSignal;
// - failures must be told apart (refused / timed out / answered) as data.

/** The origin the library puts in front of Checkout paths in its TEST environment. */
export const ADYEN_LIBRARY_CHECKOUT_ORIGIN = 'https://checkout-test.adyen.com';

/** Thrown to the library and back out of it: a failure as plain data for the transformers. */
export class AdyenCallError extends Error {
  override name = 'AdyenCallError';
  constructor(readonly failure: AdyenFailure) {
    super(failure.kind === 'http' ? `adyen HTTP ${failure.httpStatus}` : failure.message);
  }
}

/** The origin the library puts in front of Disputes API paths (/ca/services/DisputeService/v30). */
export const ADYEN_LIBRARY_DISPUTES_ORIGIN = 'https://ca-test.adyen.com';

/**
 * Where the Disputes API is for a Checkout base URL: Adyen's test or live
 * Customer Area host for Adyen's own Checkout hosts, else the same base URL
 * (a local server or a proxy that serves both).
 */
export function adyenDisputesBaseUrl(checkoutBaseUrl: string): string {
  const host = new URL(checkoutBaseUrl).hostname;
  if (host === 'checkout-test.adyen.com') return 'https://ca-test.adyen.com';
  if (host.endsWith('-checkout-live.adyenpayments.com')) return 'https://ca-live.adyen.com';
  return checkoutBaseUrl;
}

/** The library's endpoint URL, moved onto the configured base URL (Checkout or Disputes). */
export function rebaseAdyenEndpoint(
  endpoint: string,
  baseUrl: string,
  disputesBaseUrl: string = adyenDisputesBaseUrl(baseUrl),
): string {
  for (const [origin, base] of [
    [ADYEN_LIBRARY_CHECKOUT_ORIGIN, baseUrl],
    [ADYEN_LIBRARY_DISPUTES_ORIGIN, disputesBaseUrl],
  ] as const) {
    if (endpoint.startsWith(`${origin}/`)) {
      return base.replace(/\/+$/, '') + endpoint.slice(origin.length);
    }
  }
  throw new Error(`unexpected Adyen library endpoint ${endpoint}`);
}

function parseApiError(text: string): AdyenApiError | null {
  try {
    const body = JSON.parse(text) as unknown;
    return body && typeof body === 'object' && 'status' in body ? (body as AdyenApiError) : null;
  } catch {
    return null;
  }
}

function networkFailure(error: unknown, signal: AbortSignal): AdyenFailure {
  if (signal.aborted) return { kind: 'timeout', message: 'adyen call deadline reached' };
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') {
    return { kind: 'refused', message: `adyen connection refused (${cause.message ?? ''})` };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    kind: 'connection',
    message: `adyen connection failed: ${message} (${cause?.code ?? ''})`,
  };
}

/** The request options Payrail passes through the library: the Idempotency-Key and our deadline. */
export interface AdyenRequestOptions {
  idempotencyKey?: string;
  method?: string;
  signal?: AbortSignal;
}

export function createAdyenHttpClient(baseUrl: string) {
  return {
    async request(
      endpoint: string,
      json: string | Buffer,
      config: Config,
      _isApiKeyRequired: boolean,
      requestOptions?: AdyenRequestOptions,
    ): Promise<string> {
      const options = requestOptions ?? {};
      const deadline = AbortSignal.timeout(config.connectionTimeoutMillis ?? 30_000);
      const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
      const method = options.method ?? 'POST';
      const headers: Record<string, string> = {
        'x-api-key': config.apiKey ?? '',
        'content-type': 'application/json',
        'user-agent': 'payrail-adyen-connector',
      };
      if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
      let response: Response;
      let text: string;
      try {
        response = await fetch(rebaseAdyenEndpoint(endpoint, baseUrl), {
          method,
          headers,
          body: method === 'GET' ? undefined : json.toString(),
          signal,
        });
        text = await response.text();
      } catch (error) {
        throw new AdyenCallError(networkFailure(error, signal));
      }
      if (response.status < 200 || response.status >= 300) {
        throw new AdyenCallError({
          kind: 'http',
          httpStatus: response.status,
          error: parseApiError(text),
        });
      }
      return text;
    },
  };
}
