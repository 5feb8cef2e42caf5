import assert from 'node:assert/strict';
import { findCurrency, formatMinor } from '../src/lib/money.ts';
import { type CliEngine, payrail, startCliEngine } from './helpers/cli-engine.ts';
import { rawRequest, type TestEngine, tableCounts } from './helpers/engine.ts';

// Shared by the reconciliation tests: an engine whose database the CLI can
// open too, report writers that turn real engine data into Stripe / Adyen /
// camt.053 files, and a multipart upload through plain fetch.

export type ReconEngine = CliEngine;
export const startReconEngine = startCliEngine;
export { payrail };

export async function createConnector(t: TestEngine, name: string): Promise<string> {
  const res = await rawRequest(t, 'POST', '/v1/connectors', {
    body: JSON.stringify({ type: 'sandbox', name, fees: { percent: '2.9', fixed: 30 } }),
    contentType: 'application/json',
  });
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json.id;
}

export async function upload(
  t: TestEngine,
  input: { type?: string; content: string; filename?: string; connector?: string; key?: string },
): Promise<{ status: number; json: any }> {
  const form = new FormData();
  if (input.type) form.set('type', input.type);
  if (input.connector) form.set('connector', input.connector);
  form.set('file', new Blob([input.content]), input.filename ?? 'report.csv');
  const response = await fetch(`${t.url}/v1/reconciliations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${input.key ?? t.secretKey}` },
    body: form,
    signal: AbortSignal.timeout(60_000),
  });
  return { status: response.status, json: await response.json() };
}

