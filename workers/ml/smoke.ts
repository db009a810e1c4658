/**
 * The `smoke` run kind: a tiny convolutional denoiser fit on synthetic stripes. Small enough to finish in
 * seconds on any backend, real enough to exercise everything a run does: a loss curve, a PNG, a summary.
 */
import * as tf from "@tensorflow/tfjs";
import type { RunConfig } from "./config";
import type { RunContext } from "./kinds";
import { throwIfCancelled } from "./logger";
import { encodePng } from "./image";

export async function runSmoke(config: RunConfig<"smoke">, { logger }: RunContext) {
  const { size, batchSize, steps, learningRate, seed } = config;
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 1], filters: 8, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  const optimizer = tf.train.adam(learningRate);

  // Clean target: diagonal stripes; input: the same plus Gaussian noise. The net learns to denoise.
  const batch = (step: number) =>
    tf.tidy(() => {
      const ramp = tf.range(0, size).reshape([1, size, 1, 1]).add(tf.range(0, size).reshape([1, 1, size, 1]));
      const phase = tf.randomUniform([batchSize, 1, 1, 1], 0, 2 * Math.PI, "float32", seed * 100003 + step);
      const clean = tf.sin(ramp.mul(0.6).add(phase)).mul(0.5).add(0.5);
      const noisy = clean.add(tf.randomNormal(clean.shape, 0, 0.3, "float32", seed * 100003 + step + 1));
      return { noisy, clean };
    });

  let loss = Number.NaN;
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    throwIfCancelled(logger);
    const { noisy, clean } = batch(step);
    const lossTensor = optimizer.minimize(
      () => tf.losses.meanSquaredError(clean, model.apply(noisy) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    loss = (await lossTensor.data())[0]!;
    tf.dispose([noisy, clean, lossTensor]);
    await logger.metrics(step, { "train/loss": loss });
    // Yield so heartbeats and cancel checks run between steps.
    await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - started) / 1000;

  const { noisy, clean } = batch(steps + 1);
  const denoised = tf.tidy(() => (model.apply(noisy.slice([0], [1])) as tf.Tensor).clipByValue(0, 1));
  const strip = tf.tidy(() =>
    tf.concat([noisy.slice([0], [1]).clipByValue(0, 1), denoised, clean.slice([0], [1])], 2).reshape([size, size * 3]),
  );
  const png = await encodePng((await strip.data()) as Float32Array, size * 3, size);
  await logger.media("denoise", steps, png, "noisy | denoised | clean");
  tf.dispose([noisy, clean, denoised, strip]);
  model.dispose();
  optimizer.dispose();

  logger.log(`smoke: ${steps} steps in ${seconds.toFixed(2)} s, final loss ${loss.toFixed(5)}`);
  return { final_loss: loss, steps_per_s: steps / seconds };
}
