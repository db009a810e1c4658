/** Backend selection (CRACKDIFF_BACKEND) and a real training step on the backends this machine has. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { fromEnv, initBackend } from "../../workers/ml/backend";
import { nativeStatus } from "../../workers/ml/kernels/native";
import { webgpuAdapter } from "../../workers/ml/webgpu";

/** Loss of a small conv net before and after a few Adam steps on fixed data (same seeds on any backend). */
async function trainConvNet(steps: number): Promise<{ before: number; after: number }> {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [16, 16, 1],
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.conv2d({
        filters: 8,
        kernelSize: 3,
        padding: "same",
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
      }),
      tf.layers.upSampling2d({ size: [2, 2] }),
      tf.layers.conv2d({
        filters: 1,
        kernelSize: 3,
        padding: "same",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
    ],
  });
  const optimizer = tf.train.adam(1e-2);
  const x = tf.randomUniform([4, 16, 16, 1], 0, 1, "float32", 4);
  const target = tf.tidy(() => x.mul(-1).add(1)); // learn to invert the image
  const loss = () => tf.losses.meanSquaredError(target, model.apply(x) as tf.Tensor) as tf.Scalar;
  try {
    const before = tf.tidy(() => loss().dataSync()[0]!);
    for (let i = 0; i < steps; i++) optimizer.minimize(loss, true)?.dispose();
    const after = tf.tidy(() => loss().dataSync()[0]!);
    return { before, after };
  } finally {
    tf.dispose([x, target]);
    optimizer.dispose();
    model.dispose();
  }
}

test("wasm: initBackend selects it, is idempotent, and a conv net trains on it", async () => {
  const info = await initBackend("wasm");
  assert.equal(info.backend, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.match(info.device, /^wasm/);
  assert.equal(await initBackend("wasm"), info, "a second call returns the same info");
  const concurrent = await Promise.all([initBackend("cpu"), initBackend("wasm"), initBackend("wasm")]);
  assert.equal(concurrent[0].backend, "cpu");
  assert.equal(concurrent[2], concurrent[1], "concurrent calls run in order and agree");
  assert.equal(tf.getBackend(), "wasm");

  const { before, after } = await trainConvNet(20);
  assert.ok(Number.isFinite(after), `loss is ${after}`);
  assert.ok(after < before * 0.8, `loss should fall: ${before} → ${after}`);
});

test("cpu: initBackend selects the pure-JS backend and a conv net trains on it", async () => {
  const info = await initBackend("cpu");
  assert.equal(info.backend, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  const { before, after } = await trainConvNet(20);
  assert.ok(after < before * 0.8, `loss should fall: ${before} → ${after}`);
});

test("auto prefers the native kernels to libtensorflow on the CPU", async (t) => {
  const gpu = await webgpuAdapter().catch(() => null);
  if (gpu && !gpu.software) {
    t.skip(`a GPU adapter is here (${gpu.device}): auto takes it, see webgpu.test.ts`);
    return;
  }
  const require = createRequire(__filename);
  const hasNative = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"].some((name) => {
    try {
      require.resolve(name);
      return true;
    } catch {
      return false;
    }
  });
  // No GPU here: a GPU would win before either.
  const info = await initBackend("auto");
  assert.equal(info.backend, hasNative && !nativeStatus().active ? "tensorflow" : "wasm");
  assert.equal(tf.getBackend(), info.backend);
});

test("tensorflow without @tensorflow/tfjs-node(-gpu) fails with a clear message", async (t) => {
  const require = createRequire(__filename);
  try {
    require.resolve("@tensorflow/tfjs-node");
    t.skip("@tensorflow/tfjs-node is installed here");
    return;
  } catch {
    // not installed: the case under test
  }
  await assert.rejects(initBackend("tensorflow"), /npm install @tensorflow\/tfjs-node/);
});

test("CRACKDIFF_BACKEND: read from the environment; an invalid value names the options", async () => {
  assert.equal(fromEnv({}), "auto");
  assert.equal(fromEnv({ CRACKDIFF_BACKEND: "" }), "auto");
  assert.equal(fromEnv({ CRACKDIFF_BACKEND: "WASM" }), "wasm");
  assert.throws(() => fromEnv({ CRACKDIFF_BACKEND: "gpu" }), /one of auto, tensorflow, webgpu, wasm, cpu; got "gpu"/);

  const saved = process.env.CRACKDIFF_BACKEND;
  try {
    process.env.CRACKDIFF_BACKEND = "cuda";
    await assert.rejects(initBackend(), /CRACKDIFF_BACKEND must be one of auto, tensorflow, webgpu, wasm, cpu; got "cuda"/);
    process.env.CRACKDIFF_BACKEND = "cpu";
    assert.equal((await initBackend()).backend, "cpu");
  } finally {
    if (saved === undefined) delete process.env.CRACKDIFF_BACKEND;
    else process.env.CRACKDIFF_BACKEND = saved;
  }
});
