import { fromJson } from '../db/database.ts';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../db/schema.ts';

export function serializeEndpoint(row: WebhookEndpointsTable, secret?: string) {
  return {
    id: row.id,
    object: 'webhook_endpoint' as const,
    api_version: null,
    application: null,
    created: row.created,
    description: row.description,
    enabled_events: fromJson<string[]>(row.enabled_events) ?? [],
    livemode: row.livemode === 1,
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    status: row.status,
    url: row.url,
    // The signing secret is shown once: at creation and at each roll.
    ...(secret !== undefined ? { secret } : {}),
  };
}

export function serializeDelivery(row: WebhookDeliveriesTable) {
  return {
    id: row.id,
    object: 'webhook_delivery' as const,
    created: row.created,
    webhook_endpoint: row.endpoint_id,
    event: row.event_id,
    event_type: row.event_type,
    attempt: row.attempt,
    status: row.status,
    response_status: row.response_status,
    response_body: row.response_body,
    error: row.error,
    duration_ms: row.duration_ms,
    livemode: row.livemode === 1,
  };
}
