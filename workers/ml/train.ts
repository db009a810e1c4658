/**
 * DDPM training (Ho et al. 2020 Alg. 1): draw x_0 from the normal images, t ~ U{1..T}, ε ~ N(0, I) (or the
 * schedule's simplex noise, AnoDDPM), take a gradient step on L_simple = ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖²
 * (Eq. 14) with Adam, and keep an exponential moving average of the weights for sampling. Every draw is seeded.
 */
import * as tf from "@tensorflow/tfjs";
import { adam } from "./kernels/adam";
import { emaUpdate } from "./kernels/training_ops";
import { mixSeed, seededRandom } from "./hash";
import { forwardNoise } from "./random";
import { qSample, type NoiseSchedule } from "./diffusion/schedule";
import type { TrainState } from "./train-state";
import type { UNet, Weights } from "./unet";

export interface TrainOptions {
  iters: number;
  batch: number;
  /** Adam learning rate (after a linear warm-up over `warmup` steps). */
  lr: number;
  warmup: number;
  /** After the warm-up: keep lr, or decay it along a half cosine to 0 at the last step. */
  lrDecay: "none" | "cosine";
  /** EMA decay; the effective decay is min(decay, (1 + n)/(10 + n)) so short runs average sensibly early on. */
  emaDecay: number;
  /** Gradients are rescaled to this global L2 norm at most (DDPM clips at 1). */
  gradClip: number;
  /** Random flips and 90° rotations of each training image (concrete texture has no orientation). */
  augment: boolean;
  /**
   * Train on random crop × crop windows of the images (0 = whole images). The network is convolutional, so
   * it still heals whole images; a texture's statistics are the same in every window, and a 32-pixel
   * window costs a quarter of a 64-pixel image.
   */
  crop: number;
  seed: number;
}

export const defaultTrainOptions: TrainOptions = {
  iters: 3000,
  batch: 16,
  lr: 1e-3,
  warmup: 100,
  lrDecay: "none",
  emaDecay: 0.995,
  gradClip: 1,
  augment: true,
  crop: 0,
  seed: 0,
};

export interface TrainProgress {
  step: number;
  loss: number;
  lr: number;
  /** Training images per second so far. */
  imgPerS: number;
  /** The EMA weights at this step (for sampling or a quick evaluation from the hook). */
  emaWeights: Weights;
}

export interface TrainHooks {
  /** Called after every step (log metrics, print progress, save samples). */
  onStep?: (progress: TrainProgress) => void | Promise<void>;
  /** Throws to stop training (checked between steps). */
  checkCancelled?: () => void;
  /** Asked after every step whether to save the training state; `save` gets views of the live tensors. */
  checkpoint?: { due(): boolean; save(state: TrainState): Promise<void> };
}

export interface TrainResult {
  iters: number;
  /** Wall-clock seconds of the whole loop, hooks included. */
  seconds: number;
  /** Training images per second of the steps alone (hooks excluded). */
  imgPerS: number;
  /** Mean L_simple over the last min(50, iters) steps (one batch's loss is noisy). */
  finalLoss: number;
  losses: Float32Array;
}

/** Images in [0, 1] → the diffusion data scale [−1, 1]. */
export function toModelScale(pixels: Float32Array): Float32Array {
  return Float32Array.from(pixels, (v) => v * 2 - 1);
}

/** Exponential moving average of a model's weights (Polyak averaging, used by DDPM for sampling). */
export class WeightsEma {
  readonly weights: Map<string, tf.Variable>;
  updates = 0;

  constructor(
    source: ReadonlyMap<string, tf.Tensor>,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`EMA decay must be in [0, 1), got ${decay}`);
    this.weights = new Map();
    for (const [name, value] of source) {
      const copy = value.clone();
      this.weights.set(name, tf.variable(copy, false));
      copy.dispose(); // the variable keeps its own reference to the data
    }
  }

  update(source: ReadonlyMap<string, tf.Tensor>): void {
    this.updates++;
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    if (emaUpdate([...this.weights].map(([name, shadow]) => [shadow, source.get(name)!]), d)) return;
    tf.tidy(() => {
      for (const [name, shadow] of this.weights) {
        shadow.assign(shadow.mul(d).add(source.get(name)!.mul(1 - d)));
      }
    });
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose();
  }
}

