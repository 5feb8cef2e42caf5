import type { FxRatesTable } from '../db/schema.ts';

export function serializeFxRate(row: FxRatesTable) {
  return {
    id: row.id,
    object: 'fx_rate' as const,
    base_currency: row.base_currency,
    quote_currency: row.quote_currency,
    rate: row.rate,
    effective_from: row.effective_from,
    source: row.source,
    livemode: row.livemode === 1,
    created: row.created,
  };
}
