import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Secret } from '../src/lib/crypto.ts';
import { createLogger, maskCardNumbers } from '../src/lib/logger.ts';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';

// Card data and secrets never reach the logs in clear.

const CARD = '4242424242424242';

function capture(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  return { logger: createLogger({ level: 'info', destination: stream }), text: () => out };
}

describe('logs: security', () => {
  let t: TestEngine;
  before(async () => {
    t = await startEngine();
  });
  after(async () => {
    await t.close();
  });

  test('the logger redacts authorization headers, card fields and secrets', async () => {
    const { logger, text } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer sk_test_x' } },
        card: { number: CARD, cvc: '123' },
      },
      'one',
    );
    logger.info({ headers: { authorization: 'Basic c2tfdGVzdF95Og==' } }, 'two');
    logger.info(
      { payment_method: { id: 'pm_visible', card: { number: CARD, exp_month: 12 } } },
      'three',
    );
    logger.info({ req: { body: { card: { number: CARD } } } }, 'four');
    logger.info({ body: `card[number]=${CARD}` }, 'five');
    logger.info(
      { key: new Secret('sk_test_secretvalue'), config: { secretKey: 'sk_test_configured' } },
      'six',
    );
    await sleep(20);
    const out = text();
    assert.equal(out.trim().split('\n').length, 6, out);
    for (const secret of [
      'sk_test_x',
      CARD,
      '"123"',
      'c2tfdGVzdF95Og',
      'sk_test_secretvalue',
      'sk_test_configured',
    ]) {
      assert.ok(!out.includes(secret), `${secret} is in the log: ${out}`);
    }
    assert.match(out, /\[redacted\]/);
    assert.match(out, /"id":"pm_visible"/, 'what is not secret is still logged');
  });

  test('card-length digit runs are masked in logged URLs, ids are not', () => {
    assert.equal(
      maskCardNumbers(`/v1/x?n=${CARD}&id=cus_0mws2gvoc0000mhrk61oz9bj`),
      '/v1/x?n=[redacted]&id=cus_0mws2gvoc0000mhrk61oz9bj',
    );
  });

  test('a Secret redacts itself however it is printed', () => {
    const secret = new Secret('sk_test_abc');
    assert.ok(!JSON.stringify({ secret }).includes('sk_test_abc'));
    assert.ok(!String(secret).includes('sk_test_abc'));
    assert.ok(!`${secret}`.includes('sk_test_abc'));
  });

  test('API calls never write the secret key or card numbers to the engine log', async () => {
    await t.stripe.customers.create({ email: 'log@example.com', metadata: { note: 'hello' } });
    await t.stripe.customers.list();
    const basic = Buffer.from(`${t.secretKey}:`).toString('base64');
    await rawRequest(t, 'GET', '/v1/customers', {
      key: null,
      headers: { authorization: `Basic ${basic}` },
    });
    // A wrong key that shares most of the real one: the error must not echo it either.
    const wrong = `${t.secretKey.slice(0, -1)}Z`;
    const denied = await rawRequest(t, 'GET', '/v1/customers', { key: wrong });
    assert.equal(denied.status, 401);
    assert.ok(!JSON.stringify(denied.json).includes(wrong));
    // Card numbers in a body and in a query string, whatever the endpoint answers.
    await rawRequest(t, 'POST', '/v1/payment_methods', {
      body: `type=card&card[number]=${CARD}&card[exp_month]=12&card[exp_year]=2040&card[cvc]=123`,
    });
    await rawRequest(t, 'POST', '/v1/customers', { body: `card[number]=${CARD}` });
    await rawRequest(t, 'GET', `/v1/customers?${'x'.repeat(10)}[${CARD}]=1`);
    await sleep(100);

    const log = fs.readFileSync(t.logFile, 'utf8');
    assert.ok(
      log.includes('request completed') || log.includes('incoming request'),
      'requests are logged',
    );
    assert.ok(!log.includes(t.secretKey), 'the secret key is in the log');
    assert.ok(
      !log.includes(t.secretKey.slice(8)),
      'the random part of the secret key is in the log',
    );
    assert.ok(!log.includes(basic), 'the Basic credentials are in the log');
    assert.ok(!log.includes(wrong), 'a presented key is in the log');
    assert.ok(!log.includes(CARD), 'a card number is in the log');
    assert.match(
      log,
      /"url":"\/v1\/customers\?x{10}\[\[redacted\]\]=1"/,
      'the URL is logged, masked',
    );
  });
});
