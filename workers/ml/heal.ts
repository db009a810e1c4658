/**
 * Healing and anomaly scoring: noise a test image y part-way, x_t₀ = √ᾱ_t₀ y + √(1 − ᾱ_t₀) ε
 * (Ho et al. Eq. 4), run the reverse process back to x̂_0 with a DDPM or DDIM scheduler; what the model of
 * normal concrete cannot reproduce (a crack) stays in the residual. Heatmap = the residual (|y − x̂_0|, or
 * only where y is darker than x̂_0) of x̂_0 averaged over K noise seeds, averaged over channels, optionally
 * Gaussian-smoothed; the image score pools it (imageScore). Images are healed in batches; each
 * image's noise depends only on (seed, its id, k), so its result does not depend on which images share its
 * batch.
 */
import * as tf from "@tensorflow/tfjs";
import { hashString, mixSeed } from "./hash";
import { NoiseGenerator } from "./random";
import type { NoiseSchedule } from "./diffusion/schedule";
import { makeScheduler, type SamplerKind, type Scheduler } from "./diffusion/schedulers";
import { reverseProcess, type EpsilonModel, type ReverseOptions } from "./diffusion/sample";
import { RESIDUALS, type ResidualKind } from "./heal-defaults";
import { GAUSSIAN_NOISE, type NoiseSpec } from "./noise";
import { activeAddon } from "./kernels/native";

/**
 * How a heatmap pools into the image score: each pixel takes its best mean along a short segment through it
 * (cracks are lines; pores, grains and stains are not), the top-k % of those are averaged, and a multiple of
 * the heatmap's mean is subtracted (a tile whose whole texture heals badly is not cracked). Chosen on
 * validation data (docs/localisation.md).
 */
export interface ImageScoring {
  /** Mean of the top `topkPercent` % of the segment means. */
  topkPercent: number;
  /** Segment length in pixels, 8 directions (1 = each pixel alone). */
  lineLength: number;
  /** Subtract this many times the heatmap's mean. */
  background: number;
}

export interface HealOptions extends ImageScoring {
  sampler: SamplerKind;
  /** Network calls per heal; DDPM with steps < t₀ uses the respaced ancestral sampler. */
  steps: number;
  /** Start step t₀ (of T): how much of the image is noised away. */
  t0: number;
  /** DDIM η (0 = deterministic). */
  eta: number;
  /** Heals per image with independent noise; heatmaps are averaged. */
  seeds: number;
  seed: number;
  /** Gaussian smoothing of the heatmap, σ in pixels (0 = none). */
  smoothSigma: number;
  /** Which differences count: "dark" = where y is darker than x̂_0 (cracks are), "abs" = |y − x̂_0|. */
  residual: ResidualKind;
  /** Images healed together (one network call per step for the whole batch). */
  batchSize: number;
}

export { defaultHealOptions, defaultSeeds, defaultSteps, RESIDUALS, type ResidualKind } from "./heal-defaults";

/** The per-pixel residual [B, H, W, 1] in [0, 1] of y against its healing x̂_0 (both in [−1, 1]). */
export function residualMap(y: tf.Tensor4D, healed: tf.Tensor4D, kind: ResidualKind): tf.Tensor4D {
  return tf.tidy(() => {
    const diff = kind === "dark" ? tf.relu(healed.sub(y)) : tf.abs(y.sub(healed));
    return diff.mean(3, true).div(2) as tf.Tensor4D;
  });
}

export interface HealInput {
  id: string;
  /** size × size × channels in [0, 1]. */
  image: Float32Array;
}

export interface HealResult {
  id: string;
  /** x̂_0 averaged over the seeds, size × size × channels in [0, 1]. */
  healed: Float32Array;
  /** size × size residual in [0, 1] (after averaging and smoothing). */
  heatmap: Float32Array;
  score: number;
}

