/** Run configs from CLI flags: each flag maps to a config key; the kind's schema validates and fills defaults. */
import { InvalidConfigError, parseRunConfig, type RunConfig, type RunKind } from "../ml/config";
import { RESIDUALS } from "../ml/heal-defaults";
import { UsageError, type Args } from "./args";

export interface FlagMap {
  /** [flag, config key] of numeric flags. */
  numbers?: [string, string][];
  /** [flag, config key, allowed values] of choice flags. */
  choices?: [string, string, readonly string[]][];
  /** [flag, config key, value when the switch is given] of switches. */
  switches?: [string, string, boolean][];
}

export function configFromArgs<K extends RunKind>(kind: K, args: Args, base: Record<string, unknown>, map: FlagMap): RunConfig<K> {
  const raw: Record<string, unknown> = { ...base };
  for (const [flag, key] of map.numbers ?? []) {
    const value = args.number(flag);
    if (value !== undefined) raw[key] = value;
  }
  for (const [flag, key, options] of map.choices ?? []) {
    if (args.has(flag)) raw[key] = args.choice(flag, options, options[0]!);
  }
  for (const [flag, key, value] of map.switches ?? []) if (args.has(flag)) raw[key] = value;
  try {
    return parseRunConfig(kind, raw);
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The teacher's sampler flags (students' targets, eval of a teacher). */
export const samplerFlags: FlagMap = {
  numbers: [
    ["steps", "steps"],
    ["t0", "t0"],
    ["eta", "eta"],
    ["seeds", "seeds"],
    ["noise-seed", "noiseSeed"],
    ["topk", "topk"],
    ["line", "line"],
    ["background", "background"],
    ["smooth", "smooth"],
  ],
  choices: [
    ["sampler", "sampler", ["ddim", "ddpm"]],
    ["residual", "residual", RESIDUALS],
  ],
};

export const splitFlags: [string, string][] = [
  ["test-fraction", "testFraction"],
  ["val-fraction", "valFraction"],
];

export const fitFlags: [string, string][] = [
  ["iters", "iters"],
  ["batch", "batch"],
  ["lr", "lr"],
  ["warmup", "warmup"],
  ["crop", "crop"],
  ["seed", "seed"],
  ["eval-every", "evalEvery"],
];
