import fs from 'node:fs';
import path from 'node:path';
import type { Db, Tx } from '../db/database.ts';
import type { ExternalAccountsTable, PayoutsTable } from '../db/schema.ts';
import type { EventsService } from '../events/service.ts';
import type { Clock } from '../lib/clock.ts';
import type { EnvelopeCipher } from '../lib/crypto.ts';
import { randomBase36 } from '../lib/ids.ts';
import { LIMITS } from '../lib/limits.ts';
import { ibanAad } from './bank-accounts.ts';
import { buildPain001, type Pain001Debtor, type Pain001Transfer } from './pain001.ts';
import { serializePayout } from './serialize.ts';
import { applyChange } from './transitions.ts';

// `payrail payouts export --format pain.001`: every pending payout (of one
// account, or all) goes into one file and becomes in_transit with export_id =
// the file's MsgId. The file is written to a temporary path inside the
// database transaction, renamed into place only after the commit, and removed
// if the commit fails: a file on disk always matches committed payouts.

export interface ExportDeps {
  db: Db;
  clock: Clock;
  events: EventsService;
  cipher: EnvelopeCipher;
}

export interface ExportInput {
  accountId: string | undefined;
  livemode: 0 | 1;
  debtor: Pain001Debtor;
  /** Where the file goes; made in the same directory under a temporary name first. */
  outPath: string;
}

export interface ExportResult {
  messageId: string;
  count: number;
  file: string;
}

/** A payout lost to a concurrent change (canceled meanwhile): the export rolls back. */
export class ExportConflict extends Error {
  override name = 'ExportConflict';
}

function isoDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

/** The bank executes one day before the promised arrival, never in the past. */
export function executionDate(payout: PayoutsTable, nowSeconds: number): string {
  return isoDate(Math.max(nowSeconds, payout.arrival_date - 86_400));
}

async function pendingRows(tx: Tx, input: ExportInput) {
  let query = tx
    .selectFrom('payouts')
    .innerJoin('external_accounts', 'external_accounts.id', 'payouts.destination')
    .innerJoin('accounts', 'accounts.id', 'payouts.account_id')
    .selectAll('payouts')
    .select([
      'external_accounts.iban_enc',
      'external_accounts.bic',
      'external_accounts.account_holder_name',
      'accounts.business_name',
    ])
    .where('payouts.status', '=', 'pending')
    .where('payouts.livemode', '=', input.livemode);
  if (input.accountId !== undefined)
    query = query.where('payouts.account_id', '=', input.accountId);
  return query.orderBy('payouts.id').limit(LIMITS.payoutExportBatchMax).execute();
}

type Row = PayoutsTable &
  Pick<ExternalAccountsTable, 'iban_enc' | 'bic' | 'account_holder_name'> & {
    business_name: string | null;
  };

function transferOf(deps: ExportDeps, row: Row, nowSeconds: number): Pain001Transfer {
  return {
    endToEndId: row.id,
    amountMinor: row.amount,
    currency: row.currency,
    executionDate: executionDate(row, nowSeconds),
    creditorName: row.account_holder_name ?? row.business_name ?? row.account_id,
    creditorIban: deps.cipher.decrypt(row.iban_enc, ibanAad(row.destination)).reveal(),
    creditorBic: row.bic,
    remittance: row.statement_descriptor ?? row.description ?? `Payout ${row.id}`,
  };
}

async function markInTransit(deps: ExportDeps, tx: Tx, rows: Row[], messageId: string) {
  for (const row of rows) {
    const after = await applyChange(tx, row, { status: 'in_transit', export_id: messageId });
    if (!after)
      throw new ExportConflict(`payout ${row.id} changed during the export; run it again`);
    const scope = { accountId: after.account_id, livemode: after.livemode === 1 };
    await deps.events.record(tx, { scope, requestId: null, idempotencyKey: null }, [
      {
        type: 'payout.updated',
        object: serializePayout(after),
        previousAttributes: { status: 'pending', export_id: null },
      },
    ]);
  }
}

/** Exports pending payouts; null when there is nothing to export (no file is written). */
export async function exportPain001(
  deps: ExportDeps,
  input: ExportInput,
): Promise<ExportResult | null> {
  const nowMs = deps.clock.nowMs();
  const messageId = `PR${nowMs.toString(36).toUpperCase()}${randomBase36(12).toUpperCase()}`;
  const dir = path.dirname(path.resolve(input.outPath));
  const tmp = path.join(dir, `.${path.basename(input.outPath)}.${randomBase36(8)}.tmp`);
  let committed = false;
  try {
    const count = await deps.db.transaction().execute(async (tx) => {
      const rows = (await pendingRows(tx, input)) as Row[];
      if (rows.length === 0) return 0;
      const nowSeconds = Math.floor(nowMs / 1000);
      const xml = buildPain001({
        messageId,
        createdAt: new Date(nowMs),
        debtor: input.debtor,
        transfers: rows.map((row) => transferOf(deps, row, nowSeconds)),
      });
      // The file holds full IBANs: readable by the operator only.
      fs.writeFileSync(tmp, xml, { mode: 0o600, flag: 'wx' });
      await markInTransit(deps, tx, rows, messageId);
      return rows.length;
    });
    committed = true;
    if (count === 0) return null;
    try {
      fs.renameSync(tmp, input.outPath);
    } catch (error) {
      // Committed: the temporary file is the export; keep it and say where it is.
      throw new Error(`pain.001 ${messageId} committed but not renamed; the file is ${tmp}`, {
        cause: error,
      });
    }
    return { messageId, count, file: path.resolve(input.outPath) };
  } finally {
    if (!committed) fs.rmSync(tmp, { force: true });
  }
}