export function validateHealOptions(options: HealOptions, schedule: NoiseSchedule): void {
  const { t0, steps, seeds, smoothSigma, batchSize, residual } = options;
  if (!Number.isInteger(t0) || t0 < 1 || t0 > schedule.T) throw new Error(`t0 must be an integer in [1, ${schedule.T}], got ${t0}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > t0) throw new Error(`steps must be an integer in [1, t0 = ${t0}], got ${steps}`);
  if (!Number.isInteger(seeds) || seeds < 1) throw new Error(`seeds must be a positive integer, got ${seeds}`);
  validateImageScoring(options);
  if (!(smoothSigma >= 0 && smoothSigma <= 10)) throw new Error(`smoothing sigma must be in [0, 10] pixels, got ${smoothSigma}`);
  if (!RESIDUALS.includes(residual)) throw new Error(`residual must be ${RESIDUALS.join(" or ")}, got ${String(residual)}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
}

export function makeHealScheduler(schedule: NoiseSchedule, options: Pick<HealOptions, "sampler" | "steps" | "t0" | "eta">): Scheduler {
  const scheduler = makeScheduler(options.sampler, schedule, { eta: options.eta });
  scheduler.setTimesteps(options.steps, options.t0);
  return scheduler;
}

/** Noise generator of one heal: row i's stream depends on (seed, k, ids[i]) only; its noise is the teacher's. */
export function healNoise(seed: number, k: number, ids: string[], noise: NoiseSpec = GAUSSIAN_NOISE): NoiseGenerator {
  return new NoiseGenerator(ids.map((id) => mixSeed(seed, k, hashString(id))), noise);
}

/**
 * One heal of a batch y ([B, H, W, C] in [−1, 1]): x_t₀ from the generator's first draw, then the reverse
 * process. Returns x̂_0 (and x_t₀ when asked, for visualisations); the caller disposes them.
 */
export async function healBatch(
  model: EpsilonModel,
  scheduler: Scheduler,
  y: tf.Tensor4D,
  generator: NoiseGenerator,
  options: { keepStart?: boolean } & Pick<ReverseOptions, "onStep" | "checkCancelled"> = {},
): Promise<{ healed: tf.Tensor4D; start?: tf.Tensor4D }> {
  const t0 = scheduler.timesteps[0]!;
  const noise = generator.draw(y.shape.slice(1));
  const start = scheduler.addNoise(y, noise, t0);
  noise.dispose();
  const healed = await reverseProcess(model, scheduler, start, {
    generator,
    onStep: options.onStep,
    checkCancelled: options.checkCancelled,
  });
  if (options.keepStart) return { healed, start };
  start.dispose();
  return { healed };
}

/** Heals images and scores them; see the file comment. `onProgress` gets the number of images done. */
export async function healAndScore(
  model: EpsilonModel,
  schedule: NoiseSchedule,
  inputs: HealInput[],
  size: number,
  channels: 1 | 3,
  options: HealOptions,
  hooks: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void } = {},
): Promise<HealResult[]> {
  validateHealOptions(options, schedule);
  const pixels = size * size * channels;
  for (const input of inputs) {
    if (input.image.length !== pixels) {
      throw new Error(`heal: image ${input.id} has ${input.image.length} values, expected ${size}×${size}×${channels}`);
    }
  }
  const scheduler = makeHealScheduler(schedule, options);
  const results: HealResult[] = [];
  for (let start = 0; start < inputs.length; start += options.batchSize) {
    const chunk = inputs.slice(start, start + options.batchSize);
    const ids = chunk.map((c) => c.id);
    const y = tf.tidy(() => {
      const flat = new Float32Array(chunk.length * pixels);
      chunk.forEach((c, i) => flat.set(c.image, i * pixels));
      return tf.tensor4d(flat, [chunk.length, size, size, channels]).mul(2).sub(1) as tf.Tensor4D;
    });
    // The heals are averaged before the residual is taken: their mean estimates the clean image, and its
    // residual localises better than the mean of each heal's residual (docs/localisation.md).
    let healedSum: tf.Tensor4D | null = null;
    for (let k = 0; k < options.seeds; k++) {
      const { healed } = await healBatch(model, scheduler, y, healNoise(options.seed, k, ids, schedule.noise), {
        checkCancelled: hooks.checkCancelled,
      });
      if (healedSum) {
        const sum: tf.Tensor4D = healedSum.add(healed);
        tf.dispose([healedSum, healed]);
        healedSum = sum;
      } else {
        healedSum = healed;
      }
    }
    const meanHealed = tf.tidy(() => healedSum!.div(options.seeds) as tf.Tensor4D);
    const heatmaps = tf.tidy(() => gaussianBlur(residualMap(y, meanHealed, options.residual), options.smoothSigma));
    const healedPixels = tf.tidy(() => meanHealed.add(1).div(2).clipByValue(0, 1));
    const heatData = (await heatmaps.data()) as Float32Array;
    const healedData = (await healedPixels.data()) as Float32Array;
    tf.dispose([y, healedSum!, meanHealed, heatmaps, healedPixels]);
    chunk.forEach((c, i) => {
      const heatmap = heatData.slice(i * size * size, (i + 1) * size * size);
      results.push({
        id: c.id,
        healed: healedData.slice(i * pixels, (i + 1) * pixels),
        heatmap,
        score: imageScore(heatmap, options),
      });
    });
    hooks.onProgress?.(results.length, inputs.length);
  }
  return results;
}

