/**
 * The forward process's noise: multi-scale simplex noise (AnoDDPM) is normalised per image and channel,
 * determined by its seed, and smoother than Gaussian noise; Gaussian noise is drawn exactly as before; a
 * teacher's noise is stored in its checkpoint (files without it are Gaussian) and reaches healing; the config
 * and the CLI flags set it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { decodeCheckpoint, encodeCheckpoint, type CheckpointMeta } from "../../workers/ml/checkpoint";
import { parseRunConfig } from "../../workers/ml/config";
import { makeSchedule } from "../../workers/ml/diffusion/schedule";
import { healNoise } from "../../workers/ml/heal";
import { describeNoise, noiseSpecFrom, simplex2, simplexImage, simplexPermutation, validateNoiseSpec, type NoiseSpec } from "../../workers/ml/noise";
import { hashString, mixSeed } from "../../workers/ml/hash";
import { forwardNoise, gaussian, NoiseGenerator } from "../../workers/ml/random";
import { UNet } from "../../workers/ml/unet";
import { trainConfigFromArgs } from "../../workers/cli/train";
import { Args } from "../../workers/cli/args";

const ready = initBackend();
const SIMPLEX: NoiseSpec = { kind: "simplex", period: 16, octaves: 4, persistence: 0.6, mix: 1 };

function moments(values: ArrayLike<number>, channels = 1, channel = 0): { mean: number; variance: number } {
  let sum = 0;
  let n = 0;
  for (let i = channel; i < values.length; i += channels) (sum += values[i]!), n++;
  const mean = sum / n;
  let squares = 0;
  for (let i = channel; i < values.length; i += channels) squares += (values[i]! - mean) ** 2;
  return { mean, variance: squares / n };
}

/** Correlation of horizontally adjacent pixels of a size × size image (values of zero mean and unit variance). */
function lag1(values: ArrayLike<number>, size: number): number {
  let sum = 0;
  for (let y = 0; y < size; y++) for (let x = 0; x + 1 < size; x++) sum += values[y * size + x]! * values[y * size + x + 1]!;
  return sum / (size * (size - 1));
}

test("simplex noise: about [−1, 1], continuous, a permutation per seed", () => {
  const perm = simplexPermutation(3);
  let max = 0;
  for (let i = 0; i < 2000; i++) {
    const x = (i * 0.137) % 50;
    const y = (i * 0.291) % 50;
    const v = simplex2(perm, x, y);
    max = Math.max(max, Math.abs(v));
    assert.ok(Math.abs(v - simplex2(perm, x + 1e-4, y)) < 0.01, "continuous");
  }
  assert.ok(max > 0.5 && max <= 1.01, `range ${max}`);
  const sorted = [...perm.subarray(0, 256)].sort((a, b) => a - b);
  assert.deepEqual(sorted, Array.from({ length: 256 }, (_, i) => i), "a permutation");
  assert.deepEqual(perm.subarray(0, 256), perm.subarray(256));
  assert.notDeepEqual(simplexPermutation(4), perm);
});

