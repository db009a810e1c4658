/**
 * Reverse-process samplers kept apart from the network, in the spirit of diffusers' schedulers:
 * `setTimesteps` picks the steps, `step` turns ε_θ(x_t, t) into x_{t_prev}, `addNoise` is q_sample. DDPM and
 * DDIM share the interface, so a sampler swaps without touching the network.
 *
 * Both walk a (possibly spaced) sequence of timesteps τ_S > … > τ_1 down to 0, starting at `tStart`
 * (T for sampling from noise, t₀ for healing). Between consecutive steps t → p the formulas use ᾱ_t and ᾱ_p
 * directly, which is the respacing of Nichol & Dhariwal 2021 §4 (β'_t = 1 − ᾱ_t/ᾱ_p); with every step
 * (S = tStart) it is exactly the original ancestral sampler.
 */
import * as tf from "@tensorflow/tfjs";
import { checkTimestep, qSample, type NoiseSchedule } from "./schedule";
import type { NoiseGenerator } from "../random";

export type SamplerKind = "ddpm" | "ddim";

export interface StepOutput {
  /** x_{t_prev}. */
  prevSample: tf.Tensor4D;
  /** x̂_0 predicted at this step (Ho et al. Eq. 15 / Song et al. Eq. 12 "predicted x_0"). */
  predOriginal: tf.Tensor4D;
}

export interface Scheduler {
  readonly kind: SamplerKind;
  readonly schedule: NoiseSchedule;
  /** Descending timesteps the reverse process visits (one network call each); set by setTimesteps. */
  readonly timesteps: readonly number[];
  /** Whether `step` draws noise (and so needs a generator). */
  readonly stochastic: boolean;
  setTimesteps(steps: number, tStart?: number): void;
  /** The timestep after t in the current sequence (0 after the last). */
  previousTimestep(t: number): number;
  step(epsilon: tf.Tensor4D, t: number, xt: tf.Tensor4D, generator?: NoiseGenerator): StepOutput;
  /** q_sample (Ho et al. Eq. 4). */
  addNoise(x0: tf.Tensor4D, noise: tf.Tensor4D, t: number | ArrayLike<number>): tf.Tensor4D;
}

export interface SchedulerOptions {
  /** Clip x̂_0 to the data range [−1, 1] at every step (diffusers' clip_sample); on by default. */
  clipSample?: boolean;
  /** DDIM only: η of Song et al. 2021 Eq. 16 (0 = deterministic DDIM, 1 = DDPM-like). */
  eta?: number;
}

/** S timesteps evenly spaced over (0, tStart], descending, starting at tStart. */
export function spacedTimesteps(tStart: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > tStart) {
    throw new Error(`steps must be an integer in [1, ${tStart}] (the start step), got ${steps}`);
  }
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(Math.round((tStart * (steps - i)) / steps));
  return out;
}

abstract class BaseScheduler implements Scheduler {
  abstract readonly kind: SamplerKind;
  abstract readonly stochastic: boolean;
  timesteps: number[] = [];
  protected readonly clipSample: boolean;

  constructor(
    readonly schedule: NoiseSchedule,
    options: SchedulerOptions = {},
  ) {
    this.clipSample = options.clipSample ?? true;
    this.setTimesteps(schedule.T);
  }

  setTimesteps(steps: number, tStart = this.schedule.T): void {
    checkTimestep(this.schedule, tStart);
    this.timesteps = spacedTimesteps(tStart, steps);
  }

  previousTimestep(t: number): number {
    const i = this.timesteps.indexOf(t);
    if (i < 0) throw new Error(`timestep ${t} is not in this scheduler's sequence; call setTimesteps first`);
    return this.timesteps[i + 1] ?? 0;
  }

  addNoise(x0: tf.Tensor4D, noise: tf.Tensor4D, t: number | ArrayLike<number>): tf.Tensor4D {
    return qSample(this.schedule, x0, noise, t);
  }

  /** x̂_0 = (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t (Ho et al. Eq. 15, Song et al. Eq. 12), optionally clipped. */
  protected predictOriginal(epsilon: tf.Tensor4D, t: number, xt: tf.Tensor4D): tf.Tensor4D {
    const ab = this.schedule.alphaBars[t]!;
    const x0 = xt.sub(epsilon.mul(Math.sqrt(1 - ab))).div(Math.sqrt(ab)) as tf.Tensor4D;
    return this.clipSample ? (x0.clipByValue(-1, 1) as tf.Tensor4D) : x0;
  }

  abstract step(epsilon: tf.Tensor4D, t: number, xt: tf.Tensor4D, generator?: NoiseGenerator): StepOutput;
}

