import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import { enumField, idField, metadataField, strField } from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for incidents: validator, TypeScript type and OpenAPI at once.

/** statuspage.io's words, so merchants' tooling recognises them. */
export const IMPACTS = ['degraded_performance', 'partial_outage', 'major_outage'] as const;
export type Impact = (typeof IMPACTS)[number];
export const OPEN_STATUSES = ['investigating', 'identified', 'monitoring'] as const;

export const IncidentCreate = z.strictObject({
  title: strField(LIMITS.incidentTitleLengthMax),
  impact: enumField(IMPACTS),
  status: enumField(OPEN_STATUSES).optional(),
  /** The first timeline entry: what customers read first. */
  message: strField(LIMITS.incidentMessageLengthMax),
  connector: idField('conn').optional(),
  metadata: metadataField().optional(),
});

export const IncidentUpdateCreate = z.strictObject({
  status: enumField(OPEN_STATUSES).optional(),
  impact: enumField(IMPACTS).optional(),
  message: strField(LIMITS.incidentMessageLengthMax),
});

export const IncidentResolve = z.strictObject({
  message: strField(LIMITS.incidentMessageLengthMax).optional(),
});

export const IncidentListQuery = z.strictObject({
  ...listParams,
  status: enumField(['open', 'resolved'] as const).optional(),
});

export const IncidentReportQuery = z.strictObject({
  format: enumField(['json', 'markdown'] as const).optional(),
});

export type IncidentCreateInput = z.output<typeof IncidentCreate>;
export type IncidentUpdateInput = z.output<typeof IncidentUpdateCreate>;
export type IncidentResolveInput = z.output<typeof IncidentResolve>;
export type IncidentListInput = z.output<typeof IncidentListQuery>;

const IMPACT_RANK: Record<Impact, number> = {
  degraded_performance: 1,
  partial_outage: 2,
  major_outage: 3,
};

export function worseImpact(a: string, b: string): string {
  const rank = (i: string) => IMPACT_RANK[i as Impact] ?? 0;
  return rank(b) > rank(a) ? b : a;
}
