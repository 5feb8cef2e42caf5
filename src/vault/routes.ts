import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../http/route.ts';
import type { VaultService } from './types.ts';

// STUB: replaced by the vault implementation.
export function registerPaymentMethodRoutes(_app: FastifyInstance, _deps: RouteDeps & { vault: VaultService }): void {}