/**
 * Trains `model` in place on `images` (each size × size × channels, values in [0, 1]). Returns the loss
 * curve and the EMA of the weights (the caller owns and disposes it).
 */
export async function trainDdpm(
  model: UNet,
  schedule: NoiseSchedule,
  images: Float32Array[],
  size: number,
  options: TrainOptions,
  hooks: TrainHooks = {},
  /** Continue from this state (saved by `hooks.checkpoint` of an earlier attempt with the same options). */
  resume?: TrainState,
): Promise<TrainResult & { ema: WeightsEma }> {
  const { iters, batch, lr, warmup, lrDecay, emaDecay, gradClip, augment, seed } = options;
  const crop = options.crop > 0 ? options.crop : size;
  if (!Number.isInteger(crop) || crop > size) throw new Error(`train: crop must be an integer ≤ the image size ${size}, got ${options.crop}`);
  const channels = model.config.channels;
  if (images.length === 0) throw new Error("train: no training images (the split has no Negative images?)");
  for (const image of images) {
    if (image.length !== size * size * channels) {
      throw new Error(`train: an image has ${image.length} values, expected ${size}×${size}×${channels}`);
    }
  }
  if (!Number.isInteger(iters) || iters < 1) throw new Error(`train: iters must be a positive integer, got ${iters}`);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`train: batch must be a positive integer, got ${batch}`);
  if (!(lr > 0)) throw new Error(`train: lr must be positive, got ${lr}`);

  const data = images.map(toModelScale);
  const variables = [...model.variables.values()];
  const optimizer = adam(lr, { globalClipNorm: gradClip > 0 && Number.isFinite(gradClip) ? gradClip : undefined });
  const losses = new Float32Array(iters);
  if (resume) {
    if (resume.step > iters) throw new Error(`train: the saved state is at step ${resume.step}, past iters ${iters}`);
    model.assign(resume.weights);
    await optimizer.setWeights([{ name: "iter", tensor: tf.scalar(resume.optimizerIterations, "int32") }, ...resume.optimizer]);
    losses.set(resume.losses.slice(0, resume.step));
  }
  const ema = new WeightsEma(resume?.ema ?? model.variables, emaDecay);
  ema.updates = resume?.emaUpdates ?? 0;
  const pixelsPerImage = crop * crop * channels;
  const batchPixels = new Float32Array(batch * pixelsPerImage);
  const started = performance.now();
  let stepSeconds = 0; // time in training steps only, without the hooks (sampling, evaluation, logging)

  try {
    for (let step = (resume?.step ?? 0) + 1; step <= iters; step++) {
      hooks.checkCancelled?.();
      const stepStarted = performance.now();
      // Each step's draws derive from (seed, step) alone, so a resumed run draws exactly what it would have.
      const random = seededRandom(mixSeed(seed, 0x7a11, step));
      // Alg. 1 lines 2–4: x_0 ~ q(x_0), t ~ Uniform({1, …, T}), ε ~ N(0, I).
      const t = new Int32Array(batch);
      for (let b = 0; b < batch; b++) {
        const source = data[Math.floor(random() * data.length)]!;
        const window = {
          left: Math.floor(random() * (size - crop + 1)),
          top: Math.floor(random() * (size - crop + 1)),
          size: crop,
        };
        const transform = augment ? Math.floor(random() * 8) : 0;
        const target = batchPixels.subarray(b * pixelsPerImage, (b + 1) * pixelsPerImage);
        cropAndTransform(source, size, channels, window, transform, target);
        t[b] = 1 + Math.floor(random() * schedule.T);
      }
      const stepLr = learningRateAt(step, { iters, lr, warmup, lrDecay });
      (optimizer as unknown as { learningRate: number }).learningRate = stepLr;

      const loss = tf.tidy(() => {
        const x0 = tf.tensor4d(batchPixels, [batch, crop, crop, channels]);
        // ε of the schedule's kind (Gaussian, or AnoDDPM's simplex noise), from (seed, step) alone as well.
        const noise = forwardNoise(schedule.noise, x0.shape, mixSeed(seed, step)) as tf.Tensor4D;
        const xt = qSample(schedule, x0, noise, t);
        // Alg. 1 line 5: gradient step on ‖ε − ε_θ(x_t, t)‖² (L_simple, Eq. 14).
        const { value, grads } = tf.variableGrads(
          () => tf.squaredDifference(noise, model.apply(xt, t)).mean() as tf.Scalar,
          variables,
        );
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        return value;
      });
      ema.update(model.variables);
      losses[step - 1] = (await loss.data())[0]!;
      loss.dispose();
      if (!Number.isFinite(losses[step - 1]!)) {
        throw new Error(`train: loss became ${losses[step - 1]} at step ${step}; try a lower lr`);
      }
      stepSeconds += (performance.now() - stepStarted) / 1000;
      await hooks.onStep?.({
        step,
        loss: losses[step - 1]!,
        lr: stepLr,
        imgPerS: ((step - (resume?.step ?? 0)) * batch) / stepSeconds,
        emaWeights: ema.weights,
      });
      if (hooks.checkpoint?.due()) {
        const optimizerWeights = await optimizer.getWeights();
        await hooks.checkpoint.save({
          step,
          emaUpdates: ema.updates,
          losses: Array.from(losses.subarray(0, step)),
          weights: model.variables,
          ema: ema.weights,
          optimizerIterations: (await optimizerWeights[0]!.tensor.data())[0]!,
          optimizer: optimizerWeights.slice(1),
        });
        optimizerWeights[0]!.tensor.dispose();
      }
      // Let heartbeats, cancellation and logging run between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    ema.dispose();
    throw err;
  } finally {
    optimizer.dispose();
  }

  const seconds = (performance.now() - started) / 1000;
  const tail = losses.subarray(Math.max(0, iters - 50));
  return {
    iters,
    seconds,
    imgPerS: stepSeconds > 0 ? ((iters - (resume?.step ?? 0)) * batch) / stepSeconds : 0,
    finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    losses,
    ema,
  };
}

