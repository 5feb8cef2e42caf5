import { connectorDefinitions } from '../connectors/index.ts';
import { createSandboxConnector } from '../connectors/sandbox/connector.ts';
import type { DisputesService } from '../disputes/service.ts';
import { registerLedgerRoutes } from '../ledger/routes.ts';
import { createLedgerService } from '../ledger/service.ts';
import { LIMITS } from '../lib/limits.ts';
import type { Metrics } from '../metrics.ts';
import type { ModuleDeps } from '../modules.ts';
import { registerRefundRoutes } from '../refunds/routes.ts';
import { createRefundsService } from '../refunds/service.ts';
import type { RoutingAdmin } from '../routing/admin.ts';
import type { HealthMonitor } from '../routing/types.ts';
import type { VaultService } from '../vault/types.ts';
import { createBankTransfers } from './bank-transfer.ts';
import { registerBankTransferRoutes } from './bank-transfer-route.ts';
import { createConnectorRegistry } from './connectors.ts';
import { createRecovery } from './recovery.ts';
import { registerPaymentIntentRoutes } from './routes.ts';
import { createPaymentsService } from './service.ts';
import { createSettlement } from './settle.ts';
import { registerConnectorWebhookRoute } from './webhook-route.ts';

// The payments module: payment intents, attempts, charges, refunds and the
// sandbox connector. It registers its routes and exposes recovery, which the
// engine runs at start and which then repeats every LIMITS.recoveryIntervalMs
// for attempts whose answer was lost (unknown) or whose process died.
export function createPaymentsModule(
  deps: ModuleDeps & {
    vault: VaultService;
    routing: RoutingAdmin;
    health: HealthMonitor;
    metrics: Metrics;
    /** Where processors' dispute notices go (src/disputes). */
    disputes: Pick<DisputesService, 'applyNotice'>;
  },
) {
  const { db, clock, events, vault, config, logger } = deps;
  const publicBase = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const sandboxOptions = {
    latencyMs: config.sandboxLatencyMs,
    challengeUrl: (reference: string) =>
      `${publicBase.replace(/\/$/, '')}/test_helpers/3ds/${reference}`,
  };
  const connectors = createConnectorRegistry({
    clock,
    sandbox: createSandboxConnector(sandboxOptions),
    definitions: connectorDefinitions(sandboxOptions),
    routing: deps.routing,
    health: deps.health,
    metrics: deps.metrics,
  });
  const ledger = createLedgerService({
    db,
    clock,
    availableAfterSeconds: config.fundsAvailableAfterSeconds,
    settlementCutoffSeconds: config.settlementCutoffSeconds,
  });
  const settlement = createSettlement({ clock, events, vault, ledger });
  const payments = createPaymentsService({
    db,
    clock,
    events,
    customers: deps.customers,
    vault,
    connectors,
    settlement,
    publicUrl: publicBase,
  });
  const refunds = createRefundsService({ db, clock, events, connectors, ledger });
  // expand[]=balance_transaction reads through the ledger.
  const balanceTransactions = ledger.retrieveBalanceTransaction;
  registerPaymentIntentRoutes(deps.app, { ...deps.routeDeps, payments, balanceTransactions });
  registerRefundRoutes(deps.app, { ...deps.routeDeps, refunds, balanceTransactions });
  registerLedgerRoutes(deps.app, { ...deps.routeDeps, ledger });
  // Transfers received for intents offered the secondary method (docs/bank-transfers.md).
  const bankTransfers = createBankTransfers({
    db,
    clock,
    events,
    booking: {
      availableAfterSeconds: config.fundsAvailableAfterSeconds,
      settlementCutoffSeconds: config.settlementCutoffSeconds,
    },
  });
  registerBankTransferRoutes(deps.app, { ...deps.routeDeps, bankTransfers });
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
    publicUrl: publicBase,
  });

  registerConnectorWebhookRoute(deps.app, {
    connectors,
    recovery,
    logger,
    disputes: deps.disputes,
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
    connectors,
    ledger,
    bankTransfers,
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
