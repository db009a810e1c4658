/**
 * Seeded randomness. Every random draw of training and sampling derives from an explicit seed, so a run
 * is reproducible; per-image noise derives from (seed, image id, draw index), so an image's healing does not
 * depend on which other images share its batch.
 */
import * as tf from "@tensorflow/tfjs";
import seedrandom from "seedrandom";
import { mixSeed } from "./hash";
import { GAUSSIAN_NOISE, simplexImage, type NoiseSpec } from "./noise";

/**
 * Standard normal noise of a shape from a seed, drawn in JavaScript, so the same on every backend: the values
 * of tf.randomNormal(shape, 0, 1, "float32", seed) (Marsaglia's polar method over seedrandom's Alea, as
 * tfjs draws them), written straight into one array — tfjs's per-value method calls took half again as long
 * (1.5 against 0.9 ms for a training batch). Seed 0 is a seed here, where tfjs would draw from Math.random.
 */
export function gaussian(shape: number[], seed: number): tf.Tensor {
  const random = seedrandom.alea(seed.toString());
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i += 2) {
    let v1: number, v2: number, s: number;
    do {
      v1 = 2 * random() - 1;
      v2 = 2 * random() - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s === 0);
    const scale = Math.sqrt((-2 * Math.log(s)) / s);
    values[i] = v1 * scale;
    if (i + 1 < values.length) values[i + 1] = v2 * scale;
  }
  return tf.tensor(values, shape);
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
