/**
 * The training loop of the small convolutional methods: seeded batches of (input, target) pairs, the same
 * random flip / quarter turn (and crop window) applied to both, Adam with a linear warm-up, gradient
 * clipping, and a loss the method supplies.
 */
import * as tf from "@tensorflow/tfjs";
import { adam } from "../kernels/adam";
import { mixSeed, seededRandom } from "../hash";
import { cropAndTransform } from "../train";

export interface FitOptions {
  iters: number;
  batch: number;
  lr: number;
  warmup: number;
  /** Random flips and quarter turns (a crack has no preferred orientation, nor does concrete). */
  augment: boolean;
  /** Train on random crop × crop windows (0 = whole images). */
  crop: number;
  seed: number;
}

export interface FitResult {
  iters: number;
  seconds: number;
  imgPerS: number;
  /** Mean loss over the last min(50, iters) steps. */
  finalLoss: number;
}

export interface FitHooks {
  onStep?: (step: number, loss: number) => void | Promise<void>;
  checkCancelled?: () => void;
}

/**
 * Fits `variables` so that loss(input batch, target batch) falls. Inputs are size × size × inChannels,
 * targets size × size × targetChannels (row-major, same order).
 */
export async function fit(
  variables: tf.Variable[],
  inputs: Float32Array[],
  targets: Float32Array[],
  shape: { size: number; inChannels: number; targetChannels: number },
  loss: (x: tf.Tensor4D, y: tf.Tensor4D) => tf.Scalar,
  options: FitOptions,
  hooks: FitHooks = {},
): Promise<FitResult> {
  const { size, inChannels, targetChannels } = shape;
  const { iters, batch, lr, warmup, augment, seed } = options;
  if (inputs.length === 0) throw new Error("fit: no training images");
  if (targets.length !== inputs.length) throw new Error(`fit: ${inputs.length} inputs but ${targets.length} targets`);
  const crop = options.crop > 0 ? options.crop : size;
  if (crop > size) throw new Error(`fit: crop ${crop} exceeds the image size ${size}`);
  const optimizer = adam(lr, { globalClipNorm: 1 });
  const random = seededRandom(mixSeed(seed, 0xf17));
  const x = new Float32Array(batch * crop * crop * inChannels);
  const y = new Float32Array(batch * crop * crop * targetChannels);
  const losses = new Float32Array(iters);
  const started = performance.now();
  let stepSeconds = 0;
  try {
    for (let step = 1; step <= iters; step++) {
      hooks.checkCancelled?.();
      const stepStarted = performance.now();
      for (let b = 0; b < batch; b++) {
        const k = Math.floor(random() * inputs.length);
        const window = { left: Math.floor(random() * (size - crop + 1)), top: Math.floor(random() * (size - crop + 1)), size: crop };
        const transform = augment ? Math.floor(random() * 8) : 0;
        cropAndTransform(inputs[k]!, size, inChannels, window, transform, x.subarray(b * crop * crop * inChannels, (b + 1) * crop * crop * inChannels));
        cropAndTransform(targets[k]!, size, targetChannels, window, transform, y.subarray(b * crop * crop * targetChannels, (b + 1) * crop * crop * targetChannels));
      }
      (optimizer as unknown as { learningRate: number }).learningRate = lr * Math.min(1, step / Math.max(1, warmup));
      const value = tf.tidy(() => {
        const xb = tf.tensor4d(x, [batch, crop, crop, inChannels]);
        const yb = tf.tensor4d(y, [batch, crop, crop, targetChannels]);
        const { value, grads } = tf.variableGrads(() => loss(xb, yb), variables);
        optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        return value;
      });
      losses[step - 1] = (await value.data())[0]!;
      value.dispose();
      if (!Number.isFinite(losses[step - 1]!)) throw new Error(`fit: loss became ${losses[step - 1]} at step ${step}; try a lower lr`);
      stepSeconds += (performance.now() - stepStarted) / 1000;
      await hooks.onStep?.(step, losses[step - 1]!);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    optimizer.dispose();
  }
  const tail = losses.subarray(Math.max(0, iters - 50));
  return {
    iters,
    seconds: (performance.now() - started) / 1000,
    imgPerS: (iters * batch) / stepSeconds,
    finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
  };
}

/**
 * Runs `forward` over images in batches and hands each batch's [B, H, W, 1] heatmap to `pool`
 * (the per-image scoring shared by the autoencoder and the students).
 */
export async function inBatches<T>(
  images: Float32Array[],
  shape: { size: number; channels: number },
  batchSize: number,
  forward: (x: tf.Tensor4D) => { heatmap: tf.Tensor4D; reconstruction?: tf.Tensor4D },
  each: (heatmap: Float32Array, reconstruction: Float32Array | null, index: number) => T,
  hooks: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void } = {},
): Promise<T[]> {
  const { size, channels } = shape;
  const pixels = size * size * channels;
  const out: T[] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    hooks.checkCancelled?.();
    const chunk = images.slice(start, start + batchSize);
    const flat = new Float32Array(chunk.length * pixels);
    chunk.forEach((image, i) => {
      if (image.length !== pixels) throw new Error(`an image has ${image.length} values, expected ${size}×${size}×${channels}`);
      flat.set(image, i * pixels);
    });
    const { heatmap, reconstruction } = tf.tidy(() => forward(tf.tensor4d(flat, [chunk.length, size, size, channels])));
    const heat = (await heatmap.data()) as Float32Array;
    const rec = reconstruction ? ((await reconstruction.data()) as Float32Array) : null;
    tf.dispose([heatmap, ...(reconstruction ? [reconstruction] : [])]);
    chunk.forEach((_, i) => {
      out.push(each(heat.slice(i * size * size, (i + 1) * size * size), rec ? rec.slice(i * pixels, (i + 1) * pixels) : null, start + i));
    });
    hooks.onProgress?.(out.length, images.length);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}
