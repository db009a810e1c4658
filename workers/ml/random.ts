/**
 * Seeded randomness. Every random draw of training and sampling derives from an explicit seed, so a run
 * is reproducible; per-image noise derives from (seed, image id, draw index), so an image's healing does not
 * depend on which other images share its batch.
 */
import * as tf from "@tensorflow/tfjs";
import { fmix32 } from "./hash";

/** A 32-bit hash of integers (murmur3 finaliser per word); used to derive independent seeds. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.imul(part | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h);
}

/** Hash of a string to 32 bits (FNV-1a), for seeding by image id. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, fast, seeded uniform generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal noise of a shape from a seed (tfjs draws it in JS, so it is the same on every backend). */
export function gaussian(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, "float32", seed);
}

/**
 * Noise for a batch in which each row has its own stream: row i's k-th draw depends only on
 * (streamSeeds[i], k). Used by the samplers (the generator argument of `Scheduler.step`).
 */
export class NoiseGenerator {
  private draws = 0;
  constructor(private readonly streamSeeds: number[]) {}

  static forBatch(seed: number, ids: ArrayLike<number>): NoiseGenerator {
    return new NoiseGenerator(Array.from(ids, (id) => mixSeed(seed, id)));
  }

  /** The next draw, shape [batch, ...imageShape]. */
  normal(imageShape: number[]): tf.Tensor4D {
    const draw = this.draws++;
    return tf.tidy(() =>
      tf.stack(this.streamSeeds.map((s) => gaussian(imageShape, mixSeed(s, draw)))),
    ) as tf.Tensor4D;
  }
}
