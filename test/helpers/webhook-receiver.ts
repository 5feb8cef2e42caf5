import http from 'node:http';

// A real HTTP webhook receiver on loopback for the webhook tests. `behave`
// decides per request (numbered from 1) whether to answer 200, fail with 500,
// redirect or never answer.

export type Behaviour = 'ok' | 'fail' | 'hang' | 'redirect';

export interface Received {
  body: string;
  signature: string;
  event: { id: string; type: string; [key: string]: unknown };
  atMs: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests of any outcome, including failed and hanging ones. */
  requests(): number;
  behave: (n: number, event: Received['event']) => Behaviour;
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(
  behave: Receiver['behave'] = () => 'ok',
  options: { delayMs?: number } = {},
): Promise<Receiver> {
  let count = 0;
  const received: Received[] = [];
  const receiver = { behave } as Receiver;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      count += 1;
      const body = Buffer.concat(chunks).toString('utf8');
      const event = JSON.parse(body) as Received['event'];
      const behaviour = receiver.behave(count, event);
      if (behaviour === 'hang') return;
      const answer = () => {
        if (behaviour === 'fail') return res.writeHead(500).end('receiver says no');
        if (behaviour === 'redirect')
          return res.writeHead(302, { location: `${receiver.url}/elsewhere` }).end();
        received.push({
          body,
          signature: String(req.headers['stripe-signature'] ?? ''),
          event,
          atMs: Date.now(),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  receiver.url = `http://127.0.0.1:${port}/hook`;
  receiver.received = received;
  receiver.requests = () => count;
  receiver.waitFor = async (predicate, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(received)) {
      if (Date.now() > deadline)
        throw new Error(
          `receiver: condition not met in ${timeoutMs} ms (${received.length} received)`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
