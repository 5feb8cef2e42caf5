import { z } from 'zod';
import { listParams } from '../http/pagination.ts';
import {
  boolField,
  clearableStr,
  enumField,
  intField,
  metadataField,
  strField,
} from '../http/validation.ts';
import { LIMITS } from '../lib/limits.ts';

// Request schemas for webhook endpoints.

// `*`, or dot-separated lowercase words (`payment_intent.succeeded`); Payrail
// accepts any well-formed type so endpoints can subscribe to future events.
const EVENT_TYPE = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

const enabledEvents = z
  .array(
    strField(LIMITS.shortStringLengthMax).refine((v) => EVENT_TYPE.test(v), {
      message: 'Invalid event type: expected `*` or a type like `payment_intent.succeeded`',
    }),
  )
  .min(1, 'enabled_events must list at least one event type')
  .max(LIMITS.webhookEnabledEventsMax);

const urlField = strField(LIMITS.webhookUrlLengthMax).refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '';
    } catch {
      return false;
    }
  },
  { message: 'Invalid URL: expected an absolute http(s) URL without credentials' },
);

export const EndpointCreate = z.strictObject({
  url: urlField,
  enabled_events: enabledEvents,
  description: clearableStr(LIMITS.longStringLengthMax).optional(),
  metadata: metadataField().optional(),
  api_version: strField().optional(),
  connect: z.any().optional(),
  expand: z.array(z.string()).max(20).optional(),
});

export const EndpointUpdate = z.strictObject({
  url: urlField.optional(),
  enabled_events: enabledEvents.optional(),
  description: clearableStr(LIMITS.longStringLengthMax).optional(),
  metadata: metadataField().optional(),
  disabled: boolField().optional(),
  status: enumField(['enabled', 'disabled']).optional(),
  expand: z.array(z.string()).max(20).optional(),
});

export const RollSecret = z.strictObject({
  expires_in: intField({ min: 0, max: LIMITS.webhookRollOverlapSecondsMax }).optional(),
});

export const Resend = z.strictObject({ event: strField(LIMITS.paramLengthMax) });

export const Replay = z.strictObject({ since: intField({ min: 0 }) });

export const EndpointListQuery = z.strictObject(listParams);
export const DeliveryListQuery = z.strictObject({
  ...listParams,
  event: strField(LIMITS.paramLengthMax).optional(),
});

export type EndpointCreateInput = z.output<typeof EndpointCreate>;
export type EndpointUpdateInput = z.output<typeof EndpointUpdate>;
export type DeliveryListInput = z.output<typeof DeliveryListQuery>;
