import type { Connector, ConnectorOutcome } from '../connectors/types.ts';
import type { Scope } from '../db/context.ts';
import type { Clock } from '../lib/clock.ts';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';

// Which connector serves a payment. Until routing/ exists there is one
// candidate per mode: the sandbox in test mode, none in live mode.

export interface ConnectorChoice {
  connector: Connector;
  routingReason: string;
}

export interface ConnectorRegistry {
  choose(scope: Scope): ConnectorChoice;
  byName(name: string): Connector;
}

export function createConnectorRegistry(sandbox: Connector): ConnectorRegistry {
  return {
    choose(scope) {
      if (scope.livemode) {
        throw new ApiError(
          'processor_not_configured',
          'No payment processor is configured for live mode yet; use a test mode key to make payments.',
        );
      }
      return { connector: sandbox, routingReason: 'test_mode_sandbox' };
    },
    byName(name) {
      if (name === sandbox.name) return sandbox;
      throw new Error(`connector ${name} is not configured`);
    },
  };
}

/** Calls a connector with the timeout; an exception or abort is an unknown outcome, never a failure. */
export async function callOut(
  clock: Clock,
  run: (signal: AbortSignal) => Promise<ConnectorOutcome>,
): Promise<{ outcome: ConnectorOutcome; latencyMs: number }> {
  const started = clock.nowMs();
  let outcome: ConnectorOutcome;
  try {
    outcome = await run(AbortSignal.timeout(LIMITS.connectorTimeoutMs));
  } catch (error) {
    outcome = { status: 'unknown', reason: error instanceof Error ? error.message : String(error) };
  }
  return { outcome, latencyMs: Math.max(0, clock.nowMs() - started) };
}
