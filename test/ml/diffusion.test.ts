/**
 * The diffusion math: schedules, q_sample statistics, the DDPM / DDIM schedulers against the paper's
 * equations, DDIM determinism (bit for bit) and DDPM stochasticity (differs across seeds, reproducible with
 * one seed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { makeSchedule, qSample } from "../../workers/ml/diffusion/schedule";
import { DDIMScheduler, DDPMScheduler, spacedTimesteps } from "../../workers/ml/diffusion/schedulers";
import { reverseProcess, type EpsilonModel } from "../../workers/ml/diffusion/sample";
import { NoiseGenerator, gaussian } from "../../workers/ml/random";
import { healAndScore, healBatch, healNoise, makeHealScheduler, defaultHealOptions, defaultSeeds, defaultSteps, residualMap, topKMean, gaussianBlur, imageScore, lineMeans } from "../../workers/ml/heal";
import { UNet } from "../../workers/ml/unet";
import { seededRandom } from "../../workers/ml/hash";
import { nativeStatus, setNativeKernels } from "../../workers/ml/kernels/native";

const ready = initBackend();

/** A tiny UNet with every weight random (the zero-initialised ones too), so ε̂ depends on x and t. */
function randomNet(seed: number): UNet {
  const net = new UNet({ channels: 1, width: 4, depth: 2 }, seed);
  let i = 0;
  for (const v of net.variables.values()) v.assign(tf.tidy(() => gaussian(v.shape, seed * 1000 + i++).mul(0.2)));
  return net;
}

const bits = async (t: tf.Tensor) => new Uint32Array(((await t.data()) as Float32Array).slice().buffer);

test("linear and cosine schedules: ᾱ_0 = 1, ᾱ_t in (0, 1) and strictly decreasing", () => {
  for (const kind of ["linear", "cosine"] as const) {
    const s = makeSchedule(kind);
    assert.equal(s.T, 1000);
    assert.equal(s.alphaBars[0], 1);
    for (let t = 1; t <= s.T; t++) {
      assert.ok(s.alphaBars[t]! > 0 && s.alphaBars[t]! < 1, `${kind} ᾱ_${t} = ${s.alphaBars[t]}`);
      assert.ok(s.alphaBars[t]! < s.alphaBars[t - 1]!, `${kind} ᾱ not decreasing at ${t}`);
      assert.ok(Math.abs(s.alphaBars[t]! - s.alphaBars[t - 1]! * (1 - s.betas[t]!)) < 1e-12);
    }
  }
  const linear = makeSchedule("linear");
  assert.ok(Math.abs(linear.betas[1]! - 1e-4) < 1e-12);
  assert.ok(Math.abs(linear.betas[1000]! - 0.02) < 1e-12);
  // Known value: ᾱ_T of the DDPM linear schedule is ≈ 4.0e-5.
  assert.ok(linear.alphaBars[1000]! > 3e-5 && linear.alphaBars[1000]! < 5e-5, `ᾱ_T = ${linear.alphaBars[1000]}`);
  // Cosine (Nichol & Dhariwal Eq. 17) keeps more signal at mid t than linear.
  const cosine = makeSchedule("cosine");
  assert.ok(cosine.alphaBars[500]! > linear.alphaBars[500]!);
  assert.throws(() => makeSchedule("quadratic" as "linear"), /unknown kind/);
  assert.throws(() => makeSchedule("linear", { T: 1 }), /T must be/);
});

