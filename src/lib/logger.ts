import { pino, type Logger } from 'pino';

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

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.PAYRAIL_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'payrail' },
    },
    options.destination as pino.DestinationStream | undefined,
  );
}

export type { Logger };
