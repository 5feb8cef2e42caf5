import { type Logger, pino } from 'pino';

// Paths that may carry card data or secrets anywhere in a log line. Secrets
// are also typed (`Secret`), so they redact themselves; this list is the second
// belt for plain objects such as request bodies and headers.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.number',
  '*.cvc',
  '*.card.number',
  '*.card.cvc',
  '*.card[*]',
  '*.iban',
  '*.account_number',
  '*.secret',
  '*.secretKey',
  '*.apiKey',
  '*.password',
  'body',
  'req.body',
];

// A card number put in a URL by mistake (a query parameter) must not reach the
// logs either: digit runs of card-number length are masked in logged URLs.
const CARD_LENGTH_DIGITS = /\d{12,19}/g;

export function maskCardNumbers(text: string): string {
  return text.replace(CARD_LENGTH_DIGITS, '[redacted]');
}

interface LoggedRequest {
  method?: string;
  url?: unknown;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer, with the URL masked. Fastify keeps a logger's own serializers. */
function serializeRequest(req: LoggedRequest): unknown {
  if (typeof req !== 'object' || req === null || typeof req.url !== 'string') return req;
  return {
    method: req.method,
    url: maskCardNumbers(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(
  options: { level?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? process.env.PAYRAIL_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'payrail' },
      serializers: { req: serializeRequest },
    },
    options.destination as pino.DestinationStream | undefined,
  );
}

export type { Logger };