test("q_sample has mean √ᾱ_t x_0 and variance 1 − ᾱ_t (Ho et al. Eq. 4)", async () => {
  await ready;
  const s = makeSchedule("linear");
  const x0 = tf.fill([4, 64, 64, 1], 0.6) as tf.Tensor4D;
  const noise = gaussian(x0.shape, 7) as tf.Tensor4D;
  for (const t of [1, 100, 500, 1000]) {
    const xt = qSample(s, x0, noise, t);
    const { mean, variance } = tf.moments(xt);
    const m = (await mean.data())[0]!;
    const v = (await variance.data())[0]!;
    const ab = s.alphaBars[t]!;
    const n = x0.size;
    // Tolerances: 5 standard errors of the sample mean and variance.
    assert.ok(Math.abs(m - Math.sqrt(ab) * 0.6) < 5 * Math.sqrt((1 - ab) / n), `t=${t}: mean ${m}`);
    assert.ok(Math.abs(v - (1 - ab)) < 5 * (1 - ab) * Math.sqrt(2 / n) + 1e-6, `t=${t}: variance ${v}`);
    tf.dispose([xt, mean, variance]);
  }
  // Per-example timesteps give each row its own ᾱ_t.
  const mixed = qSample(s, x0, noise, [1, 250, 500, 1000]);
  const rows = await Promise.all([0, 1, 2, 3].map((i) => mixed.slice([i], [1]).mean().data()));
  const single = await Promise.all([1, 250, 500, 1000].map((t, i) => qSample(s, x0, noise, t).slice([i], [1]).mean().data()));
  rows.forEach((r, i) => assert.ok(Math.abs(r[0]! - single[i]![0]!) < 1e-6));
  assert.throws(() => qSample(s, x0, noise, 1001), /timestep/);
  tf.dispose([x0, noise, mixed]);
});

test("spaced timesteps run from t₀ down, S of them", () => {
  assert.deepEqual(spacedTimesteps(250, 10), [250, 225, 200, 175, 150, 125, 100, 75, 50, 25]);
  assert.deepEqual(spacedTimesteps(5, 5), [5, 4, 3, 2, 1]);
  assert.equal(spacedTimesteps(1000, 1000).length, 1000);
  assert.throws(() => spacedTimesteps(10, 11), /steps must be/);
  const ddim = new DDIMScheduler(makeSchedule("linear"));
  ddim.setTimesteps(4, 100);
  assert.deepEqual(ddim.timesteps, [100, 75, 50, 25]);
  assert.equal(ddim.previousTimestep(25), 0);
});

test("the DDPM step is Ho et al. Eq. 11 with σ_t² = β̃_t", async () => {
  await ready;
  const s = makeSchedule("linear");
  const ddpm = new DDPMScheduler(s, { clipSample: false });
  ddpm.setTimesteps(300, 300);
  const xt = gaussian([2, 8, 8, 1], 1) as tf.Tensor4D;
  const eps = gaussian([2, 8, 8, 1], 2).mul(0.5) as tf.Tensor4D;
  const t = 120;
  const { prevSample } = ddpm.step(eps, t, xt, new NoiseGenerator([11, 12]));
  const z = new NoiseGenerator([11, 12]).draw([8, 8, 1]);
  const [a, ab, abPrev, b] = [s.alphas[t]!, s.alphaBars[t]!, s.alphaBars[t - 1]!, s.betas[t]!];
  const sigma = Math.sqrt(((1 - abPrev) / (1 - ab)) * b);
  const expected = xt.sub(eps.mul(b / Math.sqrt(1 - ab))).div(Math.sqrt(a)).add(z.mul(sigma));
  const diff = (await tf.abs(prevSample.sub(expected)).max().data())[0]!;
  assert.ok(diff < 1e-5, `max |difference| ${diff}`);
  tf.dispose([xt, eps, prevSample, z, expected]);
});

test("with the true noise as ε̂, DDIM (η = 0) and DDPM both return x_0", async () => {
  await ready;
  const s = makeSchedule("cosine");
  const x0 = tf.tidy(() => gaussian([2, 8, 8, 1], 3).tanh()) as tf.Tensor4D;
  // Oracle network: the ε that produced x_t from this x_0 (Eq. 4 solved for ε).
  const oracle: EpsilonModel = (xt, t) =>
    tf.tidy(() => xt.sub(x0.mul(Math.sqrt(s.alphaBars[t]!))).div(Math.sqrt(1 - s.alphaBars[t]!)));
  for (const scheduler of [new DDIMScheduler(s), new DDPMScheduler(s)]) {
    scheduler.setTimesteps(10, 400);
    const start = qSample(s, x0, gaussian(x0.shape, 4) as tf.Tensor4D, 400);
    const out = await reverseProcess(oracle, scheduler, start, { generator: new NoiseGenerator([1, 2]) });
    const diff = (await tf.abs(out.sub(x0)).max().data())[0]!;
    assert.ok(diff < 1e-4, `${scheduler.kind}: max |x̂_0 − x_0| = ${diff}`);
    tf.dispose([start, out]);
  }
  x0.dispose();
});

