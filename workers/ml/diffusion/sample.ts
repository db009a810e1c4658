/** The reverse-process loop: a network, a scheduler and a start x_tStart in, x̂_0 out. */
import * as tf from "@tensorflow/tfjs";
import type { NoiseGenerator } from "../random";
import type { Scheduler } from "./schedulers";

/** ε_θ(x_t, t) for a batch at one timestep t (1..T). */
export type EpsilonModel = (xt: tf.Tensor4D, t: number) => tf.Tensor4D;

export interface ReverseOptions {
  /** Noise for stochastic steps (DDPM, DDIM with η > 0). */
  generator?: NoiseGenerator;
  /** Called after each step with x_{t_prev} and that step's x̂_0 (tensors are disposed afterwards). */
  onStep?: (info: { index: number; t: number; prevSample: tf.Tensor4D; predOriginal: tf.Tensor4D }) => void;
  /** Checked between steps; a long loop stops with this error. */
  checkCancelled?: () => void;
}

/**
 * Runs the scheduler's timesteps from `xStart` (which must be x at scheduler.timesteps[0]) down to x̂_0.
 * Does not dispose `xStart`. Yields to the event loop between steps so cancellation and heartbeats run.
 */
export async function reverseProcess(
  model: EpsilonModel,
  scheduler: Scheduler,
  xStart: tf.Tensor4D,
  options: ReverseOptions = {},
): Promise<tf.Tensor4D> {
  let x = xStart;
  const steps = scheduler.timesteps;
  for (let index = 0; index < steps.length; index++) {
    options.checkCancelled?.();
    const t = steps[index]!;
    const epsilon = model(x, t);
    const { prevSample, predOriginal } = scheduler.step(epsilon, t, x, options.generator);
    options.onStep?.({ index, t, prevSample, predOriginal });
    epsilon.dispose();
    predOriginal.dispose();
    if (x !== xStart) x.dispose();
    x = prevSample;
    if (index % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
  }
  return x === xStart ? (x.clone() as tf.Tensor4D) : x;
}