/**
 * Copies a square window of an H×W×C image (side `size`) into `dst`, transformed by one of the 8 symmetries
 * of the square: bit 0 of `transform` mirrors left–right, bits 1–2 count quarter turns.
 */
export function cropAndTransform(
  src: Float32Array,
  size: number,
  channels: number,
  window: { left: number; top: number; size: number },
  transform: number,
  dst: Float32Array,
): void {
  const mirror = (transform & 1) === 1;
  const turns = (transform >> 1) & 3;
  const n = window.size;
  const last = n - 1;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let sx = mirror ? last - x : x;
      let sy = y;
      for (let r = 0; r < turns; r++) [sx, sy] = [sy, last - sx];
      const from = ((window.top + sy) * size + window.left + sx) * channels;
      const to = (y * n + x) * channels;
      for (let c = 0; c < channels; c++) dst[to + c] = src[from + c]!;
    }
  }
}

/** The EMA weights as an ε-model over a batch (what healing and sampling use). */
export function epsilonModel(model: UNet, weights?: Weights) {
  return (xt: tf.Tensor4D, t: number) => model.apply(xt, t, weights);
}

/** The learning rate of step `step` (1-based): linear warm-up, then constant or a half-cosine decay to 0. */
export function learningRateAt(step: number, o: Pick<TrainOptions, "iters" | "lr" | "warmup" | "lrDecay">): number {
  if (step < o.warmup) return (o.lr * step) / o.warmup;
  if (o.lrDecay === "none" || o.iters <= o.warmup) return o.lr;
  return 0.5 * o.lr * (1 + Math.cos((Math.PI * (step - o.warmup)) / (o.iters - o.warmup)));
}
