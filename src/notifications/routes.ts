import type { FastifyInstance } from 'fastify';
import { livemodeFlag, type Scope } from '../db/context.ts';
import type { Db } from '../db/database.ts';
import { listPage, paginate } from '../http/pagination.ts';
import { defineRoute, type RouteDeps } from '../http/route.ts';
import { type NotificationListInput, NotificationListQuery, SettingsUpdate } from './schemas.ts';
import { serializeNotification, serializeSettings } from './serialize.ts';
import type { SettingsService } from './settings.ts';

const tag = 'Notifications';

export function registerNotificationRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { db: Db; settings: SettingsService },
): void {
  const { settings } = deps;

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/notification_settings',
    summary: 'Retrieve the notification settings (defaults until saved)',
    tag,
    handler: async ({ ctx }) =>
      serializeSettings(await settings.retrieve(ctx.scope), ctx.scope.livemode),
  });

  defineRoute(app, deps, {
    method: 'POST',
    path: '/v1/notification_settings',
    summary: 'Update the notification settings: sender, reply-to, operators, alert thresholds',
    tag,
    body: SettingsUpdate,
    handler: async ({ ctx, body }) =>
      serializeSettings(await settings.update(ctx.scope, body), ctx.scope.livemode),
  });

  defineRoute(app, deps, {
    method: 'GET',
    path: '/v1/notifications',
    summary: 'List sent, queued, failed and skipped notifications, newest first',
    tag,
    query: NotificationListQuery,
    handler: async ({ ctx, query }) => {
      const page = await listNotifications(deps.db, ctx.scope, query);
      return listPage('/v1/notifications', page.rows.map(serializeNotification), page.hasMore);
    },
  });
}

async function listNotifications(db: Db, scope: Scope, query: NotificationListInput) {
  let q = db
    .selectFrom('notifications')
    .selectAll()
    .where('account_id', '=', scope.accountId)
    .where('livemode', '=', livemodeFlag(scope));
  if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.channel !== undefined) q = q.where('channel', '=', query.channel);
  return paginate(q, query);
}
