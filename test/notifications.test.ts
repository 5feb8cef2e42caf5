import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { rawRequest, startEngine, type TestEngine } from './helpers/engine.ts';
import { freePort } from './helpers/process.ts';

// Email through a real SMTP server (smtp-server) and SMS through a local
// Twilio-shaped HTTP server, both started here; the engine is configured to
// use them and the tests check what arrived.

interface Mail {
  to: string[];
  raw: string;
}

interface Smtp {
  port: number;
  mails: Mail[];
  listen(): Promise<void>;
  close(): Promise<void>;
}

function smtpOn(port: number): Smtp {
  const mails: Mail[] = [];
  let server: SMTPServer | undefined;
  return {
    port,
    mails,
    listen() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['AUTH', 'STARTTLS'],
        logger: false,
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            mails.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              // Unfold headers and quoted-printable soft breaks so assertions read plainly.
              raw: Buffer.concat(chunks)
                .toString('utf8')
                .replace(/=\r\n/g, '')
                .replace(/\r\n[ \t]+/g, ' '),
            });
            callback();
          });
        },
      });
      const s = server;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
    },
    async close() {
      const s = server;
      if (!s) return;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

const SMS_SID = 'ACtest0123456789';
const SMS_TOKEN = 'sms-token-secret';

interface Sms {
  url: string;
  messages: { to: string; from: string; body: string }[];
  rejected: string[];
  close(): Promise<void>;
}

/** Answers like Twilio's Messages API, and records only requests of the right shape. */
async function smsServer(): Promise<Sms> {
  const messages: Sms['messages'] = [];
  const rejected: string[] = [];
  const expectedAuth = `Basic ${Buffer.from(`${SMS_SID}:${SMS_TOKEN}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const problems = [
        req.method !== 'POST' && 'method',
        req.url !== `/2010-04-01/Accounts/${SMS_SID}/Messages.json` && `path ${req.url}`,
        req.headers.authorization !== expectedAuth && 'auth',
        !String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded') &&
          'content-type',
        !form.get('To') && 'To',
        !form.get('From') && 'From',
        !form.get('Body') && 'Body',
      ].filter(Boolean);
      if (problems.length > 0) {
        rejected.push(problems.join(','));
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":21604}');
        return;
      }
      messages.push({
        to: form.get('To') ?? '',
        from: form.get('From') ?? '',
        body: form.get('Body') ?? '',
      });
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ sid: `SM${messages.length}`, status: 'queued' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    rejected,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const form = (body: Record<string, string>) => new URLSearchParams(body).toString();

function smsEnv(sms: Sms): Record<string, string> {
  return {
    PAYRAIL_SMS_URL: sms.url,
    PAYRAIL_SMS_ACCOUNT_SID: SMS_SID,
    PAYRAIL_SMS_AUTH_TOKEN: SMS_TOKEN,
    PAYRAIL_SMS_FROM: '+15005550006',
  };
}

describe('notifications', () => {
  let t: TestEngine;
  let smtp: Smtp;
  let sms: Sms;

  before(async () => {
    smtp = smtpOn(await freePort());
    await smtp.listen();
    sms = await smsServer();
    t = await startEngine({
      env: {
        PAYRAIL_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
        PAYRAIL_SMTP_FROM: 'notify@payrail.test',
        PAYRAIL_NOTIFICATION_RETRY_BASE_MS: '100',
        PAYRAIL_WEBHOOK_RETRY_BASE_MS: '100',
        PAYRAIL_WEBHOOK_DISABLE_AFTER_MS: '1000',
        ...smsEnv(sms),
      },
    });
    const saved = await rawRequest(t, 'POST', '/v1/notification_settings', {
      body: form({
        sender_name: 'Acme & Co <Shop>',
        reply_to: 'support@acme.test',
        'operator_emails[0]': 'ops@acme.test',
        'operator_phones[0]': '+14155550123',
        failed_payments_threshold: '3',
        failed_payments_window_seconds: '600',
      }),
    });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
  });

  after(async () => {
    await t?.close();
    await smtp?.close();
    await sms?.close();
  });

  const mailsTo = (address: string, subject: string) =>
    smtp.mails.filter((m) => m.to.includes(address) && m.raw.includes(`Subject: ${subject}`));

  test('a payment with receipt_email gets a receipt; a refund gets a refund receipt', async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1234,
      currency: 'usd',
      payment_method: 'pm_card_visa',
      confirm: true,
      receipt_email: 'jane@example.com',
      description: 'Order <42>',
    });
    assert.equal(pi.status, 'succeeded');
    await waitFor('receipt', () => mailsTo('jane@example.com', 'Your receipt').length === 1);
    const receipt = mailsTo('jane@example.com', 'Your receipt')[0]?.raw ?? '';
    assert.match(receipt, /From: "Acme & Co <Shop>" <notify@payrail\.test>/);
    assert.match(receipt, /Reply-To: support@acme\.test/);
    assert.match(receipt, /12\.34 USD/);
    assert.match(receipt, new RegExp(pi.id));
    // The HTML part escapes what the merchant and the customer wrote.
    assert.match(receipt, /Acme &amp; Co &lt;Shop&gt;/);
    assert.match(receipt, /Order &lt;42&gt;/);
    assert.doesNotMatch(receipt, /<p>For: Order <42>/);

    const refund = await t.stripe.refunds.create({ payment_intent: pi.id, amount: 234 });
    await waitFor('refund receipt', () => mailsTo('jane@example.com', 'Your refund').length === 1);
    const refundMail = mailsTo('jane@example.com', 'Your refund')[0]?.raw ?? '';
    assert.match(refundMail, /2\.34 USD/);
    assert.match(refundMail, new RegExp(refund.id));

    // A zero-exponent currency is not divided by 100.
    await t.stripe.paymentIntents.create({
      amount: 500,
      currency: 'jpy',
      payment_method: 'pm_card_visa',
      confirm: true,
      receipt_email: 'kenji@example.com',
    });
    await waitFor('jpy receipt', () => mailsTo('kenji@example.com', 'Your receipt').length === 1);
    assert.match(mailsTo('kenji@example.com', 'Your receipt')[0]?.raw ?? '', /500 JPY/);

    const log = await rawRequest(t, 'GET', '/v1/notifications?kind=payment_receipt');
    assert.equal(log.status, 200);
    const first = log.json.data.find(
      (n: { recipient: string }) => n.recipient === 'j***@example.com',
    );
    assert.ok(first, JSON.stringify(log.json));
    assert.equal(first.status, 'sent');
    assert.equal(first.channel, 'email');
    assert.equal(first.attempts, 1);
    assert.doesNotMatch(JSON.stringify(log.json), /jane@example\.com/);
  });

  test('an incident opened and resolved alerts operators by email and SMS', async () => {
    const opened = await rawRequest(t, 'POST', '/v1/incidents', {
      body: form({ title: 'Card payments <slow>', impact: 'major_outage', message: 'Looking.' }),
    });
    assert.equal(opened.status, 200, JSON.stringify(opened.json));
    await waitFor('incident email', () => mailsTo('ops@acme.test', 'Incident opened').length === 1);
    await waitFor('incident sms', () =>
      sms.messages.some((m) => m.body.includes('incident opened')),
    );
    const text = sms.messages.find((m) => m.body.includes('incident opened'));
    assert.equal(text?.to, '+14155550123');
    assert.equal(text?.from, '+15005550006');
    assert.match(text?.body ?? '', /Card payments <slow>/);
    assert.deepEqual(sms.rejected, []);
    const mail = mailsTo('ops@acme.test', 'Incident opened')[0]?.raw ?? '';
    assert.match(mail, /major_outage/);
    assert.match(mail, /Card payments &lt;slow&gt;/);

    const resolved = await rawRequest(t, 'POST', `/v1/incidents/${opened.json.id}/resolve`, {
      body: form({ message: 'Fixed.' }),
    });
    assert.equal(resolved.status, 200, JSON.stringify(resolved.json));
    await waitFor(
      'resolved email',
      () => mailsTo('ops@acme.test', 'Incident resolved').length === 1,
    );
    await waitFor('resolved sms', () =>
      sms.messages.some((m) => m.body.includes('incident resolved')),
    );
    const log = await rawRequest(t, 'GET', '/v1/notifications?channel=sms&kind=incident_opened');
    assert.equal(log.json.data.length, 1);
    assert.equal(log.json.data[0].recipient, '+1******0123');
    assert.equal(log.json.data[0].status, 'sent');
  });

  test('a webhook endpoint disabled after failing alerts operators by email and SMS', async () => {
    const failing = http.createServer((_request, response) => response.writeHead(500).end('no'));
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const port = (failing.address() as { port: number }).port;
    const url = `http://127.0.0.1:${port}/hook`;
    try {
      const endpoint = await rawRequest(t, 'POST', '/v1/webhook_endpoints', {
        body: form({ url, 'enabled_events[0]': 'customer.created' }),
      });
      assert.equal(endpoint.status, 200, JSON.stringify(endpoint.json));
      await t.stripe.customers.create({ name: 'nobody receives this' });
      await waitFor(
        'disabled email',
        () => mailsTo('ops@acme.test', 'Webhook endpoint disabled').length === 1,
      );
      await waitFor('disabled sms', () =>
        sms.messages.some((m) =>
          m.body.includes(`webhook endpoint disabled after failing: ${url}`),
        ),
      );
      const mail = mailsTo('ops@acme.test', 'Webhook endpoint disabled')[0]?.raw ?? '';
      assert.match(mail, new RegExp(endpoint.json.id));
      const retrieved = await rawRequest(t, 'GET', `/v1/webhook_endpoints/${endpoint.json.id}`);
      assert.equal(retrieved.json.status, 'disabled');
    } finally {
      failing.closeAllConnections();
      await new Promise<void>((resolve) => failing.close(() => resolve()));
    }
  });

  test('a spike of failed payments raises one alert per window', async () => {
    for (let i = 0; i < 5; i += 1) {
      await assert.rejects(
        t.stripe.paymentIntents.create({
          amount: 700,
          currency: 'usd',
          payment_method: 'pm_card_chargeDeclined',
          confirm: true,
        }),
      );
    }
    await waitFor(
      'spike email',
      () => mailsTo('ops@acme.test', 'Spike of failed payments').length >= 1,
    );
    await waitFor('spike sms', () => sms.messages.some((m) => m.body.includes('failed payments')));
    // Give the trigger time to (wrongly) raise a second alert for failures 4 and 5.
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(mailsTo('ops@acme.test', 'Spike of failed payments').length, 1);
    assert.equal(sms.messages.filter((m) => m.body.includes('failed payments')).length, 1);
    assert.match(
      mailsTo('ops@acme.test', 'Spike of failed payments')[0]?.raw ?? '',
      /3 payments failed within 600 seconds/,
    );
  });

  test('bad settings are refused naming the field, and nothing changes', async () => {
    const before = await rawRequest(t, 'GET', '/v1/notification_settings');
    assert.equal(before.status, 200);
    const cases: [Record<string, string>, string][] = [
      [{ reply_to: 'not-an-email' }, 'reply_to'],
      [{ 'operator_emails[0]': 'ok@acme.test', 'operator_emails[1]': 'nope' }, 'operator_emails'],
      [{ 'operator_phones[0]': '4155550123' }, 'operator_phones'],
      [{ failed_payments_threshold: '0' }, 'failed_payments_threshold'],
      [{ failed_payments_window_seconds: '999999999' }, 'failed_payments_window_seconds'],
      [{ receipts_enabled: 'maybe' }, 'receipts_enabled'],
      [{ sender_name: 'x'.repeat(101) }, 'sender_name'],
      [{ colour: 'blue' }, 'colour'],
    ];
    for (const [body, param] of cases) {
      const res = await rawRequest(t, 'POST', '/v1/notification_settings', {
        body: form({ sender_name: 'Changed', ...body }),
      });
      assert.equal(res.status, 400, `${param}: ${JSON.stringify(res.json)}`);
      assert.ok(
        String(res.json.error.param).startsWith(param),
        `${param}: ${JSON.stringify(res.json)}`,
      );
    }
    const after = await rawRequest(t, 'GET', '/v1/notification_settings');
    assert.deepEqual(after.json, before.json);
    assert.equal(after.json.sender_name, 'Acme & Co <Shop>');
    const noKey = await rawRequest(t, 'GET', '/v1/notification_settings', { key: null });
    assert.equal(noKey.status, 401);
  });
});

