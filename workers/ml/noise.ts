/**
 * The forward process's noise ε. Gaussian (Ho et al. 2020) by default; or multi-scale simplex noise as in
 * AnoDDPM (Wyatt et al., CVPR-W 2022): a sum of octaves of 2-D simplex noise (Perlin 2001; Gustavson's
 * formulation), the first with a period of `period` pixels, each next one at half the period and
 * `persistence` times the amplitude, normalised to zero mean and unit variance per image and channel.
 * Simplex noise is smooth: it corrupts the large-scale texture of a tile more than i.i.d. noise of the same
 * variance does. `mix` < 1 blends in Gaussian noise: ε = √mix · simplex + √(1 − mix) · gaussian.
 *
 * Pure TypeScript, no tfjs, so that run configs can import the spec. A draw depends only on its seed.
 */
import { mixSeed, seededRandom } from "./hash";

export const NOISE_KINDS = ["gaussian", "simplex"] as const;
export type NoiseKind = (typeof NOISE_KINDS)[number];

export interface SimplexNoiseOptions {
  /** Period of the first (coarsest) octave, in pixels. */
  period: number;
  /** Number of octaves; each halves the period. */
  octaves: number;
  /** Amplitude ratio of each octave to the previous one. */
  persistence: number;
  /** Share of the variance that is simplex noise (1 = simplex only; the rest is Gaussian). */
  mix: number;
}

export type NoiseSpec = { kind: "gaussian" } | ({ kind: "simplex" } & SimplexNoiseOptions);

export const GAUSSIAN_NOISE: NoiseSpec = { kind: "gaussian" };

/**
 * The simplex settings a teacher gets when only the kind is given: AnoDDPM's (6 octaves, persistence 0.8, the
 * coarsest period a quarter of the image) on a 64-pixel tile. On the road validation frames they matched 4
 * octaves at persistence 0.6 in pixel AUROC and led in the other figures (docs/localisation.md).
 */
export const defaultSimplexOptions: SimplexNoiseOptions = { period: 16, octaves: 6, persistence: 0.8, mix: 1 };

/** The spec of a run config's noise fields (the simplex ones are ignored for Gaussian noise). */
export function noiseSpecFrom(c: { noise: NoiseKind; noisePeriod: number; noiseOctaves: number; noisePersistence: number; noiseMix: number }): NoiseSpec {
  if (c.noise === "gaussian") return GAUSSIAN_NOISE;
  return { kind: "simplex", period: c.noisePeriod, octaves: c.noiseOctaves, persistence: c.noisePersistence, mix: c.noiseMix };
}

export function validateNoiseSpec(spec: NoiseSpec): void {
  if (spec.kind === "gaussian") return;
  if (spec.kind !== "simplex") throw new Error(`noise must be ${NOISE_KINDS.join(" or ")}, got ${String((spec as { kind: unknown }).kind)}`);
  const { period, octaves, persistence, mix } = spec;
  if (!(period >= 1 && period <= 1024)) throw new Error(`noise period must be in [1, 1024] pixels, got ${period}`);
  if (!Number.isInteger(octaves) || octaves < 1 || octaves > 8) throw new Error(`noise octaves must be an integer in 1..8, got ${octaves}`);
  if (!(persistence > 0 && persistence <= 1)) throw new Error(`noise persistence must be in (0, 1], got ${persistence}`);
  if (!(mix >= 0 && mix <= 1)) throw new Error(`noise mix must be in [0, 1], got ${mix}`);
}

/** A short description for logs ("gaussian", "simplex period 16, 4 octaves, persistence 0.6"). */
export function describeNoise(spec: NoiseSpec): string {
  if (spec.kind === "gaussian") return "gaussian";
  const mix = spec.mix < 1 ? `, ${Math.round(spec.mix * 100)} % of the variance (the rest Gaussian)` : "";
  return `simplex period ${spec.period}, ${spec.octaves} octaves, persistence ${spec.persistence}${mix}`;
}

// Gustavson's 2-D simplex noise: skew the plane onto a grid of triangles, sum three corners' radial kernels.
const F2 = 0.5 * (Math.sqrt(3) - 1);
const G2 = (3 - Math.sqrt(3)) / 6;
/** 12 gradient directions (x, y), as Gustavson's grad3 restricted to the plane, all of length 1 or √2. */
const GRAD_X = new Float64Array([1, -1, 1, -1, 1, -1, 1, -1, 0, 0, 0, 0]);
const GRAD_Y = new Float64Array([1, 1, -1, -1, 0, 0, 0, 0, 1, -1, 1, -1]);

