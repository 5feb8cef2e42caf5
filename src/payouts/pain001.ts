import { assert, assertSafeInteger } from '../lib/assert.ts';
import { LIMITS } from '../lib/limits.ts';
import { findCurrency, formatMinor } from '../lib/money.ts';

// ISO 20022 pain.001.001.03 (CustomerCreditTransferInitiation): the file a
// bank takes to send credit transfers from the operator's account to the
// merchants' accounts. Pure: rows in, XML text out. Amounts are decimal
// strings made from integer minor units with the currency's exponent; sums
// are done in BigInt on a common scale, never in floating point.

export const PAIN001_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:pain.001.001.03';

export interface Pain001Debtor {
  name: string;
  /** Electronic format (no spaces). */
  iban: string;
  bic: string;
}

export interface Pain001Transfer {
  /** The po_ id: PmtId/EndToEndId, so the bank statement (camt.053) names the payout. */
  endToEndId: string;
  amountMinor: number;
  /** Lowercase ISO 4217, as stored. */
  currency: string;
  /** YYYY-MM-DD, the requested execution date. */
  executionDate: string;
  creditorName: string;
  creditorIban: string;
  creditorBic: string | null;
  remittance: string;
}

export interface Pain001Message {
  messageId: string;
  /** Creation time (ISO 8601, seconds precision, UTC). */
  createdAt: Date;
  debtor: Pain001Debtor;
  transfers: readonly Pain001Transfer[];
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for XML, drops control characters XML 1.0 forbids, cuts to `max` code points. */
export function xmlText(value: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  const clean = value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, ' ');
  const cut = Array.from(clean).slice(0, max).join('');
  return cut.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

function exponentOf(currency: string): number {
  const found = findCurrency(currency);
  assert(found !== undefined, `pain.001: unknown currency ${currency}`);
  return found.exponent;
}

/** Major units as a decimal string: 1234 eur → "12.34", 500 jpy → "500". */
export function majorAmount(amountMinor: number, currency: string): string {
  assertSafeInteger(amountMinor, 'pain.001 amount');
  assert(amountMinor > 0, `pain.001 amounts are positive, got ${amountMinor}`);
  const found = findCurrency(currency);
  assert(found !== undefined, `pain.001: unknown currency ${currency}`);
  return formatMinor(amountMinor, found);
}

/** The exact decimal sum of amounts in possibly different currencies (the standard's CtrlSum). */
export function controlSum(
  transfers: readonly Pick<Pain001Transfer, 'amountMinor' | 'currency'>[],
) {
  const scale = Math.max(0, ...transfers.map((t) => exponentOf(t.currency)));
  let total = 0n;
  for (const t of transfers) {
    total += BigInt(t.amountMinor) * 10n ** BigInt(scale - exponentOf(t.currency));
  }
  const digits = total.toString().padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** One PmtInf per (currency, execution date), in a stable order. */
export function groupTransfers(transfers: readonly Pain001Transfer[]) {
  const groups = new Map<string, Pain001Transfer[]>();
  for (const t of transfers) {
    const key = `${t.currency}|${t.executionDate}`;
    const list = groups.get(key);
    if (list) list.push(t);
    else groups.set(key, [t]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, list]) => list);
}

const ID = LIMITS.pain001IdLengthMax;
const NAME = LIMITS.payoutNameLengthMax;

function transferXml(t: Pain001Transfer): string {
  const agent = t.creditorBic
    ? `<CdtrAgt><FinInstnId><BIC>${xmlText(t.creditorBic, 11)}</BIC></FinInstnId></CdtrAgt>`
    : '';
  return [
    '<CdtTrfTxInf>',
    `<PmtId><EndToEndId>${xmlText(t.endToEndId, ID)}</EndToEndId></PmtId>`,
    `<Amt><InstdAmt Ccy="${t.currency.toUpperCase()}">${majorAmount(t.amountMinor, t.currency)}</InstdAmt></Amt>`,
    agent,
    `<Cdtr><Nm>${xmlText(t.creditorName, NAME)}</Nm></Cdtr>`,
    `<CdtrAcct><Id><IBAN>${xmlText(t.creditorIban, 34)}</IBAN></Id></CdtrAcct>`,
    `<RmtInf><Ustrd>${xmlText(t.remittance, LIMITS.pain001RemittanceLengthMax)}</Ustrd></RmtInf>`,
    '</CdtTrfTxInf>',
  ].join('');
}

function paymentInfoXml(message: Pain001Message, group: Pain001Transfer[], index: number) {
  const first = group[0];
  assert(first !== undefined, 'a payment information block has transfers');
  const euro = first.currency === 'eur';
  const { debtor } = message;
  // SEPA credit transfers share charges by service level; other transfers share them.
  return [
    '<PmtInf>',
    `<PmtInfId>${xmlText(`${message.messageId}-${index + 1}`, ID)}</PmtInfId>`,
    '<PmtMtd>TRF</PmtMtd>',
    `<NbOfTxs>${group.length}</NbOfTxs>`,
    `<CtrlSum>${controlSum(group)}</CtrlSum>`,
    euro ? '<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>' : '',
    `<ReqdExctnDt>${first.executionDate}</ReqdExctnDt>`,
    `<Dbtr><Nm>${xmlText(debtor.name, NAME)}</Nm></Dbtr>`,
    `<DbtrAcct><Id><IBAN>${xmlText(debtor.iban, 34)}</IBAN></Id></DbtrAcct>`,
    `<DbtrAgt><FinInstnId><BIC>${xmlText(debtor.bic, 11)}</BIC></FinInstnId></DbtrAgt>`,
    `<ChrgBr>${euro ? 'SLEV' : 'SHAR'}</ChrgBr>`,
    ...group.map(transferXml),
    '</PmtInf>',
  ].join('');
}

/** The whole document; throws on a transfer that breaks an invariant (a bug upstream). */
export function buildPain001(message: Pain001Message): string {
  assert(message.transfers.length > 0, 'a pain.001 file carries at least one transfer');
  assert(message.messageId.length <= ID, `MsgId ${message.messageId} is at most ${ID} characters`);
  for (const t of message.transfers) {
    assert(/^\d{4}-\d{2}-\d{2}$/.test(t.executionDate), `execution date ${t.executionDate}`);
  }
  const groups = groupTransfers(message.transfers);
  const header = [
    '<GrpHdr>',
    `<MsgId>${xmlText(message.messageId, ID)}</MsgId>`,
    `<CreDtTm>${message.createdAt.toISOString().slice(0, 19)}</CreDtTm>`,
    `<NbOfTxs>${message.transfers.length}</NbOfTxs>`,
    `<CtrlSum>${controlSum(message.transfers)}</CtrlSum>`,
    `<InitgPty><Nm>${xmlText(message.debtor.name, NAME)}</Nm></InitgPty>`,
    '</GrpHdr>',
  ].join('');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<Document xmlns="${PAIN001_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`,
    '<CstmrCdtTrfInitn>',
    header,
    ...groups.map((group, i) => paymentInfoXml(message, group, i)),
    '</CstmrCdtTrfInitn>',
    '</Document>',
    '',
  ].join('\n');
}