test("clipped DDIM stays bounded when ε̂ is far off (an input unlike the training data)", async () => {
  await ready;
  const s = makeSchedule("linear");
  // ε̂ = 5·x_t: the kind of gain a normalisation-free net can show far from its data. Without re-deriving ε
  // from the clipped x̂_0, x_t grows geometrically over 50 small steps (measured: |x| ≈ 1e10).
  const explosive: EpsilonModel = (x) => x.mul(5);
  const ddim = new DDIMScheduler(s);
  ddim.setTimesteps(50, 250);
  const start = qSample(s, tf.fill([1, 8, 8, 1], 0.9) as tf.Tensor4D, gaussian([1, 8, 8, 1], 6) as tf.Tensor4D, 250);
  const startMax = (await start.abs().max().data())[0]!;
  let largest = 0;
  const out = await reverseProcess(explosive, ddim, start, {
    onStep: ({ prevSample }) => void (largest = Math.max(largest, prevSample.abs().max().dataSync()[0]!)),
  });
  assert.ok(largest <= 2 * Math.max(1, startMax), `|x_t| reached ${largest} (start ${startMax})`);
  tf.dispose([start, out]);
});

test("DDIM at η = 0 is deterministic: the same x_t₀ gives the same x̂_0, bit for bit", async () => {
  await ready;
  const net = randomNet(1);
  const s = makeSchedule("linear");
  const model: EpsilonModel = (x, t) => net.apply(x, t);
  const start = gaussian([3, 16, 16, 1], 5) as tf.Tensor4D;
  const run = async (noiseSeed: number) => {
    const ddim = new DDIMScheduler(s, { eta: 0 });
    ddim.setTimesteps(5, 250);
    // A different generator each time: at η = 0 it must not be used.
    const out = await reverseProcess(model, ddim, start, { generator: new NoiseGenerator([noiseSeed, noiseSeed + 1, noiseSeed + 2]) });
    const b = await bits(out);
    out.dispose();
    return b;
  };
  const first = await run(1);
  const second = await run(99);
  assert.deepEqual(second, first);
  // And the network matters: a different net heals differently.
  const other = randomNet(2);
  const ddim = new DDIMScheduler(s);
  ddim.setTimesteps(5, 250);
  const otherOut = await reverseProcess((x, t) => other.apply(x, t), ddim, start);
  assert.notDeepEqual(await bits(otherOut), first);
  // η > 0 draws noise, so it is no longer deterministic across generators.
  const noisy = new DDIMScheduler(s, { eta: 1 });
  noisy.setTimesteps(5, 250);
  const n1 = await reverseProcess(model, noisy, start, { generator: new NoiseGenerator([1, 2, 3]) });
  const n2 = await reverseProcess(model, noisy, start, { generator: new NoiseGenerator([4, 5, 6]) });
  assert.notDeepEqual(await bits(n1), await bits(n2));
  tf.dispose([start, otherOut, n1, n2]);
  net.dispose();
  other.dispose();
});

