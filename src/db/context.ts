import type { Tx } from './database.ts';

/** Whose data an operation touches: one account, in one mode. */
export interface Scope {
  accountId: string;
  livemode: boolean;
}

/**
 * What a service needs to know about the request it serves. `complete` and
 * `checkpoint` tie the idempotency record to the service's own transactions,
 * so a stored response and the state it describes commit together.
 */
export interface OpContext {
  scope: Scope;
  requestId: string | null;
  idempotencyKey: string | null;
  /** Call inside the transaction that finishes the operation, with its result. */
  complete(tx: Tx, result: unknown): Promise<void>;
  /**
   * Call inside the first transaction of an operation that later calls out to
   * a processor: from then on the operation is resumed by recovery, never re-run.
   */
  checkpoint(tx: Tx, resourceId: string): Promise<void>;
}

/** A context for work the engine starts itself (recovery, CLI): nothing to store. */
export function internalContext(scope: Scope): OpContext {
  return {
    scope,
    requestId: null,
    idempotencyKey: null,
    complete: async () => {},
    checkpoint: async () => {},
  };
}

export function livemodeFlag(scope: Scope): 0 | 1 {
  return scope.livemode ? 1 : 0;
}
