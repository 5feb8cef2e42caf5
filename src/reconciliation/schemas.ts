import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import { boolField, enumField, idField, strField } from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';
import { LINE_STATUSES, RECONCILIATION_TYPES } from './types.ts';

// Request schemas for reconciliation imports, lists and resolutions.

const typeField = enumField(RECONCILIATION_TYPES);

/** The uploaded file, as the multipart / raw-body parser hands it over (or a JSON body sends it). */
const fileField = z
  .strictObject({
    filename: z.string().max(LIMITS.shortStringLengthMax).nullable(),
    content: z.string().max(LIMITS.reconciliationFileBytesMax),
  })
  .meta({
    description:
      'The report file: send multipart/form-data with a `file` part (or text/csv, application/xml with `?type=`).',
  });

export const ImportBody = z.strictObject({
  type: typeField.optional(),
  connector: idField('conn').optional(),
  file: fileField,
});

export const ImportQuery = z.strictObject({
  type: typeField.optional(),
  connector: idField('conn').optional(),
});

export const ReconciliationListQuery = z.strictObject({
  ...listParams,
  type: typeField.optional(),
});

export const LineListQuery = z.strictObject({
  limit: listParams.limit,
  starting_after: listParams.starting_after,
  status: enumField(LINE_STATUSES).optional(),
  kind: enumField(['report', 'ledger']).optional(),
  resolved: boolField().optional(),
});

export const ResolveBody = z.strictObject({
  note: strField(LIMITS.reconciliationNoteLengthMax),
});

export type ImportBodyInput = z.output<typeof ImportBody>;
export type ReconciliationListInput = z.output<typeof ReconciliationListQuery>;
export type LineListInput = z.output<typeof LineListQuery>;
