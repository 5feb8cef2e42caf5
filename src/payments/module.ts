import { createSandboxConnector } from '../connectors/sandbox/connector.ts';
import { LIMITS } from '../lib/limits.ts';
import type { ModuleDeps } from '../modules.ts';
import { registerRefundRoutes } from '../refunds/routes.ts';
import { createRefundsService } from '../refunds/service.ts';
import type { VaultService } from '../vault/types.ts';
import { createConnectorRegistry } from './connectors.ts';
import { createRecovery } from './recovery.ts';
import { registerPaymentIntentRoutes } from './routes.ts';
import { createPaymentsService } from './service.ts';
import { createSettlement } from './settle.ts';

// The payments module: payment intents, attempts, charges, refunds and the
// sandbox connector. It registers its routes and exposes recovery, which the
// engine runs at start and which then repeats every LIMITS.recoveryIntervalMs
// for attempts whose answer was lost (unknown) or whose process died.
export function createPaymentsModule(deps: ModuleDeps & { vault: VaultService }) {
  const { db, clock, events, vault, config, logger } = deps;
  const publicBase = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const sandbox = createSandboxConnector({
    latencyMs: config.sandboxLatencyMs,
    challengeUrl: (reference) => `${publicBase.replace(/\/$/, '')}/test_helpers/3ds/${reference}`,
  });
  const connectors = createConnectorRegistry(sandbox);
  const settlement = createSettlement({ clock, events, vault });
  const payments = createPaymentsService({
    db,
    clock,
    events,
    customers: deps.customers,
    vault,
    connectors,
    settlement,
  });
  const refunds = createRefundsService({ db, clock, events, connectors });
  registerPaymentIntentRoutes(deps.app, { ...deps.routeDeps, payments });
  registerRefundRoutes(deps.app, { ...deps.routeDeps, refunds });
  const recovery = createRecovery({
    db,
    clock,
    logger,
    vault,
    connectors,
    settlement,
    refunds,
    idempotency: deps.idempotency,
    instances: deps.instances,
  });

  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<unknown> = Promise.resolve();
  const runPass = () => {
    pass = pass
      .then(() => recovery.run())
      .catch((err) => logger.error({ err }, 'recovery pass failed'));
    return pass;
  };

  return {
    payments,
    refunds,
    recover: async () => {
      await runPass();
      if (!timer) {
        timer = setInterval(() => void runPass(), LIMITS.recoveryIntervalMs);
        timer.unref();
      }
    },
    close: async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      await pass;
    },
  };
}
