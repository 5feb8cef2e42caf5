import { fromJson } from '../db/database.ts';
import type { IncidentsTable, IncidentUpdatesTable } from '../db/schema.ts';

// The API shape of an incident (object 'incident'). Times are unix seconds,
// like every Stripe object; the timeline is oldest first.

export interface ApiIncidentUpdate {
  id: string;
  kind: string;
  status: string;
  message: string;
  created: number;
}

export interface ApiIncident {
  id: string;
  object: 'incident';
  connector: string | null;
  source: 'automatic' | 'manual';
  title: string;
  impact: string;
  status: string;
  started: number;
  resolved: number | null;
  created: number;
  updates: ApiIncidentUpdate[];
  livemode: boolean;
  metadata: Record<string, string>;
}

export const toSeconds = (ms: number): number => Math.floor(ms / 1000);

export function serializeUpdate(row: IncidentUpdatesTable): ApiIncidentUpdate {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    message: row.message,
    created: toSeconds(row.created_ms),
  };
}

export function serializeIncident(
  row: IncidentsTable,
  updates: IncidentUpdatesTable[],
): ApiIncident {
  return {
    id: row.id,
    object: 'incident',
    connector: row.connector_id,
    source: row.source,
    title: row.title,
    impact: row.impact,
    status: row.status,
    started: toSeconds(row.started_ms),
    resolved: row.resolved_ms === null ? null : toSeconds(row.resolved_ms),
    created: row.created,
    updates: updates.map(serializeUpdate),
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
  };
}
