import type { FastifyInstance } from 'fastify';
import type { ProcessorNotice } from '../connectors/types.ts';
import type { DisputesService } from '../disputes/service.ts';
import { registerRouteDoc } from '../http/openapi.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Logger } from '../lib/logger.ts';
import type { ConnectorRegistry } from './connectors.ts';
import type { Recovery } from './recovery.ts';

// Inbound webhooks from processors: `POST /v1/connector_webhooks/:connector`.
// The connector authenticates and parses the raw body (its own signature
// scheme); each notice about an attempt whose outcome is unknown settles it,
// exactly as recovery would; each dispute notice opens or moves on its
// dispute (src/disputes), idempotently per the processor's dispute id. No API key: the processor's signature is the
// authentication, so a notice that fails it is refused with 400 and changes
// nothing.
export function registerConnectorWebhookRoute(
  app: FastifyInstance,
  deps: {
    connectors: ConnectorRegistry;
    recovery: Recovery;
    logger: Logger;
    disputes: Pick<DisputesService, 'applyNotice'>;
  },
): void {
  registerRouteDoc({
    method: 'POST',
    path: '/v1/connector_webhooks/:connector',
    summary: "Inbound processor notice (authenticated by the processor's own signature)",
    tag: 'Connectors',
    auth: 'none',
  });
  app.register(async (scope) => {
    // Signatures cover the exact bytes, so this route keeps the body as text.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'string', bodyLimit: LIMITS.bodyBytesMax },
      (_request, body, done) => done(null, body),
    );
    scope.post<{ Params: { connector: string } }>(
      '/v1/connector_webhooks/:connector',
      { config: { auth: 'none' } },
      async (request, reply) => {
        const connectorId = request.params.connector;
        if (!/^conn_[a-z0-9]{24}$/.test(connectorId)) {
          throw new ApiError('resource_missing', `No such connector: '${connectorId}'`, {
            param: 'connector',
          });
        }
        let resolved: Awaited<ReturnType<ConnectorRegistry['resolve']>>;
        try {
          resolved = await deps.connectors.resolve(connectorId);
        } catch {
          throw new ApiError('resource_missing', `No such connector: '${connectorId}'`, {
            param: 'connector',
          });
        }
        const rawBody = typeof request.body === 'string' ? request.body : '';
        let notices: ProcessorNotice[];
        try {
          notices = resolved.connector.parseNotices({ headers: request.headers, rawBody });
        } catch (error) {
          throw new ApiError(
            'connector_notice_invalid',
            `The notice was refused: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        let settled = 0;
        let disputes = 0;
        for (const notice of notices.slice(0, LIMITS.connectorNoticesMax)) {
          if (notice.kind === 'dispute') {
            const applied = await deps.disputes.applyNotice(connectorId, notice);
            if (applied.result === 'ignored') {
              deps.logger.warn(
                { connector: connectorId, dispute: notice.disputeReference, why: applied.why },
                'dispute notice ignored',
              );
            } else if (applied.result !== 'unchanged') disputes += 1;
            continue;
          }
          const result = await deps.recovery.settleNotice(
            connectorId,
            notice.reference,
            notice.outcome,
          );
          if (result === 'settled') settled += 1;
        }
        deps.logger.info(
          { connector: connectorId, notices: notices.length, settled, disputes },
          'processor notice',
        );
        return reply.send({ received: true, notices: notices.length, settled, disputes });
      },
    );
  });
}