/**
 * DDPM ancestral sampling (Ho et al. 2020 Alg. 2). With x̂_0 from Eq. 15, the posterior q(x_p | x_t, x̂_0)
 * of Eq. 6–7 has mean μ̃ = √ᾱ_p β'/(1 − ᾱ_t) · x̂_0 + √α' (1 − ᾱ_p)/(1 − ᾱ_t) · x_t and variance
 * β̃ = (1 − ᾱ_p)/(1 − ᾱ_t) · β' (the "fixed small" σ_t² of §3.2), where α' = ᾱ_t/ᾱ_p, β' = 1 − α'.
 * Unclipped and unspaced this is exactly Eq. 11.
 */
export class DDPMScheduler extends BaseScheduler {
  readonly kind = "ddpm" as const;
  readonly stochastic = true;

  step(epsilon: tf.Tensor4D, t: number, xt: tf.Tensor4D, generator?: NoiseGenerator): StepOutput {
    const p = this.previousTimestep(t);
    const abT = this.schedule.alphaBars[t]!;
    const abP = this.schedule.alphaBars[p]!;
    const alpha = abT / abP;
    const beta = 1 - alpha;
    const predOriginal = tf.tidy(() => this.predictOriginal(epsilon, t, xt));
    const prevSample = tf.tidy(() => {
      const mean = predOriginal
        .mul((Math.sqrt(abP) * beta) / (1 - abT))
        .add(xt.mul((Math.sqrt(alpha) * (1 - abP)) / (1 - abT)));
      if (p === 0) return mean as tf.Tensor4D;
      if (!generator) throw new Error("DDPM step needs a noise generator");
      const sigma = Math.sqrt(((1 - abP) / (1 - abT)) * beta);
      return mean.add(generator.draw(xt.shape.slice(1)).mul(sigma)) as tf.Tensor4D;
    });
    return { prevSample, predOriginal };
  }
}

/**
 * DDIM (Song et al. 2021 Eq. 12):
 *   x_p = √ᾱ_p · x̂_0 + √(1 − ᾱ_p − σ²) · ε_θ + σ · z,
 *   σ = η · √((1 − ᾱ_p)/(1 − ᾱ_t)) · √(1 − ᾱ_t/ᾱ_p)   (Eq. 16).
 * At η = 0 no noise is drawn: the same x_t₀ always gives the same x̂_0.
 */
export class DDIMScheduler extends BaseScheduler {
  readonly kind = "ddim" as const;
  readonly eta: number;

  constructor(schedule: NoiseSchedule, options: SchedulerOptions = {}) {
    super(schedule, options);
    this.eta = options.eta ?? 0;
    if (!(this.eta >= 0 && this.eta <= 1)) throw new Error(`DDIM eta must be in [0, 1], got ${this.eta}`);
  }

  get stochastic(): boolean {
    return this.eta > 0;
  }

  step(epsilon: tf.Tensor4D, t: number, xt: tf.Tensor4D, generator?: NoiseGenerator): StepOutput {
    const p = this.previousTimestep(t);
    const abT = this.schedule.alphaBars[t]!;
    const abP = this.schedule.alphaBars[p]!;
    const sigma = this.eta * Math.sqrt((1 - abP) / (1 - abT)) * Math.sqrt(1 - abT / abP);
    const predOriginal = tf.tidy(() => this.predictOriginal(epsilon, t, xt));
    const prevSample = tf.tidy(() => {
      // With clipping, the ε that points to x_t is re-derived from the clipped x̂_0 (Eq. 4 solved for ε, as
      // in guided-diffusion's DDIM). Then x_p mixes a bounded x̂_0 with x_t scaled by √((1 − ᾱ_p)/(1 − ᾱ_t)) < 1,
      // so an ε̂ that is wildly off (an input far from the training data) cannot make x grow step after step.
      const eps = this.clipSample
        ? xt.sub(predOriginal.mul(Math.sqrt(abT))).div(Math.sqrt(1 - abT))
        : epsilon;
      const direction = eps.mul(Math.sqrt(Math.max(0, 1 - abP - sigma * sigma)));
      const mean = predOriginal.mul(Math.sqrt(abP)).add(direction);
      if (sigma === 0 || p === 0) return mean as tf.Tensor4D;
      if (!generator) throw new Error("DDIM step with eta > 0 needs a noise generator");
      return mean.add(generator.draw(xt.shape.slice(1)).mul(sigma)) as tf.Tensor4D;
    });
    return { prevSample, predOriginal };
  }
}

export function makeScheduler(
  kind: SamplerKind,
  schedule: NoiseSchedule,
  options: SchedulerOptions = {},
): Scheduler {
  if (kind === "ddpm") return new DDPMScheduler(schedule, options);
  if (kind === "ddim") return new DDIMScheduler(schedule, options);
  throw new Error(`unknown sampler "${String(kind)}" (ddpm | ddim)`);
}