test("a simplex image: zero mean and unit variance per channel, fixed by its seed, smoother than Gaussian noise", async () => {
  await ready;
  for (const options of [SIMPLEX, { period: 32, octaves: 6, persistence: 0.8, mix: 1 }, { period: 8, octaves: 1, persistence: 0.5, mix: 1 }]) {
    const image = simplexImage(48, 48, 3, 7, options);
    for (let c = 0; c < 3; c++) {
      const { mean, variance } = moments(image, 3, c);
      assert.ok(Math.abs(mean) < 1e-6, `mean ${mean}`);
      assert.ok(Math.abs(variance - 1) < 1e-5, `variance ${variance}`);
    }
    assert.deepEqual(simplexImage(48, 48, 3, 7, options), image, "same seed, same noise");
    const other = simplexImage(48, 48, 3, 8, options);
    const sameCount = image.filter((v, i) => v === other[i]).length;
    assert.ok(sameCount < 10, "another seed, other noise");
  }
  // Neighbouring pixels: strongly correlated for simplex noise, not at all for Gaussian noise.
  let simplexCorrelation = 0;
  let gaussianCorrelation = 0;
  for (let seed = 0; seed < 20; seed++) {
    simplexCorrelation += lag1(simplexImage(64, 64, 1, seed, SIMPLEX), 64) / 20;
    const g = gaussian([64, 64, 1], seed);
    gaussianCorrelation += lag1((await g.data()) as Float32Array, 64) / 20;
    g.dispose();
  }
  assert.ok(simplexCorrelation > 0.7, `simplex lag-1 correlation ${simplexCorrelation}`);
  assert.ok(Math.abs(gaussianCorrelation) < 0.05, `Gaussian lag-1 correlation ${gaussianCorrelation}`);
  // More octaves at a higher persistence add fine detail: less correlation between neighbours.
  const fine = lag1(simplexImage(64, 64, 1, 0, { period: 16, octaves: 6, persistence: 0.8, mix: 1 }), 64);
  assert.ok(fine < lag1(simplexImage(64, 64, 1, 0, SIMPLEX), 64));
});

test("gaussian() draws tf.randomNormal's values for a seed, odd sizes included; seed 0 is a seed too", async () => {
  await ready;
  for (const [shape, seed] of [[[2, 64, 64, 1], 1], [[3, 5, 7], 2654435761], [[1], 4294967295]] as [number[], number][]) {
    const ours = gaussian(shape, seed);
    const tfjs = tf.randomNormal(shape, 0, 1, "float32", seed);
    assert.deepEqual(ours.shape, shape);
    assert.deepEqual(ours.dataSync(), tfjs.dataSync(), `shape [${shape}], seed ${seed}`);
    tf.dispose([ours, tfjs]);
  }
  const [a, b] = [gaussian([9], 0), gaussian([9], 0)];
  assert.deepEqual(a.dataSync(), b.dataSync());
  tf.dispose([a, b]);
});

test("forwardNoise: Gaussian exactly as gaussian(); simplex per image from the seed; a mix keeps unit variance", async () => {
  await ready;
  const shape = [3, 32, 32, 1];
  const g = forwardNoise({ kind: "gaussian" }, shape, 5);
  const reference = gaussian(shape, 5);
  assert.deepEqual(await g.data(), await reference.data());
  const s = forwardNoise(SIMPLEX, shape, 5);
  const values = (await s.data()) as Float32Array;
  for (let b = 0; b < 3; b++) {
    const image = values.subarray(b * 1024, (b + 1) * 1024);
    const { mean, variance } = moments(image);
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(variance - 1) < 1e-4);
    assert.deepEqual(image, simplexImage(32, 32, 1, mixSeed(5, 0x51e, b), SIMPLEX));
  }
  assert.deepEqual(await forwardNoise(SIMPLEX, shape, 5).data(), values, "the same seed draws the same noise");
  assert.notDeepEqual(await forwardNoise(SIMPLEX, shape, 6).data(), values);
  // One image alone: [H, W, C].
  assert.deepEqual(await forwardNoise(SIMPLEX, [32, 32, 1], 9).data(), simplexImage(32, 32, 1, mixSeed(9, 0x51e, 0), SIMPLEX));

  const mixed = forwardNoise({ ...SIMPLEX, mix: 0.5 }, [8, 32, 32, 1], 1);
  const m = moments((await mixed.data()) as Float32Array);
  assert.ok(Math.abs(m.variance - 1) < 0.05, `mixed variance ${m.variance}`);
  let correlation = 0;
  const mixedValues = (await mixed.data()) as Float32Array;
  for (let b = 0; b < 8; b++) correlation += lag1(mixedValues.subarray(b * 1024, (b + 1) * 1024), 32) / 8;
  // Half the variance from noise with lag-1 correlation ≈ 0.85, half uncorrelated.
  assert.ok(correlation > 0.3 && correlation < 0.6, `mixed lag-1 correlation ${correlation}`);
  tf.dispose([g, reference, s, mixed]);
});

