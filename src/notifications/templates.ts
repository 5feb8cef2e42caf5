import { findCurrency, formatMinor } from '../lib/money.ts';

// One template per notification kind, in plain text and HTML (and a short
// text for SMS). Pure: variables in, message out. Every value that came from
// a merchant or a customer is HTML-escaped in the HTML part; amounts are
// formatted with the currency's ISO 4217 exponent (JPY 0, USD 2, KWD 3).

export const NOTIFICATION_KINDS = [
  'payment_receipt',
  'refund_receipt',
  'incident_opened',
  'incident_resolved',
  'webhook_endpoint_disabled',
  'failed_payment_spike',
  'suspicious_activity',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** The variables a template reads; which ones are set depends on the kind. */
export interface TemplateData {
  amountMinor?: number;
  currency?: string;
  /** The payment, refund, incident or endpoint the message is about. */
  objectId?: string;
  description?: string | null;
  title?: string;
  impact?: string;
  url?: string;
  count?: number;
  windowSeconds?: number;
  livemode?: boolean;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
  /** The SMS body (operator alerts only), kept short: one segment where possible. */
  sms: string;
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** `12.34 USD`; an unknown currency (never expected) falls back to minor units. */
export function formatAmount(amountMinor: number, currencyCode: string): string {
  const currency = findCurrency(currencyCode);
  if (!currency) return `${amountMinor} (minor units) ${currencyCode.toUpperCase()}`;
  return `${formatMinor(amountMinor, currency)} ${currency.code.toUpperCase()}`;
}

interface Parts {
  subject: string;
  lines: string[];
  sms: string;
}

function parts(kind: NotificationKind, d: TemplateData, senderName: string): Parts {
  const amount = formatAmount(d.amountMinor ?? 0, d.currency ?? 'usd');
  const mode = d.livemode === false ? ' [test mode]' : '';
  switch (kind) {
    case 'payment_receipt':
      return {
        subject: `Your receipt from ${senderName}`,
        lines: [
          `Thank you for your payment to ${senderName}.`,
          `Amount paid: ${amount}`,
          ...(d.description ? [`For: ${d.description}`] : []),
          `Reference: ${d.objectId ?? ''}`,
        ],
        sms: `${senderName}: payment of ${amount} received.`,
      };
    case 'refund_receipt':
      return {
        subject: `Your refund from ${senderName}`,
        lines: [
          `${senderName} has refunded ${amount} to you.`,
          'It can take 5 to 10 business days to appear on your statement.',
          `Reference: ${d.objectId ?? ''}`,
        ],
        sms: `${senderName}: refund of ${amount} issued.`,
      };
    case 'incident_opened':
      return {
        subject: `Incident opened${mode}: ${d.title ?? ''}`,
        lines: [
          `An incident was opened: ${d.title ?? ''}`,
          `Impact: ${d.impact ?? ''}`,
          `Incident: ${d.objectId ?? ''}`,
        ],
        sms: `Payrail${mode}: incident opened (${d.impact ?? ''}): ${d.title ?? ''}`,
      };
    case 'incident_resolved':
      return {
        subject: `Incident resolved${mode}: ${d.title ?? ''}`,
        lines: [`The incident is resolved: ${d.title ?? ''}`, `Incident: ${d.objectId ?? ''}`],
        sms: `Payrail${mode}: incident resolved: ${d.title ?? ''}`,
      };
    case 'webhook_endpoint_disabled':
      return {
        subject: `Webhook endpoint disabled${mode}`,
        lines: [
          `The webhook endpoint ${d.url ?? ''} failed continuously and was disabled.`,
          'Fix the endpoint, then enable it again: missed events are replayed.',
          `Endpoint: ${d.objectId ?? ''}`,
        ],
        sms: `Payrail${mode}: webhook endpoint disabled after failing: ${d.url ?? ''}`,
      };
    case 'failed_payment_spike':
      return {
        subject: `Spike of failed payments${mode}`,
        lines: [
          `${d.count ?? 0} payments failed within ${d.windowSeconds ?? 0} seconds.`,
          `Latest failed payment: ${d.objectId ?? ''}`,
        ],
        sms: `Payrail${mode}: ${d.count ?? 0} failed payments in ${d.windowSeconds ?? 0}s.`,
      };
    case 'suspicious_activity':
      return {
        subject: `Suspicious activity${mode}`,
        lines: [
          `A payment was flagged for review: ${d.objectId ?? ''}`,
          ...(d.title ? [`Reason: ${d.title}`] : []),
        ],
        sms: `Payrail${mode}: suspicious activity on ${d.objectId ?? ''}`,
      };
  }
}

export function renderMessage(
  kind: NotificationKind,
  data: TemplateData,
  senderName: string,
): RenderedMessage {
  const p = parts(kind, data, senderName);
  const text = `${p.lines.join('\n')}\n\n— ${senderName}\n`;
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    ...p.lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    `<p>— ${escapeHtml(senderName)}</p>`,
    '</body></html>',
  ].join('\n');
  // A header never carries a line break, whatever a title contained.
  return { subject: p.subject.replace(/[\r\n]+/g, ' '), text, html, sms: p.sms };
}
