import { z } from 'zod';
import { PSP_SIM_MODES, type PspSimModeName } from '../connectors/psp-sim/wire.ts';
import { LIMITS } from '../lib/limits.ts';

// The simulator's fault modes, switched at run time by POST /_sim/mode.

export interface SimMode {
  mode: PspSimModeName;
  /** `slow`: added before handling a /v1 request. */
  latencyMs: number;
  /** `flaky`: share of /v1 requests answered 500 before acting, 0..1. */
  errorRate: number;
  /** `down`: stop listening on the port (ECONNREFUSED) instead of answering 503. */
  refuseConnections: boolean;
  /** `flaky`: seed of the pseudo-random sequence, for repeatable drills. */
  seed: number | null;
}

export const MODE_UP: SimMode = {
  mode: 'up',
  latencyMs: LIMITS.pspSimLatencyMsDefault,
  errorRate: LIMITS.pspSimErrorRateDefault,
  refuseConnections: false,
  seed: null,
};

const ModeBodySchema = z.strictObject({
  mode: z.enum(PSP_SIM_MODES, { error: `mode must be one of ${PSP_SIM_MODES.join(', ')}` }),
  latency_ms: z
    .number({ error: 'latency_ms must be a number' })
    .int('latency_ms must be an integer')
    .min(0, 'latency_ms must be at least 0')
    .max(LIMITS.pspSimLatencyMsMax, `latency_ms must be at most ${LIMITS.pspSimLatencyMsMax}`)
    .optional(),
  error_rate: z
    .number({ error: 'error_rate must be a number' })
    .min(0, 'error_rate must be between 0 and 1')
    .max(1, 'error_rate must be between 0 and 1')
    .optional(),
  refuse_connections: z.boolean({ error: 'refuse_connections must be a boolean' }).optional(),
  seed: z
    .number({ error: 'seed must be a number' })
    .int('seed must be an integer')
    .min(0, 'seed must be at least 0')
    .max(2 ** 32 - 1, 'seed must be below 2^32')
    .optional(),
});

export type ModeParse =
  | { ok: true; mode: SimMode }
  | { ok: false; param: string | null; message: string };

/** Validates a POST /_sim/mode body; errors name the field. */
export function parseModeBody(body: unknown): ModeParse {
  const parsed = ModeBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.map(String).join('.') || null;
    const unknownKeys = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : null;
    return {
      ok: false,
      param: unknownKeys ?? param,
      message: unknownKeys
        ? `unknown field(s): ${unknownKeys}`
        : (issue?.message ?? 'invalid mode body'),
    };
  }
  const input = parsed.data;
  if (input.refuse_connections && input.mode !== 'down') {
    return {
      ok: false,
      param: 'refuse_connections',
      message: 'refuse_connections applies only to mode down',
    };
  }
  return {
    ok: true,
    mode: {
      mode: input.mode,
      latencyMs: input.latency_ms ?? LIMITS.pspSimLatencyMsDefault,
      errorRate: input.error_rate ?? LIMITS.pspSimErrorRateDefault,
      refuseConnections: input.refuse_connections ?? false,
      seed: input.seed ?? null,
    },
  };
}

export function serializeMode(mode: SimMode): Record<string, unknown> {
  return {
    mode: mode.mode,
    latency_ms: mode.latencyMs,
    error_rate: mode.errorRate,
    refuse_connections: mode.refuseConnections,
    seed: mode.seed,
  };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1); Math.random without a seed. */
export function createRandom(seed: number | null): () => number {
  if (seed === null) return Math.random;
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