test("healing noise follows the teacher's: each row's stream from (seed, k, id), batch-independent", async () => {
  await ready;
  const ids = ["a", "b"];
  const draw = healNoise(3, 1, ids, SIMPLEX).draw([16, 16, 1]);
  const alone = healNoise(3, 1, ["b"], SIMPLEX).draw([16, 16, 1]);
  const rows = (await draw.data()) as Float32Array;
  assert.deepEqual(rows.subarray(256), await alone.data(), "row b does not depend on row a");
  const expected = forwardNoise(SIMPLEX, [16, 16, 1], mixSeed(mixSeed(3, 1, hashString("b")), 0));
  assert.deepEqual(rows.subarray(256), await expected.data());
  // Without a spec: Gaussian, as before the option existed.
  const plain = new NoiseGenerator([mixSeed(3, 1, hashString("a"))]).draw([16, 16, 1]);
  assert.deepEqual(await plain.data(), await gaussian([16, 16, 1], mixSeed(mixSeed(3, 1, hashString("a")), 0)).data());
  tf.dispose([draw, alone, expected, plain]);
});

test("a teacher's noise is stored in its checkpoint; a checkpoint without it is Gaussian", async () => {
  await ready;
  const net = new UNet({ channels: 1, width: 4, depth: 2 }, 1);
  const meta: CheckpointMeta = { method: "ddpm", unet: net.config, schedule: { kind: "linear", T: 100, noise: SIMPLEX }, size: 16, channels: 1, training: {} };
  const loaded = decodeCheckpoint(await encodeCheckpoint(meta, net.variables));
  assert.deepEqual(loaded.schedule.noise, SIMPLEX);
  assert.deepEqual(loaded.meta, meta);
  const old = decodeCheckpoint(await encodeCheckpoint({ ...meta, schedule: { kind: "linear", T: 100 } }, net.variables));
  assert.deepEqual(old.schedule.noise, { kind: "gaussian" });
  assert.throws(() => decodeCheckpoint(encodeCheckpointSync(meta, { ...SIMPLEX, octaves: 0 })), /octaves/);
  for (const m of [net, loaded.model, old.model]) m.dispose();

  function encodeCheckpointSync(m: CheckpointMeta, noise: NoiseSpec): Uint8Array {
    // A header only: parsing fails on the noise before the weights are read.
    const json = new TextEncoder().encode(JSON.stringify({ ...m, schedule: { ...m.schedule, noise }, format: "crackdiff-ddpm", version: 1, tensors: [] }));
    const bytes = new Uint8Array(8 + json.length);
    bytes.set(new TextEncoder().encode("CDCK"), 0);
    new DataView(bytes.buffer).setUint32(4, json.length, true);
    bytes.set(json, 8);
    return bytes;
  }
});

test("the noise options: Gaussian by default, simplex from the config and the CLI flags", () => {
  const plain = parseRunConfig("ddpm-train", {});
  assert.equal(plain.noise, "gaussian");
  assert.deepEqual(noiseSpecFrom(plain), { kind: "gaussian" });
  assert.deepEqual(makeSchedule("linear").noise, { kind: "gaussian" });
  const config = trainConfigFromArgs(
    new Args(["--data", "d", "--out", "m", "--noise", "simplex", "--noise-period", "32", "--noise-octaves", "6", "--noise-persistence", "0.8", "--noise-mix", "0.5"]),
  );
  const spec = noiseSpecFrom(config);
  assert.deepEqual(spec, { kind: "simplex", period: 32, octaves: 6, persistence: 0.8, mix: 0.5 });
  assert.match(describeNoise(spec), /simplex period 32, 6 octaves/);
  assert.throws(() => parseRunConfig("ddpm-train", { noise: "perlin" }), /noise/);
  assert.throws(() => parseRunConfig("ddpm-train", { noise: "simplex", noiseOctaves: 9 }), /noiseOctaves/);
  assert.throws(() => validateNoiseSpec({ ...SIMPLEX, persistence: 0 }), /persistence/);
  assert.throws(() => makeSchedule("linear", { noise: { ...SIMPLEX, period: 0 } }), /period/);
});
