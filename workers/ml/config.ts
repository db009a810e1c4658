/**
 * Run-config schemas, one per run kind. Imported by the server (to validate launches) and the launch forms,
 * so this file must never import tfjs or anything heavy.
 */
import { z } from "zod";

export const smokeConfig = z
  .object({
    steps: z.number().int().min(1).max(5000).default(60),
    batchSize: z.number().int().min(1).max(256).default(16),
    learningRate: z.number().positive().max(1).default(0.01),
    size: z.number().int().min(8).max(128).default(16),
    seed: z.number().int().min(0).default(0),
  })
  .strict();

/** Every run kind and its config schema; the worker has one runner per key. */
export const runConfigs = {
  smoke: smokeConfig,
} as const;

export type RunKind = keyof typeof runConfigs;
export const runKinds = Object.keys(runConfigs) as RunKind[];
export type RunConfig<K extends RunKind> = z.output<(typeof runConfigs)[K]>;

/** Validates a config for a kind; the error message names each bad field. */
export function parseRunConfig<K extends RunKind>(kind: K, config: unknown): RunConfig<K> {
  const schema = runConfigs[kind];
  const result = schema.safeParse(config ?? {});
  if (!result.success) {
    const detail = result.error.issues
      .map((i) => `${i.path.length ? i.path.join(".") : "config"}: ${i.message}`)
      .join("; ");
    throw new InvalidConfigError(`invalid ${kind} config: ${detail}`);
  }
  return result.data as RunConfig<K>;
}

export class InvalidConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidConfigError";
  }
}
