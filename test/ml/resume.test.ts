/** Training interrupted and resumed from its saved state continues exactly as an uninterrupted run, with either noise. */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { makeSchedule } from "../../workers/ml/diffusion/schedule";
import { defaultTrainOptions, trainDdpm } from "../../workers/ml/train";
import { decodeTrainState, disposeTrainState, encodeTrainState } from "../../workers/ml/train-state";
import { UNet } from "../../workers/ml/unet";
import { seededRandom } from "../../workers/ml/hash";
import { GAUSSIAN_NOISE } from "../../workers/ml/noise";

class Interrupted extends Error {}

for (const noise of [GAUSSIAN_NOISE, { kind: "simplex", period: 8, octaves: 3, persistence: 0.6, mix: 0.5 } as const]) {
  test(`a resumed training run continues with the same losses and weights (${noise.kind} noise)`, async () => {
    await initBackend();
    const size = 16;
    const random = seededRandom(4);
    const images = Array.from({ length: 6 }, () => Float32Array.from({ length: size * size }, () => random()));
    const schedule = makeSchedule("linear", { T: 100, noise });
    const options = { ...defaultTrainOptions, iters: 12, batch: 3, warmup: 3, seed: 11 };
    const fresh = () => new UNet({ channels: 1, width: 4, depth: 2 }, 3);

    const straightModel = fresh();
    const straight = await trainDdpm(straightModel, schedule, images, size, options);

    // The same run, saving its state every step and stopped after step 7, as a worker's shutdown would.
    let saved: Uint8Array | undefined;
    const firstModel = fresh();
    await assert.rejects(
      trainDdpm(firstModel, schedule, images, size, options, {
        checkpoint: {
          due: () => true,
          save: async (state) => {
            saved = await encodeTrainState(state);
            if (state.step === 7) throw new Interrupted();
          },
        },
      }),
      Interrupted,
    );
    const state = decodeTrainState(saved!);
    assert.equal(state.step, 7);
    const resumedModel = fresh();
    const resumed = await trainDdpm(resumedModel, schedule, images, size, options, {}, state);
    disposeTrainState(state);

    // Equal up to float rounding (Adam's bias corrections are recomputed from the step count on resume).
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * (1 + Math.abs(a));
    straight.losses.forEach((loss, i) => assert.ok(close(loss, resumed.losses[i]!), `loss at step ${i + 1}: ${loss} vs ${resumed.losses[i]}`));
    for (const [name, w] of straightModel.variables) {
      const a = (await w.data()) as Float32Array;
      const b = (await resumedModel.variables.get(name)!.data()) as Float32Array;
      const c = (await straight.ema.weights.get(name)!.data()) as Float32Array;
      const d = (await resumed.ema.weights.get(name)!.data()) as Float32Array;
      for (let i = 0; i < a.length; i++) {
        assert.ok(close(a[i]!, b[i]!), `${name}[${i}]: ${a[i]} vs ${b[i]}`);
        assert.ok(close(c[i]!, d[i]!), `EMA ${name}[${i}]: ${c[i]} vs ${d[i]}`);
      }
    }
    tf.dispose([straight.ema, resumed.ema].flatMap((e) => [...e.weights.values()]));
    for (const m of [straightModel, firstModel, resumedModel]) m.dispose();
  });
}