test('SMTP down, then up: the receipt is retried and delivered; no SMS provider: skipped', async () => {
  const smtp = smtpOn(await freePort());
  const t = await startEngine({
    env: {
      PAYRAIL_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      PAYRAIL_SMTP_FROM: 'notify@payrail.test',
      PAYRAIL_NOTIFICATION_RETRY_BASE_MS: '200',
      PAYRAIL_NOTIFICATION_TIMEOUT_MS: '1000',
    },
  });
  try {
    const saved = await rawRequest(t, 'POST', '/v1/notification_settings', {
      body: form({ 'operator_phones[0]': '+447700900123', operator_emails: '' }),
    });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
    assert.deepEqual(saved.json.operator_emails, []);
    const pi = await t.stripe.paymentIntents.create({
      amount: 999,
      currency: 'eur',
      payment_method: 'pm_card_visa',
      confirm: true,
      receipt_email: 'late@example.com',
    });
    // The payment answered while SMTP was down: sending never blocks it.
    assert.equal(pi.status, 'succeeded');
    const receiptLog = async () =>
      (await rawRequest(t, 'GET', '/v1/notifications?kind=payment_receipt')).json.data[0];
    const deadline = Date.now() + 10_000;
    let entry = await receiptLog();
    while (!(entry?.attempts >= 1 && entry.error) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      entry = await receiptLog();
    }
    assert.equal(entry.status, 'queued', JSON.stringify(entry));
    assert.match(entry.error, /SMTP/);
    await smtp.listen();
    await waitFor('late receipt', () => smtp.mails.some((m) => m.to.includes('late@example.com')));
    const sentDeadline = Date.now() + 5000;
    while ((await receiptLog()).status !== 'sent' && Date.now() < sentDeadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const sent = await receiptLog();
    assert.equal(sent.status, 'sent');
    assert.ok(sent.attempts >= 2, JSON.stringify(sent));
    assert.match(smtp.mails[0]?.raw ?? '', /9\.99 EUR/);

    await rawRequest(t, 'POST', '/v1/incidents', {
      body: form({ title: 'Down', impact: 'partial_outage', message: 'm' }),
    });
    const skipDeadline = Date.now() + 5000;
    let skipped: { status: string; error: string; recipient: string }[] = [];
    while (skipped.length === 0 && Date.now() < skipDeadline) {
      skipped = (await rawRequest(t, 'GET', '/v1/notifications?channel=sms')).json.data;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]?.status, 'skipped');
    assert.match(skipped[0]?.error ?? '', /PAYRAIL_SMS_URL/);
    assert.equal(skipped[0]?.recipient, '+4*******0123');
  } finally {
    await t.close();
    await smtp.close();
  }
});