/** Network calls each image costs: `steps` per heal, `seeds` heals. */
export function netCallsPerImage(options: Pick<HealOptions, "steps" | "seeds">): number {
  return options.steps * options.seeds;
}

export function validateImageScoring({ topkPercent, lineLength, background }: ImageScoring): void {
  if (!(topkPercent > 0 && topkPercent <= 100)) throw new Error(`topk must be a percentage in (0, 100], got ${topkPercent}`);
  if (!Number.isInteger(lineLength) || lineLength < 1 || lineLength > 64) throw new Error(`line must be an integer in 1..64 pixels, got ${lineLength}`);
  if (!(background >= 0 && background <= 10)) throw new Error(`background must be in [0, 10], got ${background}`);
}

/** The image score of a square heatmap (see ImageScoring). */
export function imageScore(heatmap: Float32Array, { topkPercent, lineLength, background }: ImageScoring): number {
  const pooled = topKMean(lineLength > 1 ? lineMeans(heatmap, lineLength) : heatmap, topkPercent);
  if (background === 0) return pooled;
  let sum = 0;
  for (const v of heatmap) sum += v;
  return pooled - (background * sum) / heatmap.length;
}

/**
 * Each pixel's largest mean along a segment of `length` pixels centred on it, over 8 directions (0°, 22.5°, …);
 * segments are cut at the border and averaged over the pixels inside. In native code when the kernels are
 * (native/src/layout.cc: the same sums in the same order, so the same values), else here.
 */
export function lineMeans(heatmap: Float32Array, length: number): Float32Array {
  const size = Math.round(Math.sqrt(heatmap.length));
  if (size * size !== heatmap.length) throw new Error(`lineMeans: a square heatmap was expected, got ${heatmap.length} values`);
  const half = (length - 1) / 2;
  // The d-th direction's segment as pixel offsets at [d · length, (d + 1) · length), rounded once.
  const dx = new Int32Array(8 * length);
  const dy = new Int32Array(8 * length);
  for (let d = 0; d < 8; d++) {
    for (let i = 0; i < length; i++) {
      dx[d * length + i] = Math.round((i - half) * Math.cos((d * Math.PI) / 8));
      dy[d * length + i] = Math.round((i - half) * Math.sin((d * Math.PI) / 8));
    }
  }
  const out = new Float32Array(heatmap.length);
  const native = activeAddon();
  if (native) {
    native.lineMeans(size, length, dx, dy, heatmap, out);
    return out;
  }
  const flat = dx.map((ox, k) => dy[k]! * size + ox);
  // Pixels at least `reach` from every border have whole segments: no bounds checks there.
  const reach = Math.ceil(half);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = y * size + x;
      const inside = x >= reach && y >= reach && x < size - reach && y < size - reach;
      let best = 0;
      for (let d = 0; d < 8; d++) {
        let sum = 0;
        let n = 0;
        if (inside) {
          for (let k = d * length; k < (d + 1) * length; k++) sum += heatmap[p + flat[k]!]!;
          n = length;
        } else {
          for (let k = d * length; k < (d + 1) * length; k++) {
            const xx = x + dx[k]!;
            const yy = y + dy[k]!;
            if (xx < 0 || yy < 0 || xx >= size || yy >= size) continue;
            sum += heatmap[yy * size + xx]!;
            n++;
          }
        }
        if (sum / n > best) best = sum / n;
      }
      out[p] = best;
    }
  }
  return out;
}

/** Mean of the largest `percent` % of the values (at least one value). */
export function topKMean(values: Float32Array, percent: number): number {
  const k = Math.max(1, Math.round((values.length * percent) / 100));
  const sorted = Float32Array.from(values).sort();
  let sum = 0;
  for (let i = sorted.length - k; i < sorted.length; i++) sum += sorted[i]!;
  return sum / k;
}

/** Separable Gaussian blur of [B, H, W, 1] with reflected borders (σ = 0 returns the input unchanged). */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  if (sigma <= 0) return x.clone();
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  return tf.tidy(() => {
    // Reflection needs the pad to be smaller than the image; tiny images get a shorter (renormalised) kernel.
    const r = Math.min(radius, x.shape[1] - 1, x.shape[2] - 1);
    const padded = tf.mirrorPad(x, [[0, 0], [r, r], [r, r], [0, 0]], "reflect");
    const kept = taps.slice(radius - r, radius + r + 1);
    const total = kept.reduce((a, b) => a + b, 0);
    const k = kept.map((v) => v / total);
    const horizontal = tf.conv2d(padded, tf.tensor4d(k, [1, k.length, 1, 1]), 1, "valid");
    return tf.conv2d(horizontal, tf.tensor4d(k, [k.length, 1, 1, 1]), 1, "valid");
  });
}
