import { adyenDefinition } from './adyen/connector.ts';
import { pspSimDefinition } from './psp-sim/connector.ts';
import { createSandboxConnector, type SandboxOptions } from './sandbox/connector.ts';
import { stripeDefinition } from './stripe/connector.ts';
import type { ConnectorDefinition, ConnectorType } from './types.ts';

// Every connector type Payrail ships, by type. The sandbox needs the engine's
// latency setting and 3-D Secure page, so the table is built at start.
export function connectorDefinitions(
  sandbox: SandboxOptions,
): Record<ConnectorType, ConnectorDefinition> {
  return {
    sandbox: {
      type: 'sandbox',
      credentialFields: [],
      optionalCredentialFields: [],
      baseUrl: 'none',
      create: (settings) => createSandboxConnector(sandbox, settings.id),
    },
    psp_sim: pspSimDefinition,
    stripe: stripeDefinition,
    adyen: adyenDefinition,
  };
}
