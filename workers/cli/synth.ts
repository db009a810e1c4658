/**
 * `npm run cli -- synth --out DIR [--count N] [--size S] [--seed K] [--positive-fraction F]
 *  [--distractor-rate R] --json` → writes DIR/Negative, DIR/Positive, DIR/Masks (and DIR/synthetic.json);
 * JSON `{negative, positive, masks}`.
 */
import path from "node:path";
import { writeSyntheticDataset } from "../ml/data/synthetic";
import { UsageError, type Command } from "./args";

export default (async (args) => {
  const out = args.required("out");
  const count = integerArg(args.number("count", 400), "count", 1, 1_000_000);
  const size = integerArg(args.number("size", 64), "size", 8, 1024);
  const seed = integerArg(args.number("seed", 0), "seed", 0, 2 ** 32 - 1);
  const positiveFraction = fractionArg(args.number("positive-fraction", 0.5), "positive-fraction");
  const distractorRate = fractionArg(args.number("distractor-rate", 0.3), "distractor-rate");
  const started = performance.now();
  const counts = await writeSyntheticDataset(out, { count, size, seed, positiveFraction, distractorRate });
  console.error(
    `synth: ${counts.negative} negative + ${counts.positive} positive ${size}×${size} images and ${counts.masks} masks ` +
      `in ${path.resolve(out)} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return counts;
}) satisfies Command;

function integerArg(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

function fractionArg(value: number, name: string): number {
  if (!(value >= 0 && value <= 1)) throw new UsageError(`--${name} must be in [0, 1], got ${value}`);
  return value;
}