/** A seeded permutation of 0..255, doubled (perm[i + 256] = perm[i]) so that lookups need no wrap. */
export function simplexPermutation(seed: number): Uint8Array {
  const random = seededRandom(seed);
  const p = new Uint8Array(512);
  for (let i = 0; i < 256; i++) p[i] = i;
  for (let i = 255; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = p[i]!;
    p[i] = p[j]!;
    p[j] = tmp;
  }
  for (let i = 0; i < 256; i++) p[i + 256] = p[i]!;
  return p;
}

/** 2-D simplex noise at (x, y) with a permutation from simplexPermutation; values in about [−1, 1]. */
export function simplex2(perm: Uint8Array, x: number, y: number): number {
  const s = (x + y) * F2;
  const i = Math.floor(x + s);
  const j = Math.floor(y + s);
  const t = (i + j) * G2;
  const x0 = x - (i - t);
  const y0 = y - (j - t);
  const i1 = x0 > y0 ? 1 : 0;
  const j1 = 1 - i1;
  const x1 = x0 - i1 + G2;
  const y1 = y0 - j1 + G2;
  const x2 = x0 - 1 + 2 * G2;
  const y2 = y0 - 1 + 2 * G2;
  const ii = i & 255;
  const jj = j & 255;
  let n = 0;
  let t0 = 0.5 - x0 * x0 - y0 * y0;
  if (t0 > 0) {
    const g = perm[ii + perm[jj]!]! % 12;
    t0 *= t0;
    n += t0 * t0 * (GRAD_X[g]! * x0 + GRAD_Y[g]! * y0);
  }
  let t1 = 0.5 - x1 * x1 - y1 * y1;
  if (t1 > 0) {
    const g = perm[ii + i1 + perm[jj + j1]!]! % 12;
    t1 *= t1;
    n += t1 * t1 * (GRAD_X[g]! * x1 + GRAD_Y[g]! * y1);
  }
  let t2 = 0.5 - x2 * x2 - y2 * y2;
  if (t2 > 0) {
    const g = perm[ii + 1 + perm[jj + 1]!]! % 12;
    t2 *= t2;
    n += t2 * t2 * (GRAD_X[g]! * x2 + GRAD_Y[g]! * y2);
  }
  return 70 * n;
}

/**
 * One image of multi-scale simplex noise, height × width × channels (row-major, channels last), each
 * channel normalised to zero mean and unit variance. Its own permutation and a random offset per channel and
 * octave derive from `seed` alone.
 */
export function simplexImage(
  height: number,
  width: number,
  channels: number,
  seed: number,
  options: SimplexNoiseOptions,
  out: Float32Array = new Float32Array(height * width * channels),
): Float32Array {
  const { period, octaves, persistence } = options;
  if (out.length !== height * width * channels) throw new Error(`simplexImage: out has ${out.length} values, expected ${height * width * channels}`);
  const random = seededRandom(mixSeed(seed, 0x5e7));
  const perm = simplexPermutation(mixSeed(seed, 0x9e3));
  const field = new Float64Array(height * width);
  for (let c = 0; c < channels; c++) {
    field.fill(0);
    let amplitude = 1;
    let frequency = 1 / period;
    for (let o = 0; o < octaves; o++) {
      // A random place in the noise for each octave, so the octaves are independent.
      const ox = random() * 256;
      const oy = random() * 256;
      for (let y = 0; y < height; y++) {
        const fy = oy + y * frequency;
        const row = y * width;
        for (let x = 0; x < width; x++) field[row + x]! += amplitude * simplex2(perm, ox + x * frequency, fy);
      }
      amplitude *= persistence;
      frequency *= 2;
    }
    let sum = 0;
    for (let i = 0; i < field.length; i++) sum += field[i]!;
    const mean = sum / field.length;
    let squares = 0;
    for (let i = 0; i < field.length; i++) squares += (field[i]! - mean) ** 2;
    const std = Math.sqrt(squares / field.length);
    const scale = std > 0 ? 1 / std : 0;
    for (let i = 0; i < field.length; i++) out[i * channels + c] = (field[i]! - mean) * scale;
  }
  return out;
}
