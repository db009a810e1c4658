/**
 * Noise schedules of the forward process q(x_t | x_0) (DDPM, Ho et al. 2020) and q_sample.
 *
 * Indexing follows the paper: t = 1..T, and index 0 holds the clean image (ᾱ_0 = 1, β_0 = 0), so
 * `alphaBars[t]` is ᾱ_t exactly as written in the equations.
 */
import * as tf from "@tensorflow/tfjs";
import { GAUSSIAN_NOISE, validateNoiseSpec, type NoiseSpec } from "../noise";

export type ScheduleKind = "linear" | "cosine";

export interface NoiseSchedule {
  kind: ScheduleKind;
  /** Number of diffusion steps T. */
  T: number;
  /** β_t for t = 0..T (β_0 = 0). */
  betas: Float64Array;
  /** α_t = 1 − β_t. */
  alphas: Float64Array;
  /** ᾱ_t = Π_{s ≤ t} α_s, for t = 0..T (ᾱ_0 = 1). Strictly decreasing, in (0, 1] */
  alphaBars: Float64Array;
  /** The distribution of ε: what the teacher was trained to predict, so what healing noises with. */
  noise: NoiseSpec;
}

export interface ScheduleOptions {
  T?: number;
  /** Linear schedule end points (Ho et al. 2020 §4: 1e-4 … 0.02). */
  betaStart?: number;
  betaEnd?: number;
  /** Cosine schedule offset s (Nichol & Dhariwal 2021 Eq. 17: 0.008). */
  cosineOffset?: number;
  /** The noise ε (Gaussian unless given). */
  noise?: NoiseSpec;
}

export function makeSchedule(kind: ScheduleKind, options: ScheduleOptions = {}): NoiseSchedule {
  const T = options.T ?? 1000;
  if (!Number.isInteger(T) || T < 2) throw new Error(`schedule: T must be an integer ≥ 2, got ${T}`);
  const betas = new Float64Array(T + 1);
  if (kind === "linear") {
    const start = options.betaStart ?? 1e-4;
    const end = options.betaEnd ?? 0.02;
    if (!(start > 0 && end < 1 && start <= end)) {
      throw new Error(`schedule: need 0 < betaStart ≤ betaEnd < 1, got ${start}, ${end}`);
    }
    for (let t = 1; t <= T; t++) betas[t] = start + ((end - start) * (t - 1)) / (T - 1);
  } else if (kind === "cosine") {
    // Nichol & Dhariwal 2021 Eq. 17: ᾱ_t = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2);
    // β_t = 1 − ᾱ_t/ᾱ_{t−1}, clipped at 0.999 to avoid the singularity at t = T.
    const s = options.cosineOffset ?? 0.008;
    const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 1; t <= T; t++) betas[t] = Math.min(1 - f(t) / f(t - 1), 0.999);
  } else {
    throw new Error(`schedule: unknown kind "${String(kind)}" (linear | cosine)`);
  }
  const alphas = betas.map((b) => 1 - b);
  const alphaBars = new Float64Array(T + 1);
  alphaBars[0] = 1;
  for (let t = 1; t <= T; t++) alphaBars[t] = alphaBars[t - 1]! * alphas[t]!;
  const noise = options.noise ?? GAUSSIAN_NOISE;
  validateNoiseSpec(noise);
  return { kind, T, betas, alphas, alphaBars, noise };
}

export function checkTimestep(schedule: NoiseSchedule, t: number): void {
  if (!Number.isInteger(t) || t < 0 || t > schedule.T) {
    throw new Error(`timestep must be an integer in [0, ${schedule.T}], got ${t}`);
  }
}

/**
 * q_sample, Ho et al. 2020 Eq. 4: x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε (ε drawn by the caller, see forwardNoise).
 * `t` is one step for the whole batch or one per example (length = batch).
 */
export function qSample(
  schedule: NoiseSchedule,
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  t: number | ArrayLike<number>,
): tf.Tensor4D {
  return tf.tidy(() => {
    if (typeof t === "number") {
      checkTimestep(schedule, t);
      const ab = schedule.alphaBars[t]!;
      return x0.mul(Math.sqrt(ab)).add(noise.mul(Math.sqrt(1 - ab))) as tf.Tensor4D;
    }
    const batch = x0.shape[0];
    if (t.length !== batch) throw new Error(`qSample: ${t.length} timesteps for a batch of ${batch}`);
    const signal = new Float32Array(batch);
    const noiseScale = new Float32Array(batch);
    for (let i = 0; i < batch; i++) {
      checkTimestep(schedule, t[i]!);
      const ab = schedule.alphaBars[t[i]!]!;
      signal[i] = Math.sqrt(ab);
      noiseScale[i] = Math.sqrt(1 - ab);
    }
    const a = tf.tensor4d(signal, [batch, 1, 1, 1]);
    const b = tf.tensor4d(noiseScale, [batch, 1, 1, 1]);
    return x0.mul(a).add(noise.mul(b)) as tf.Tensor4D;
  });
}
