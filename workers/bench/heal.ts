/**
 * Healing throughput of the default-size UNet (untrained: speed does not depend on the weights) at 64×64:
 * DDIM with S steps from t₀ = 250 against DDPM ancestral with every step from t₀ = 250.
 * `benchHeal(args)` → `{sampler: "ddim", steps, img_per_s, ddpm: {t0, img_per_s}, ddim_speedup, ...}`.
 * Options: --steps S (10), --t0 T (250), --images N (16, one batch), --size (64).
 */
import * as tf from "@tensorflow/tfjs";
import type { Args } from "../cli/args";
import { describeBackend } from "../ml/backend";
import { makeSchedule } from "../ml/diffusion/schedule";
import { defaultHealOptions, healAndScore, type HealInput, type HealOptions } from "../ml/heal";
import { epsilonModel } from "../ml/train";
import { defaultUNetConfig, UNet } from "../ml/unet";

export async function benchHeal(args: Args): Promise<Record<string, unknown>> {
  const { backend } = await describeBackend();
  const steps = args.number("steps", 10);
  const t0 = args.number("t0", 250);
  const count = args.number("images", 16);
  const size = args.number("size", 64);
  const net = new UNet(defaultUNetConfig, 0);
  // Random weights everywhere, so the arithmetic is that of a trained net (fresh, the output conv is zero).
  for (const v of net.variables.values()) v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.05, "float32", 1)));
  const schedule = makeSchedule("linear");
  const images: HealInput[] = Array.from({ length: count }, (_, i) => ({
    id: `bench-${i}`,
    image: Float32Array.from({ length: size * size }, (_, k) => 0.5 + 0.3 * Math.sin(k * 0.37 + i)),
  }));
  const model = epsilonModel(net);
  const run = async (options: HealOptions, n = count) => {
    const started = performance.now();
    await healAndScore(model, schedule, images.slice(0, n), size, 1, options);
    return n / ((performance.now() - started) / 1000);
  };
  const ddim: HealOptions = { ...defaultHealOptions, sampler: "ddim", steps, t0, seeds: 1, batchSize: count };
  const ddpm: HealOptions = { ...defaultHealOptions, sampler: "ddpm", steps: t0, t0, seeds: 1, batchSize: count };
  try {
    await run({ ...ddim, steps: 1, t0: 1 }, Math.min(count, 4)); // warm-up: kernels compiled, memory grown
    const ddimRate = await run(ddim);
    const ddpmRate = await run(ddpm);
    return {
      backend,
      size,
      images: count,
      params: net.parameterCount,
      sampler: "ddim",
      steps,
      t0,
      img_per_s: ddimRate,
      ms_per_image: 1000 / ddimRate,
      ddpm: { t0, steps: t0, img_per_s: ddpmRate, ms_per_image: 1000 / ddpmRate },
      ddim_speedup: ddimRate / ddpmRate,
    };
  } finally {
    net.dispose();
  }
}
