/**
 * Seeded randomness. Every random draw of training and sampling derives from an explicit seed, so a run
 * is reproducible; per-image noise derives from (seed, image id, draw index), so an image's healing does not
 * depend on which other images share its batch.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "./hash";
import { GAUSSIAN_NOISE, simplexImage, type NoiseSpec } from "./noise";

/** Standard normal noise of a shape from a seed (tfjs draws it in JS, so it is the same on every backend). */
export function gaussian(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, "float32", seed);
}

/**
 * The forward process's noise ε of a shape ([batch, H, W, C], or [H, W, C] for one image) from a seed:
 * standard normal (exactly `gaussian(shape, seed)`), or the multi-scale simplex noise of workers/ml/noise.ts,
 * each image from its own seed derived from `seed`, blended with Gaussian noise when the spec's mix < 1.
 */
export function forwardNoise(spec: NoiseSpec, shape: number[], seed: number): tf.Tensor {
  if (spec.kind === "gaussian") return gaussian(shape, seed);
  if (shape.length !== 3 && shape.length !== 4) throw new Error(`forwardNoise: shape must be [H, W, C] or [B, H, W, C], got [${shape.join(", ")}]`);
  const [batch, height, width, channels] = shape.length === 4 ? shape : [1, ...shape];
  const perImage = height! * width! * channels!;
  const values = new Float32Array(batch! * perImage);
  for (let b = 0; b < batch!; b++) {
    simplexImage(height!, width!, channels!, mixSeed(seed, 0x51e, b), spec, values.subarray(b * perImage, (b + 1) * perImage));
  }
  return tf.tidy(() => {
    const simplex = tf.tensor(values, shape);
    if (spec.mix >= 1) return simplex;
    return simplex.mul(Math.sqrt(spec.mix)).add(gaussian(shape, seed).mul(Math.sqrt(1 - spec.mix)));
  });
}

/**
 * Noise for a batch in which each row has its own stream: row i's k-th draw depends only on
 * (streamSeeds[i], k). Used to noise images for healing and by the samplers (the generator argument of
 * `Scheduler.step`); its noise is the teacher's (Gaussian unless it was trained on simplex noise).
 */
export class NoiseGenerator {
  private draws = 0;
  constructor(
    private readonly streamSeeds: number[],
    readonly noise: NoiseSpec = GAUSSIAN_NOISE,
  ) {}

  static forBatch(seed: number, ids: ArrayLike<number>, noise: NoiseSpec = GAUSSIAN_NOISE): NoiseGenerator {
    return new NoiseGenerator(Array.from(ids, (id) => mixSeed(seed, id)), noise);
  }

  /** The next draw, shape [batch, ...imageShape]. */
  draw(imageShape: number[]): tf.Tensor4D {
    const draw = this.draws++;
    return tf.tidy(() =>
      tf.stack(this.streamSeeds.map((s) => forwardNoise(this.noise, imageShape, mixSeed(s, draw)))),
    ) as tf.Tensor4D;
  }
}
