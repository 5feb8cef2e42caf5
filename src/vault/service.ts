import type { Db } from '../db/database.ts';
import type { EventsService } from '../events/service.ts';
import type { Clock } from '../lib/clock.ts';
import type { EnvelopeCipher } from '../lib/crypto.ts';
import type { CustomersService } from '../customers/service.ts';
import type { VaultService } from './types.ts';

// STUB: replaced by the vault implementation.
export function createVaultService(_deps: {
  db: Db;
  clock: Clock;
  cipher: EnvelopeCipher;
  events: EventsService;
  customers: CustomersService;
}): VaultService {
  const todo = (): never => {
    throw new Error('vault not implemented yet');
  };
  return {
    resolveForPayment: todo,
    createFromData: todo,
    instrument: todo,
    serialize: todo,
    chargeDetails: todo,
    retrieve: todo,
  };
}