test("DDPM healing differs across seeds and is reproducible with the same seed; DDIM heal scores are batch-independent", async () => {
  await ready;
  const net = randomNet(3);
  const s = makeSchedule("linear");
  const model: EpsilonModel = (x, t) => net.apply(x, t);
  const images = [0, 1, 2].map((i) => ({ id: `img-${i}`, image: Float32Array.from({ length: 256 }, (_, k) => ((k * (i + 3)) % 17) / 17) }));
  const heal = (sampler: "ddpm" | "ddim", seed: number, batchSize = 8) =>
    healAndScore(model, s, images, 16, 1, { ...defaultHealOptions, sampler, steps: sampler === "ddpm" ? 20 : 5, t0: 20, seeds: 1, seed, batchSize });
  const tensorsBefore = tf.memory().numTensors;
  const a = await heal("ddpm", 1);
  assert.equal(tf.memory().numTensors, tensorsBefore, "healing leaked tensors");
  const b = await heal("ddpm", 1);
  const c = await heal("ddpm", 2);
  a.forEach((r, i) => assert.deepEqual(r.heatmap, b[i]!.heatmap));
  a.forEach((r, i) => assert.notDeepEqual(r.heatmap, c[i]!.heatmap));
  // Per-image noise streams: healing one at a time gives what healing the batch gives (up to float
  // rounding, which a backend may do differently for another batch size).
  const batched = await heal("ddim", 4, 8);
  const single = await heal("ddim", 4, 1);
  batched.forEach((r, i) => assert.ok(Math.abs(r.score - single[i]!.score) < 1e-5 * Math.max(1, r.score)));
  net.dispose();
});

test("top-k pooling and heatmap smoothing", async () => {
  await ready;
  const values = Float32Array.from({ length: 100 }, (_, i) => i);
  assert.equal(topKMean(values, 1), 99);
  assert.equal(topKMean(values, 5), (95 + 96 + 97 + 98 + 99) / 5);
  assert.equal(topKMean(values, 100), 49.5);
  assert.equal(topKMean(values, 0.01), 99); // at least one pixel
  // Smoothing keeps the total (reflected borders, normalised kernel) and spreads a spike.
  const spike = tf.buffer([1, 9, 9, 1]);
  spike.set(1, 0, 4, 4, 0);
  const blurred = gaussianBlur(spike.toTensor() as tf.Tensor4D, 1);
  const data = (await blurred.data()) as Float32Array;
  assert.ok(Math.abs(data.reduce((x, y) => x + y, 0) - 1) < 1e-5);
  assert.ok(data[4 * 9 + 4]! < 0.2 && data[4 * 9 + 4]! > data[4 * 9 + 5]!);
  blurred.dispose();
});

test("the image score favours lines over blobs of the same mass and discounts a tile-wide residual", () => {
  const size = 32;
  const map = (fill: (x: number, y: number) => number) => Float32Array.from({ length: size * size }, (_, i) => fill(i % size, Math.floor(i / size)));
  const line = map((x, y) => (y === 16 && x >= 8 && x < 24 ? 1 : 0)); // 16 pixels in a row
  const blob = map((x, y) => (x >= 14 && x < 18 && y >= 14 && y < 18 ? 1 : 0)); // 16 pixels in a square
  // A 13-pixel segment fits inside the line (mean 1) but covers only a few of the blob's pixels.
  assert.equal(lineMeans(line, 13)[16 * size + 16], 1);
  assert.ok(Math.max(...lineMeans(blob, 13)) < 0.5);
  const scoring = { topkPercent: 1, lineLength: 13, background: 0 };
  assert.ok(imageScore(line, scoring) > 2 * imageScore(blob, scoring));
  // Single pixels (line 1) cannot tell them apart.
  const pixels = { topkPercent: 1, lineLength: 1, background: 0 };
  assert.equal(imageScore(line, pixels), imageScore(blob, pixels));
  assert.equal(imageScore(line, pixels), topKMean(line, 1));
  // The background term subtracts a multiple of the mean: adding 0.5 everywhere moves the pooled value by
  // 0.5 and the score by 0.5 − 1.5 · 0.5.
  const raised = line.map((v) => v + 0.5);
  const withBackground = { topkPercent: 1, lineLength: 13, background: 1.5 };
  const expected = imageScore(line, withBackground) + 0.5 - 1.5 * 0.5;
  assert.ok(Math.abs(imageScore(raised, withBackground) - expected) < 1e-6);
  assert.throws(() => lineMeans(new Float32Array(10), 3), /square/);
});

