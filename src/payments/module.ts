import type { ModuleDeps } from '../modules.ts';
import type { VaultService } from '../vault/types.ts';

// STUB: the payments module (payment intents, attempts, charges, refunds,
// sandbox connector) registers its routes here and exposes recovery.
export function createPaymentsModule(_deps: ModuleDeps & { vault: VaultService }) {
  return {
    recover: async () => {},
    close: async () => {},
  };
}
