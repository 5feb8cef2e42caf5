import nodemailer from 'nodemailer';
import { ConfigError } from '../config.ts';

// The two channels. A send either succeeds with the provider's id, or fails
// as retryable (SMTP down, SMS 5xx/429, timeouts) or permanent (the provider
// refused this message: SMS 4xx, SMTP 5xx reply). Both take a timeout.

export type SendResult =
  | { ok: true; providerId: string | null }
  | { ok: false; retryable: boolean; error: string };

export interface EmailMessage {
  messageId: string;
  to: string;
  fromName: string;
  replyTo: string | null;
  subject: string;
  text: string;
  html: string;
}

export interface EmailSender {
  send(message: EmailMessage): Promise<SendResult>;
  close(): void;
}

export interface SmsSender {
  send(message: { to: string; body: string }): Promise<SendResult>;
}

export interface ChannelSettings {
  smtpUrl: string | undefined;
  smtpFrom: string | undefined;
  smsUrl: string | undefined;
  smsAccountSid: string | undefined;
  smsAuthToken: string | undefined;
  smsFrom: string | undefined;
  timeoutMs: number;
}

/** SMTP reply codes 4xx are temporary by definition (RFC 5321); so is anything without a code. */
function smtpRetryable(err: { responseCode?: number }): boolean {
  return err.responseCode === undefined || err.responseCode < 500;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export function createEmailSender(settings: ChannelSettings): EmailSender | null {
  if (!settings.smtpUrl) return null;
  const from = settings.smtpFrom;
  if (!from) throw new ConfigError('PAYRAIL_SMTP_FROM: required when PAYRAIL_SMTP_URL is set');
  const transport = nodemailer.createTransport({
    url: settings.smtpUrl,
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
  });
  return {
    async send(message) {
      try {
        const info = await withTimeout(
          transport.sendMail({
            messageId: message.messageId,
            from: { name: message.fromName, address: from },
            to: message.to,
            ...(message.replyTo ? { replyTo: message.replyTo } : {}),
            subject: message.subject,
            text: message.text,
            html: message.html,
          }),
          // nodemailer's own timeouts cover each phase; this bounds the whole.
          settings.timeoutMs * 3,
          'SMTP send',
        );
        return { ok: true, providerId: info.messageId ?? null };
      } catch (err) {
        const e = err as Error & { responseCode?: number };
        return { ok: false, retryable: smtpRetryable(e), error: `SMTP: ${e.message}` };
      }
    },
    close: () => transport.close(),
  };
}

export function createSmsSender(settings: ChannelSettings): SmsSender | null {
  const parts = [settings.smsUrl, settings.smsAccountSid, settings.smsAuthToken, settings.smsFrom];
  if (parts.every((p) => !p)) return null;
  if (parts.some((p) => !p)) {
    throw new ConfigError(
      'PAYRAIL_SMS_URL, PAYRAIL_SMS_ACCOUNT_SID, PAYRAIL_SMS_AUTH_TOKEN and PAYRAIL_SMS_FROM: set all four or none',
    );
  }
  const sid = settings.smsAccountSid ?? '';
  const base = (settings.smsUrl ?? '').replace(/\/+$/, '');
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
  const auth = Buffer.from(`${sid}:${settings.smsAuthToken ?? ''}`).toString('base64');
  return {
    async send(message) {
      const signal = AbortSignal.timeout(settings.timeoutMs);
      try {
        const response = await fetch(url, {
          method: 'POST',
          redirect: 'manual',
          signal,
          headers: {
            authorization: `Basic ${auth}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({
            To: message.to,
            From: settings.smsFrom ?? '',
            Body: message.body,
          }).toString(),
        });
        const text = (await response.text()).slice(0, 2000);
        if (response.status >= 200 && response.status < 300) {
          return { ok: true, providerId: messageSid(text) };
        }
        // Twilio: 429 and 5xx are worth retrying; another 4xx means this message is refused.
        const retryable = response.status === 429 || response.status >= 500;
        return {
          ok: false,
          retryable,
          error: `SMS: HTTP ${response.status} ${text.slice(0, 200)}`,
        };
      } catch (err) {
        const error = signal.aborted
          ? `SMS: timed out after ${settings.timeoutMs} ms`
          : `SMS: ${(err as Error).message}`;
        return { ok: false, retryable: true, error };
      }
    },
  };
}

/** The provider's message sid, if its answer says; the message is sent either way. */
function messageSid(body: string): string | null {
  try {
    const sid = (JSON.parse(body) as { sid?: unknown }).sid;
    return typeof sid === 'string' ? sid.slice(0, 100) : null;
  } catch {
    return null;
  }
}