test("segment means equal their definition at every pixel, the border included", () => {
  // The definition, pixel by pixel: the mean over the segment's pixels inside the map, best of 8 directions.
  const reference = (map: Float32Array, size: number, length: number) => {
    const half = (length - 1) / 2;
    return Float32Array.from({ length: map.length }, (_, p) => {
      const [x, y] = [p % size, Math.floor(p / size)];
      let best = 0;
      for (let d = 0; d < 8; d++) {
        let [sum, n] = [0, 0];
        for (let i = 0; i < length; i++) {
          const xx = x + Math.round((i - half) * Math.cos((d * Math.PI) / 8));
          const yy = y + Math.round((i - half) * Math.sin((d * Math.PI) / 8));
          if (xx < 0 || yy < 0 || xx >= size || yy >= size) continue;
          sum += map[yy * size + xx]!;
          n++;
        }
        best = Math.max(best, sum / n);
      }
      return best;
    });
  };
  const random = seededRandom(5);
  const native = nativeStatus().active;
  for (const [size, length] of [[64, 13], [16, 13], [9, 4], [5, 13], [8, 1]] as const) {
    const map = Float32Array.from({ length: size * size }, () => random());
    const expected = reference(map, size, length);
    assert.deepEqual(lineMeans(map, length), expected, `${size}×${size}, length ${length}`);
    if (!native) continue;
    const was = setNativeKernels(false); // and the JavaScript version behind the native one
    try {
      assert.deepEqual(lineMeans(map, length), expected, `${size}×${size}, length ${length}, without native kernels`);
    } finally {
      setNativeKernels(was);
    }
  }
});

test("the dark residual counts only pixels darker than their healing; steps and seeds default by sampler", async () => {
  await ready;
  // y in [−1, 1]: one pixel darker than the healing, one brighter, one equal.
  const y = tf.tensor4d([-1, 1, 0], [1, 1, 3, 1]);
  const healed = tf.tensor4d([0, 0, 0], [1, 1, 3, 1]);
  const dark = residualMap(y, healed, "dark");
  const abs = residualMap(y, healed, "abs");
  assert.deepEqual(Array.from(await dark.data()), [0.5, 0, 0]);
  assert.deepEqual(Array.from(await abs.data()), [0.5, 0.5, 0]);
  tf.dispose([y, healed, dark, abs]);
  assert.equal(defaultSteps("ddim", 50), 1);
  assert.equal(defaultSteps("ddpm", 50), 50);
  assert.equal(defaultSeeds(1), defaultHealOptions.seeds);
  assert.equal(defaultSeeds(10), 1);
});

test("several seeds: the heatmap is the residual of the heals' mean, not the mean of their residuals", async () => {
  await ready;
  const net = randomNet(5);
  const s = makeSchedule("linear");
  const model: EpsilonModel = (x, t) => net.apply(x, t);
  const images = [0, 1].map((i) => ({ id: `img-${i}`, image: Float32Array.from({ length: 256 }, (_, k) => ((k * (i + 5)) % 13) / 13) }));
  const options = { ...defaultHealOptions, t0: 200, seeds: 3, seed: 7, smoothSigma: 0, batchSize: 2 };
  const [result] = await healAndScore(model, s, images, 16, 1, options);
  const scheduler = makeHealScheduler(s, options);
  const y = tf.tensor4d(images.flatMap((i) => Array.from(i.image, (v) => 2 * v - 1)), [2, 16, 16, 1]);
  const heals: tf.Tensor4D[] = [];
  for (let k = 0; k < options.seeds; k++) heals.push((await healBatch(model, scheduler, y, healNoise(options.seed, k, images.map((i) => i.id)))).healed);
  const ofMean = tf.tidy(() => residualMap(y, tf.addN(heals).div(options.seeds) as tf.Tensor4D, "dark").slice([0], [1]));
  const meanOf = tf.tidy(() => tf.addN(heals.map((h) => residualMap(y, h, "dark"))).div(options.seeds).slice([0], [1]));
  const expected = (await ofMean.data()) as Float32Array;
  result!.heatmap.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5, `pixel ${i}: ${v} vs ${expected[i]}`));
  // The two rules differ wherever the heals disagree in sign, so this test tells them apart.
  assert.ok(Math.abs(tf.sum(tf.sub(meanOf, ofMean)).arraySync() as number) > 1e-3);
  tf.dispose([y, ofMean, meanOf, ...heals]);
  net.dispose();
});
