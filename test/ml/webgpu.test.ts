/**
 * The WebGPU backend (Dawn through the optional `webgpu` package) where this machine has an adapter; a
 * software one counts (Mesa's lavapipe from Mesa 23 on: VK_DRIVER_FILES=…/lvp_icd.json). Elsewhere the
 * adapter tests skip, saying why; the adapter naming is checked everywhere.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { makeSchedule } from "../../workers/ml/diffusion/schedule";
import { defaultTrainOptions, trainDdpm } from "../../workers/ml/train";
import { UNet } from "../../workers/ml/unet";
import { describeAdapter, gpuDevicePresent, isSoftwareAdapter, webgpuAdapter } from "../../workers/ml/webgpu";

const probe = webgpuAdapter().then(
  (adapter) => ({ adapter, reason: "" }),
  (err: Error) => ({ adapter: null, reason: err.message }),
);

/** The adapter, or null after marking the test skipped with the reason there is none. */
async function adapterOrSkip(t: TestContext) {
  const { adapter, reason } = await probe;
  if (!adapter) t.skip(reason);
  return adapter;
}

test("adapters are named for run records, and software ones are told apart", () => {
  const h200 = { info: { vendor: "nvidia", architecture: "hopper", device: "", description: "NVIDIA H200", isFallbackAdapter: false } };
  assert.equal(describeAdapter(h200, "linux"), "webgpu (Dawn, Vulkan), NVIDIA H200");
  assert.equal(isSoftwareAdapter(h200), false);
  const lavapipe = {
    info: { vendor: "mesa", architecture: "software", device: "llvmpipe-llvm-15-0-6-256-bits-", description: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" },
  };
  assert.equal(isSoftwareAdapter(lavapipe), true);
  assert.equal(describeAdapter(lavapipe, "linux"), "webgpu (Dawn, Vulkan), llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) (software)");
  assert.equal(isSoftwareAdapter({ info: { description: "SwiftShader Device (Subzero)" } }), true);
  assert.equal(describeAdapter({ info: { vendor: "apple", architecture: "metal-3" } }, "darwin"), "webgpu (Dawn, Metal), apple metal-3");
});

test("auto probes WebGPU only where Linux shows a GPU device file", () => {
  const dev = mkdtempSync(path.join(os.tmpdir(), "crackdiff-dev-"));
  try {
    assert.equal(gpuDevicePresent("linux", dev), false, "no device files");
    assert.equal(gpuDevicePresent("darwin", dev), true, "other platforms: assumed");
    writeFileSync(path.join(dev, "nvidia0"), "");
    assert.equal(gpuDevicePresent("linux", dev), true, "an NVIDIA device");
    rmSync(path.join(dev, "nvidia0"));
    mkdirSync(path.join(dev, "dri"));
    writeFileSync(path.join(dev, "dri", "card0"), "");
    assert.equal(gpuDevicePresent("linux", dev), false, "a display card without a render node");
    writeFileSync(path.join(dev, "dri", "renderD128"), "");
    assert.equal(gpuDevicePresent("linux", dev), true, "a DRM render node");
  } finally {
    rmSync(dev, { recursive: true, force: true });
  }
});

test("webgpu: initBackend selects it and names the adapter", async (t) => {
  const adapter = await adapterOrSkip(t);
  if (!adapter) return;
  const info = await initBackend("webgpu");
  assert.equal(info.backend, "webgpu");
  assert.equal(tf.getBackend(), "webgpu");
  assert.equal(info.device, adapter.device);
  assert.match(info.device, /^webgpu \(Dawn/);
});

test("webgpu: AddN over more inputs than a shader can bind (gradient clipping's ~80) sums them all", async (t) => {
  if (!(await adapterOrSkip(t))) return;
  await initBackend("webgpu");
  const values = Array.from({ length: 81 }, (_, i) => Float32Array.from({ length: 5 }, (_, k) => i + k / 8));
  const sum = tf.tidy(() => tf.addN(values.map((v) => tf.tensor1d(v))));
  const expected = Array.from({ length: 5 }, (_, k) => values.reduce((s, v) => s + v[k]!, 0));
  const got = Array.from(await sum.data());
  sum.dispose();
  got.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) < 1e-3, `element ${k}: ${v} vs ${expected[k]}`));
});

/** Losses and final weights of a few teacher training steps (trainDdpm: Adam, clipping, EMA) on a backend. */
async function trainSteps(backend: "webgpu" | "wasm") {
  await initBackend(backend);
  const net = new UNet({ channels: 1, width: 8, depth: 3 }, 0);
  const images = Array.from({ length: 4 }, (_, i) =>
    Float32Array.from({ length: 16 * 16 }, (_, k) => 0.5 + 0.3 * Math.sin(k * 0.37 + i)),
  );
  try {
    const result = await trainDdpm(net, makeSchedule("linear"), images, 16, { ...defaultTrainOptions, iters: 4, batch: 2, lr: 1e-3 });
    result.ema.dispose();
    const weights = await Promise.all([...net.variables.values()].map(async (v) => (await v.data()) as Float32Array));
    return { losses: Array.from(result.losses), weights };
  } finally {
    net.dispose();
  }
}

test("webgpu: teacher training steps agree with the wasm backend", async (t) => {
  if (!(await adapterOrSkip(t))) return;
  const gpu = await trainSteps("webgpu");
  const reference = await trainSteps("wasm");
  gpu.losses.forEach((loss, i) => {
    assert.ok(Number.isFinite(loss), `step ${i + 1}: loss ${loss}`);
    assert.ok(Math.abs(loss - reference.losses[i]!) <= 1e-4 * Math.abs(reference.losses[i]!), `step ${i + 1}: ${loss} vs ${reference.losses[i]}`);
  });
  let worst = 0;
  gpu.weights.forEach((w, i) => w.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - reference.weights[i]![k]!)))));
  assert.ok(worst < 1e-4, `weights differ by up to ${worst}`);
});

test("auto takes webgpu only on a hardware adapter", async (t) => {
  const adapter = await adapterOrSkip(t);
  if (!adapter) return;
  const info = await initBackend("auto");
  if (adapter.software) assert.notEqual(info.backend, "webgpu", `auto took the software adapter ${adapter.device}`);
  else assert.ok(["webgpu", "tensorflow"].includes(info.backend), `auto took ${info.backend} beside ${adapter.device}`);
});
