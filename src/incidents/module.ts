import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import type { RouteDeps } from '../http/route.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import type { RoutingAdmin } from '../routing/admin.ts';
import type { HealthChange, HealthMonitor } from '../routing/types.ts';
import { createAutomaticIncidents } from './automatic.ts';
import { createReportBuilder } from './report.ts';
import { registerIncidentRoutes } from './routes.ts';
import { createIncidentsService } from './service.ts';
import { createStatusPage } from './status.ts';

// Incidents: automatic ones from the health monitor's changes, operators' ones
// by API, the public status page and post-incident reports.

export interface IncidentsDeps {
  app: FastifyInstance;
  routeDeps: RouteDeps;
  db: Db;
  clock: Clock;
  events: EventsService;
  health: HealthMonitor;
  /** Only maintenance windows are read; connectors come from the table (see connectors.ts). */
  routing: Pick<RoutingAdmin, 'inMaintenance' | 'upcomingMaintenance'>;
  logger: Logger;
}

export interface IncidentsModule {
  /** Opens, updates or resolves the connector's automatic incident. Never throws (logs). */
  onHealthChange(change: HealthChange): Promise<void>;
  close(): Promise<void>;
}

export function createIncidentsModule(deps: IncidentsDeps): IncidentsModule {
  const incidents = createIncidentsService(deps);
  const automatic = createAutomaticIncidents(deps);
  registerIncidentRoutes(deps.app, {
    ...deps.routeDeps,
    db: deps.db,
    incidents,
    reports: createReportBuilder(deps),
    status: createStatusPage(deps),
  });
  // Changes still being written when the engine stops are awaited, so the
  // database is not closed under them.
  const inFlight = new Set<Promise<void>>();
  return {
    onHealthChange(change) {
      const work = automatic.onHealthChange(change).finally(() => inFlight.delete(work));
      inFlight.add(work);
      return work;
    },
    async close() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