/** Every table an import may touch, so a rejected or repeated one provably changed nothing. */
export async function allCounts(t: TestEngine): Promise<Record<string, number>> {
  const counts = await tableCounts(t);
  const db = t.engine.database.db;
  for (const table of [
    'reconciliations',
    'reconciliation_lines',
    'ledger_transactions',
    'ledger_entries',
    'payouts',
  ] as const) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** What the engine knows of one captured payment: ids, references, its ledger posting. */
export async function chargeFacts(t: TestEngine, paymentIntentId: string) {
  const db = t.engine.database.db;
  const charge = await db
    .selectFrom('charges')
    .selectAll()
    .where('payment_intent_id', '=', paymentIntentId)
    .executeTakeFirstOrThrow();
  const attempt = await db
    .selectFrom('payment_attempts')
    .select('id')
    .where('payment_intent_id', '=', paymentIntentId)
    .where('operation', '=', 'authorize')
    .where('status', '=', 'succeeded')
    .executeTakeFirstOrThrow();
  const txn = await db
    .selectFrom('ledger_transactions')
    .selectAll()
    .where('source', '=', charge.id)
    .where('type', '=', 'charge')
    .executeTakeFirstOrThrow();
  return { charge, attemptId: attempt.id, txn };
}

export async function refundFacts(t: TestEngine, refundId: string) {
  const db = t.engine.database.db;
  const attempt = await db
    .selectFrom('payment_attempts')
    .select(['id', 'connector_reference'])
    .where('refund_id', '=', refundId)
    .where('operation', '=', 'refund')
    .executeTakeFirstOrThrow();
  const txn = await db
    .selectFrom('ledger_transactions')
    .selectAll()
    .where('source', '=', refundId)
    .where('type', '=', 'refund')
    .executeTakeFirstOrThrow();
  return { attempt, txn };
}

export function major(amountMinor: number, currency: string): string {
  const found = findCurrency(currency);
  assert.ok(found);
  return formatMinor(amountMinor, found);
}

export function utc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

export function csv(rows: string[][]): string {
  const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return `${rows.map((r) => r.map(cell).join(',')).join('\n')}\n`;
}

export interface StripeRow {
  id: string;
  created: number;
  currency: string;
  grossMinor: number;
  feeMinor: number;
  category: string;
  sourceId: string;
  paymentIntentId?: string;
  chargeId?: string;
  description?: string;
}

export function stripeReport(rows: StripeRow[]): string {
  const header = [
    'balance_transaction_id',
    'created_utc',
    'created',
    'available_on_utc',
    'currency',
    'gross',
    'fee',
    'net',
    'reporting_category',
    'source_id',
    'description',
    'customer_facing_amount',
    'customer_facing_currency',
    'automatic_payout_id',
    'payment_intent_id',
    'charge_id',
  ];
  return csv([
    header,
    ...rows.map((r) => [
      r.id,
      utc(r.created),
      utc(r.created),
      utc(r.created),
      r.currency,
      major(r.grossMinor, r.currency),
      major(r.feeMinor, r.currency),
      major(r.grossMinor - r.feeMinor, r.currency),
      r.category,
      r.sourceId,
      r.description ?? '',
      major(r.grossMinor, r.currency),
      r.currency,
      '',
      r.paymentIntentId ?? '',
      r.chargeId ?? '',
    ]),
  ]);
}

export interface AdyenRow {
  type: string;
  created: number;
  psp?: string;
  merchantRef?: string;
  modificationRef?: string;
  modificationMerchantRef?: string;
  currency: string;
  grossDebit?: number;
  grossCredit?: number;
  netDebit?: number;
  netCredit?: number;
  commission?: number;
}

export const ADYEN_HEADER = [
  'Company Account',
  'Merchant Account',
  'Psp Reference',
  'Merchant Reference',
  'Payment Method',
  'Creation Date',
  'TimeZone',
  'Type',
  'Modification Reference',
  'Gross Currency',
  'Gross Debit (GC)',
  'Gross Credit (GC)',
  'Exchange Rate',
  'Net Currency',
  'Net Debit (NC)',
  'Net Credit (NC)',
  'Commission (NC)',
  'Markup (NC)',
  'Scheme Fees (NC)',
  'Interchange (NC)',
  'Payment Method Variant',
  'Modification Merchant Reference',
  'Batch Number',
];

export function adyenReport(rows: AdyenRow[]): string {
  const amount = (v: number | undefined, c: string) => (v === undefined ? '' : major(v, c));
  const payment = (r: AdyenRow) => r.grossCredit !== undefined || r.grossDebit !== undefined;
  return csv([
    ADYEN_HEADER,
    ...rows.map((r) => [
      'PayrailTest',
      'PayrailTestMerchant',
      r.psp ?? '',
      r.merchantRef ?? '',
      payment(r) ? 'visa' : '',
      utc(r.created),
      'UTC',
      r.type,
      r.modificationRef ?? '',
      payment(r) ? r.currency.toUpperCase() : '',
      amount(r.grossDebit, r.currency),
      amount(r.grossCredit, r.currency),
      payment(r) ? '1' : '',
      r.currency.toUpperCase(),
      amount(r.netDebit, r.currency),
      amount(r.netCredit, r.currency),
      amount(r.commission, r.currency),
      '',
      '',
      '',
      payment(r) ? 'visacredit' : '',
      r.modificationMerchantRef ?? '',
      '7',
    ]),
  ]);
}

export interface CamtEntry {
  amountMinor: number;
  creditDebit: 'CRDT' | 'DBIT';
  bookedAt: number;
  status?: string;
  acctSvcrRef?: string;
  endToEndId?: string;
  remittance?: string;
  returnReason?: string;
}

/** A camt.053.001.02 statement whose balances add up (opening + booked entries = closing). */
export function camtStatement(input: {
  id: string;
  currency: string;
  openingMinor: number;
  entries: CamtEntry[];
  closingMinor?: number;
}): string {
  const ccy = input.currency.toUpperCase();
  const date = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);
  const signed = (e: CamtEntry) => (e.creditDebit === 'CRDT' ? e.amountMinor : -e.amountMinor);
  const booked = input.entries.filter((e) => (e.status ?? 'BOOK') === 'BOOK');
  const closing =
    input.closingMinor ?? input.openingMinor + booked.reduce((s, e) => s + signed(e), 0);
  const bal = (code: string, minor: number) =>
    `<Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp><Amt Ccy="${ccy}">${major(Math.abs(minor), input.currency)}</Amt><CdtDbtInd>${minor < 0 ? 'DBIT' : 'CRDT'}</CdtDbtInd><Dt><Dt>2024-01-01</Dt></Dt></Bal>`;
  const entry = (e: CamtEntry) => `<Ntry>
  <Amt Ccy="${ccy}">${major(e.amountMinor, input.currency)}</Amt><CdtDbtInd>${e.creditDebit}</CdtDbtInd><Sts>${e.status ?? 'BOOK'}</Sts>
  <BookgDt><Dt>${date(e.bookedAt)}</Dt></BookgDt><ValDt><Dt>${date(e.bookedAt)}</Dt></ValDt>
  ${e.acctSvcrRef ? `<AcctSvcrRef>${e.acctSvcrRef}</AcctSvcrRef>` : ''}
  <NtryDtls><TxDtls>
    ${e.endToEndId ? `<Refs><EndToEndId>${e.endToEndId}</EndToEndId></Refs>` : ''}
    ${e.remittance ? `<RmtInf><Ustrd>${e.remittance}</Ustrd></RmtInf>` : ''}
    ${e.returnReason ? `<RtrInf><Rsn><Cd>${e.returnReason}</Cd></Rsn></RtrInf>` : ''}
  </TxDtls></NtryDtls>
</Ntry>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><GrpHdr><MsgId>${input.id}-MSG</MsgId><CreDtTm>2024-01-01T00:00:00</CreDtTm></GrpHdr>
<Stmt><Id>${input.id}</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>${ccy}</Ccy></Acct>
${bal('OPBD', input.openingMinor)}
${bal('CLBD', closing)}
${input.entries.map(entry).join('\n')}
</Stmt></BkToCstmrStmt></Document>
`;
}
