/**
 * The kernels of workers/ml/kernels. The conv gradients against the pure-JS cpu backend (same inputs, same
 * values and gradients; shapes, strides 1 and 2, 'same'/'valid'/explicit padding); a UNet-like training
 * loss whose every parameter gradient must agree on both (which also shows no kernel a UNet needs is
 * missing on wasm); MaxPoolGrad and ResizeNearestNeighborGrad, where tfjs's own are wrong, against a plain
 * reference and the adjoint identity; SplitV and Identity.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { adam } from "../../workers/ml/kernels/adam";
import { convBlock, type ConvBlockOptions } from "../../workers/ml/kernels/conv_block";
import { emaUpdate, sumOfSquares } from "../../workers/ml/kernels/training_ops";
import { upsampleConcat } from "../../workers/ml/kernels/upsample_concat";
import { nativeStatus, setNativeKernels } from "../../workers/ml/kernels/native";
import { assertClose, values } from "../helpers/arrays";

// Without the addon (no C++ compiler at install) the native cases are skipped and say why.
const nativeSkip = nativeStatus().active ? false : `native kernels unavailable: ${nativeStatus().reason}`;

type Padding = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs f on the given backend and returns its outputs as plain arrays (tensors freed). */
async function on(backend: "cpu" | "wasm", f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend);
  const outs = tf.tidy(f);
  const data = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return data;
}

/** conv2d output and the gradients of Σ conv2d(x, W)·R with respect to x and W. */
function convWithGrads(xShape: number[], wShape: number[], stride: number, pad: Padding) {
  return () => {
    const x = tf.tensor4d(values(size(xShape), 1), xShape as [number, number, number, number]);
    const w = tf.tensor4d(values(size(wShape), 2), wShape as [number, number, number, number]);
    const y = tf.conv2d(x, w, stride, pad);
    // A non-uniform upstream gradient R, so a transposed or shifted result cannot pass by symmetry.
    const r = tf.tensor(values(y.size, 3), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad).mul(r).sum(),
    )([x, w]);
    return [y, dx!, dw!];
  };
}

const cases: { x: number[]; w: number[]; stride: number; pad: Padding }[] = [
  { x: [2, 9, 9, 3], w: [3, 3, 3, 4], stride: 1, pad: "same" },
  { x: [2, 9, 9, 3], w: [3, 3, 3, 4], stride: 2, pad: "same" },
  { x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 2, pad: "same" },
  { x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 1, pad: "valid" },
  { x: [2, 8, 7, 3], w: [3, 3, 3, 4], stride: 2, pad: "valid" },
  { x: [1, 7, 6, 2], w: [2, 3, 2, 5], stride: 2, pad: "same" },
  { x: [3, 10, 10, 1], w: [1, 1, 1, 6], stride: 1, pad: "valid" },
  { x: [2, 12, 12, 8], w: [4, 4, 8, 8], stride: 2, pad: "same" },
  { x: [4, 16, 16, 16], w: [3, 3, 16, 32], stride: 1, pad: "same" },
  { x: [2, 8, 8, 2], w: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [4, 1], [0, 2], [0, 0]] },
  { x: [2, 8, 8, 2], w: [3, 3, 2, 3], stride: 2, pad: [[0, 0], [0, 5], [3, 0], [0, 0]] },
  // Shapes the native kernels take different paths for: one or three input channels (zero-padded rows, no
  // im2col), one or two output channels (dot products; runs of windows along a row for the filter gradient,
  // strided too), and a channel count that leaves the last 16-wide panel partly empty.
  { x: [2, 10, 10, 1], w: [3, 3, 1, 20], stride: 1, pad: "same" },
  { x: [2, 9, 11, 3], w: [3, 3, 3, 8], stride: 2, pad: "same" },
  { x: [2, 12, 10, 3], w: [3, 3, 3, 16], stride: 1, pad: "valid" },
  { x: [2, 10, 10, 20], w: [3, 3, 20, 1], stride: 1, pad: "same" },
  { x: [3, 11, 11, 20], w: [3, 3, 20, 17], stride: 2, pad: "same" },
  { x: [2, 20, 22, 8], w: [3, 3, 8, 2], stride: 2, pad: "same" },
  // A 1×1 convolution whose filter gradient reads x in place, 16 output channels (dy read in place too).
  { x: [2, 5, 7, 24], w: [1, 1, 24, 16], stride: 1, pad: "valid" },
  // … and one of 16 channels (dW's rows 8 at a time with AVX-512 code), dy copied into two panels.
  { x: [2, 5, 7, 16], w: [1, 1, 16, 24], stride: 1, pad: "valid" },
  // 3×3 stride-1 convolutions over channel counts that are multiples of 8 run Winograd's F(2×2, 3×3), or
  // F(4×4, 3×3) on images of at least 32×32 with few channels (forward and input gradient where the output
  // has more than 8×8 pixels; the filter gradient when the output channels are multiples of 8 too), its
  // transforms 16 channels at a time where the channels allow and 8 otherwise: odd sizes that leave the last
  // tiles partly outside, 'valid' and explicit padding, a 16-wide panel partly empty, and a batch whose tiles
  // straddle images within one block.
  { x: [2, 7, 9, 8], w: [3, 3, 8, 16], stride: 1, pad: "same" },
  { x: [3, 6, 5, 24], w: [3, 3, 24, 24], stride: 1, pad: "valid" },
  { x: [2, 8, 8, 8], w: [3, 3, 8, 8], stride: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { x: [2, 9, 9, 16], w: [3, 3, 16, 20], stride: 1, pad: "same" },
  { x: [5, 3, 3, 16], w: [3, 3, 16, 32], stride: 1, pad: "same" },
  { x: [2, 6, 7, 40], w: [3, 3, 40, 32], stride: 1, pad: "same" },
  { x: [3, 5, 5, 48], w: [3, 3, 48, 40], stride: 1, pad: "valid" },
  { x: [2, 33, 35, 8], w: [3, 3, 8, 16], stride: 1, pad: "same" },
  { x: [1, 34, 36, 16], w: [3, 3, 16, 24], stride: 1, pad: "valid" },
  { x: [2, 10, 9, 24], w: [3, 3, 24, 24], stride: 1, pad: "same" },
  { x: [2, 11, 10, 48], w: [3, 3, 48, 32], stride: 1, pad: "valid" },
  // A filter gradient of several tasks a group, and on Intel fewer groups for its large partial sums.
  { x: [8, 16, 16, 64], w: [3, 3, 64, 64], stride: 1, pad: "same" },
];

// Every case on both wasm paths: the native convolutions, and the wasm kernels they fall back to.
for (const native of [true, false]) {
  for (const c of cases) {
    const name = `conv2d x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;
    const path = native ? "native" : "wasm kernels";
    test(`${name}: wasm (${path}) values and gradients match cpu`, { skip: native && nativeSkip }, async () => {
      const expected = await on("cpu", convWithGrads(c.x, c.w, c.stride, c.pad));
      const was = setNativeKernels(native);
      try {
        const actual = await on("wasm", convWithGrads(c.x, c.w, c.stride, c.pad));
        assertClose(actual[0]!, expected[0]!, "conv2d");
        assertClose(actual[1]!, expected[1]!, "dL/dx (Conv2DBackpropInput)");
        assertClose(actual[2]!, expected[2]!, "dL/dW (Conv2DBackpropFilter)");
      } finally {
        setNativeKernels(was);
      }
    });
  }
}

// convBlock: y = ReLU?(conv(x, W) + bias) + residual in one native pass on wasm, against its composition
// from tfjs ops on cpu: values and the gradients of Σ y·R for every input, over the conv paths (Winograd
// F(2×2) and F(4×4), direct, one output channel, stride 2) with a shared or per-image bias.
const blockCases: { x: number[]; w: number[]; options: Omit<ConvBlockOptions, "residual"> & { residual?: boolean }; perImage: boolean }[] = [
  { x: [3, 9, 7, 16], w: [3, 3, 16, 20], options: { relu: true }, perImage: true },
  { x: [2, 33, 34, 8], w: [3, 3, 8, 16], options: { residual: true }, perImage: false },
  { x: [2, 10, 11, 3], w: [3, 3, 3, 17], options: { relu: true }, perImage: false },
  { x: [2, 10, 10, 12], w: [1, 1, 12, 24], options: { residual: true }, perImage: true },
  { x: [2, 12, 12, 8], w: [3, 3, 8, 1], options: { residual: true }, perImage: true },
  { x: [2, 11, 11, 8], w: [3, 3, 8, 16], options: { strides: 2, relu: true }, perImage: true },
  { x: [2, 16, 16, 1], w: [3, 3, 1, 16], options: { inputGradient: false }, perImage: false },
];
for (const c of blockCases) {
  test(`convBlock x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} ${JSON.stringify(c.options)} bias ${c.perImage ? "per image" : "shared"}: wasm matches cpu`, { skip: nativeSkip }, async () => {
    const run = () => {
      const x = tf.tensor4d(values(size(c.x), 21), c.x as [number, number, number, number]);
      const w = tf.tensor4d(values(size(c.w), 22), c.w as [number, number, number, number]);
      const n = c.w[3]!;
      const b = c.perImage ? tf.tensor2d(values(c.x[0]! * n, 23), [c.x[0]!, n]) : tf.tensor1d(values(n, 23));
      const shape = tf.conv2d(x, w, c.options.strides ?? 1, "same").shape;
      const residual = c.options.residual ? tf.tensor4d(values(size(shape), 24), shape) : undefined;
      const r = tf.tensor(values(size(shape), 25), shape);
      const f = (...inputs: tf.Tensor[]) => {
        const [xs, ws, bs, rs] = c.options.inputGradient === false ? [x, ...inputs] : inputs;
        return convBlock(xs as tf.Tensor4D, ws as tf.Tensor4D, bs!, { ...c.options, residual: rs as tf.Tensor4D | undefined });
      };
      const inputs = [...(c.options.inputGradient === false ? [] : [x]), w, b, ...(residual ? [residual] : [])];
      const y = f(...inputs);
      return [y, ...tf.grads((...xs: tf.Tensor[]) => f(...xs).mul(r).sum())(inputs)];
    };
    const expected = await on("cpu", run);
    const actual = await on("wasm", run);
    assert.equal(actual.length, expected.length);
    actual.forEach((a, i) => assertClose(a, expected[i]!, i === 0 ? "y" : `gradient ${i}`));
  });
}

test("conv2dTranspose (forward Conv2DBackpropInput, gradient Conv2DBackpropFilter) matches cpu", async () => {
  const run = () => {
    const x = tf.tensor4d(values(2 * 5 * 5 * 4, 4), [2, 5, 5, 4]);
    const w = tf.tensor4d(values(3 * 3 * 6 * 4, 5), [3, 3, 6, 4]);
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 10, 10, 6], 2, "same");
    const y = f(x, w);
    const r = tf.tensor(values(y.size, 6), y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b).mul(r).sum())([x, w]);
    return [y, dx!, dw!];
  };
  const expected = await on("cpu", run);
  const actual = await on("wasm", run);
  actual.forEach((a, i) => assertClose(a, expected[i]!, ["y", "dL/dx", "dL/dW"][i]!));
});

test("the wasm gradient kernels free every intermediate buffer", async () => {
  await initBackend("wasm");
  const x = tf.tensor4d(values(2 * 9 * 9 * 3, 7), [2, 9, 9, 3]);
  const w = tf.tensor4d(values(3 * 3 * 3 * 4, 8), [3, 3, 3, 4]);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same").sum());
  tf.dispose(g([x, w])); // first call may allocate lazily-created state
  const before = tf.engine().backend.numDataIds();
  tf.dispose(g([x, w]));
  assert.equal(tf.engine().backend.numDataIds(), before);
  tf.dispose([x, w]);
});

/** A small ε-network-like loss touching what a diffusion UNet trains with: every gradient must match. */
function unetLikeGradients(): tf.Tensor[] {
  const param = (shape: number[], seed: number) => tf.tensor(values(size(shape), seed), shape).mul(0.3);
  const p = {
    w1: param([3, 3, 1, 8], 11),
    b1: param([8], 12),
    gamma: param([8], 13).add(1),
    beta: param([8], 14),
    wt: param([8, 8], 15),
    wDown: param([4, 4, 8, 8], 16),
    w2: param([3, 3, 8, 16], 17),
    w3: param([3, 3, 24, 8], 18),
    w4: param([1, 1, 8, 1], 19),
  };
  const names = Object.keys(p) as (keyof typeof p)[];
  const x = tf.tensor4d(values(4 * 16 * 16, 20), [4, 16, 16, 1]);
  const t = tf.tensor1d([1, 10, 100, 500]);
  const silu = (v: tf.Tensor) => v.mul(tf.sigmoid(v));
  const groupNorm = (v: tf.Tensor4D, groups: number, gamma: tf.Tensor, beta: tf.Tensor) => {
    const [b, h, w, c] = v.shape;
    const g = v.reshape([b, h, w, groups, c / groups]);
    const { mean, variance } = tf.moments(g, [1, 2, 4], true);
    return g.sub(mean).div(variance.add(1e-5).sqrt()).reshape([b, h, w, c]).mul(gamma).add(beta);
  };
  const loss = (...ps: tf.Tensor[]) => {
    const q = Object.fromEntries(names.map((n, i) => [n, ps[i]!])) as Record<keyof typeof p, tf.Tensor>;
    // Sinusoidal time embedding (Ho et al. 2020, as in the Transformer) through a dense layer.
    const freqs = tf.exp(tf.range(0, 4).mul(-Math.log(10000) / 4));
    const angles = t.expandDims(1).mul(freqs.expandDims(0));
    const emb = silu(tf.matMul(tf.concat([tf.sin(angles), tf.cos(angles)], 1), q.wt)).reshape([4, 1, 1, 8]);
    const h1 = silu(groupNorm(tf.conv2d(x, q.w1 as tf.Tensor4D, 1, "same").add(q.b1), 2, q.gamma, q.beta)).add(
      emb,
    ) as tf.Tensor4D;
    const down = tf.conv2d(h1, q.wDown as tf.Tensor4D, 2, "same");
    const pooled = tf.maxPool(h1, 2, 2, "same").add(tf.avgPool(h1, 2, 2, "same")).add(down) as tf.Tensor4D;
    const h2 = tf.leakyRelu(tf.relu(tf.conv2d(pooled, q.w2 as tf.Tensor4D, 1, "same")), 0.1) as tf.Tensor4D;
    const up = tf.image.resizeNearestNeighbor(h2, [16, 16]).add(tf.image.resizeBilinear(h2, [16, 16])).mul(0.5);
    const h3 = tf.elu(tf.conv2d(tf.concat([up, h1], 3) as tf.Tensor4D, q.w3 as tf.Tensor4D, 1, "same"));
    const out = tf.conv2d(tf.tanh(h3) as tf.Tensor4D, q.w4 as tf.Tensor4D, 1, "same");
    return tf.losses.meanSquaredError(x, out).add(tf.abs(out).mean().mul(0.01));
  };
  const { value, grads } = tf.valueAndGrads(loss)(names.map((n) => p[n]));
  return [value, ...grads];
}

test("a UNet-like training loss: value and every parameter gradient match cpu on wasm", async () => {
  const expected = await on("cpu", unetLikeGradients);
  const actual = await on("wasm", unetLikeGradients);
  assert.equal(actual.length, 10);
  actual.forEach((a, i) => assertClose(a, expected[i]!, i === 0 ? "loss" : `gradient ${i}`));
});

/** First-maximum routing of dy through a max pool, written out plainly (the cpu backend's rule). */
function referenceMaxPoolGrad(x: Float32Array, [b, h, w, c]: number[], k: number, s: number, padTop: number, padLeft: number, dy: Float32Array, [oh, ow]: number[]) {
  const dx = new Float32Array(x.length);
  let o = 0;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let d = 0; d < c; d++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) {
              const r = i * s - padTop + u;
              const q = j * s - padLeft + v;
              if (r < 0 || r >= h || q < 0 || q >= w) continue;
              const idx = ((n * h + r) * w + q) * c + d;
              if (x[idx]! > best) [best, at] = [x[idx]!, idx];
            }
          dx[at] += dy[o]!;
        }
  return dx;
}

for (const backend of ["cpu", "wasm"] as const) {
  test(`${backend}: MaxPoolGrad routes dy to each window's maximum, also when the window is all negative`, async () => {
    await initBackend(backend);
    for (const { shape, k, s, pad, padTop, padLeft } of [
      { shape: [2, 8, 8, 3], k: 2, s: 2, pad: "valid" as const, padTop: 0, padLeft: 0 },
      { shape: [1, 7, 5, 2], k: 3, s: 2, pad: "same" as const, padTop: 1, padLeft: 1 },
    ]) {
      // Negative everywhere, so every window is all negative.
      const xValues = values(size(shape), 30).map((v) => -Math.abs(v) - 0.01);
      const x = tf.tensor4d(xValues, shape as [number, number, number, number]);
      const y = tf.maxPool(x, k, s, pad);
      const dy = tf.tensor(values(y.size, 31), y.shape);
      const dx = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, k, s, pad).mul(dy).sum())(x);
      const expected = referenceMaxPoolGrad(xValues, shape, k, s, padTop, padLeft, await dy.data() as Float32Array, y.shape.slice(1, 3));
      assertClose((await dx.data()) as Float32Array, expected, `maxPool k${k} s${s} ${pad}`);
      tf.dispose([x, y, dy, dx]);
    }
  });

  test(`${backend}: ResizeNearestNeighborGrad is the adjoint of the resize (batch > 1, all corner modes)`, async () => {
    await initBackend(backend);
    for (const { from, to, alignCorners, halfPixelCenters } of [
      { from: [2, 4, 4, 3], to: [8, 8], alignCorners: false, halfPixelCenters: false },
      { from: [3, 5, 3, 2], to: [8, 7], alignCorners: true, halfPixelCenters: false },
      { from: [2, 5, 3, 2], to: [8, 7], alignCorners: false, halfPixelCenters: true },
      { from: [2, 6, 6, 1], to: [3, 4], alignCorners: false, halfPixelCenters: false },
    ]) {
      // The resize is linear, y = J x, so its gradient for upstream r must satisfy ⟨Jᵀr, v⟩ = ⟨r, J v⟩.
      const resize = (a: tf.Tensor) =>
        tf.image.resizeNearestNeighbor(a as tf.Tensor4D, to as [number, number], alignCorners, halfPixelCenters);
      const shape = from as [number, number, number, number];
      const x = tf.tensor4d(values(size(from), 40), shape);
      const r = tf.tensor(values(from[0]! * to[0]! * to[1]! * from[3]!, 41), [from[0]!, to[0]!, to[1]!, from[3]!]);
      const grad = tf.grad((a: tf.Tensor) => resize(a).mul(r).sum())(x);
      for (let trial = 0; trial < 3; trial++) {
        const v = tf.tensor4d(values(size(from), 50 + trial), shape);
        const lhs = grad.mul(v).sum().dataSync()[0]!;
        const rhs = tf.tidy(() => r.mul(resize(v)).sum().dataSync()[0]!);
        assert.ok(Math.abs(lhs - rhs) <= 1e-4 * Math.max(1, Math.abs(rhs)), `${JSON.stringify({ from, to, alignCorners, halfPixelCenters })}: ⟨Jᵀr, v⟩ = ${lhs}, ⟨r, Jv⟩ = ${rhs}`);
        v.dispose();
      }
      tf.dispose([x, r, grad]);
    }
  });
}

test("wasm SplitV (a concat's gradient) matches cpu on every axis, uneven sizes and int32", async () => {
  const run = () => {
    const x = tf.tensor4d(values(2 * 5 * 6 * 7, 60), [2, 5, 6, 7]);
    const ints = tf.tensor3d(Array.from({ length: 4 * 6 * 5 }, (_, i) => i), [4, 6, 5], "int32");
    const pieces = [
      ...tf.split(x, [3, 4], 3),
      ...tf.split(x, [1, -1, 2], 2),
      ...tf.split(x, 5, 1),
      ...tf.split(x, [1, 1], 0),
      ...tf.split(ints, [2, 3], 2).map((t) => t.toFloat()),
    ];
    // And through the gradient of a concat, as a UNet uses it.
    const a = tf.tensor4d(values(2 * 4 * 4 * 3, 61), [2, 4, 4, 3]);
    const b = tf.tensor4d(values(2 * 4 * 4 * 5, 62), [2, 4, 4, 5]);
    const r = tf.tensor4d(values(2 * 4 * 4 * 8, 63), [2, 4, 4, 8]);
    const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.concat([p, q], 3).mul(r).sum())([a, b]);
    return [...pieces, da!, db!];
  };
  const expected = await on("cpu", run);
  const actual = await on("wasm", run);
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assertClose(v, expected[i]!, `piece ${i}`));
});

test("wasm Identity shares the buffer: a clone outlives its source, and both free cleanly", async () => {
  await initBackend("wasm");
  const before = tf.engine().backend.numDataIds();
  const source = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const clone = tf.tidy(() => source.clone().add(0).clone()); // the intermediate is freed by tidy
  const copy = source.clone();
  source.dispose();
  assert.deepEqual(Array.from(await copy.data()), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(await clone.data()), [1, 2, 3, 4]);
  tf.dispose([copy, clone]);
  assert.equal(tf.engine().backend.numDataIds(), before);
});

/** Outputs of f on the given backend with their shapes (a keepDims sum must keep its axes, too). */
async function withShapes(backend: "cpu" | "wasm", f: () => tf.Tensor[]) {
  await initBackend(backend);
  const outs = tf.tidy(f);
  const data = await Promise.all(outs.map(async (t) => ({ shape: t.shape, values: (await t.data()) as Float32Array })));
  tf.dispose(outs);
  return data;
}

async function assertMatchesCpu(f: () => tf.Tensor[], what: string) {
  const expected = await withShapes("cpu", f);
  const actual = await withShapes("wasm", f);
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    assert.deepEqual(a.shape, expected[i]!.shape, `${what} ${i}: shape`);
    assertClose(a.values, expected[i]!.values, `${what} ${i}`);
  });
}

const tensorOf = (shape: number[], seed: number) => tf.tensor(values(size(shape), seed), shape);

test("wasm Concat matches cpu on every axis, with 2 and 3 inputs, an empty one, large ones and int32", async () => {
  await assertMatchesCpu(() => {
    const a = tensorOf([2, 3, 4, 5], 80);
    const ints = tf.tensor2d(Array.from({ length: 12 }, (_, i) => i), [3, 4], "int32");
    return [
      tf.concat([a, tensorOf([2, 3, 4, 2], 81), tensorOf([2, 3, 4, 1], 82)], 3),
      tf.concat([a, tensorOf([2, 3, 3, 5], 83)], 2),
      tf.concat([a, tensorOf([2, 1, 4, 5], 84), a], 1),
      tf.concat([a, tensorOf([1, 3, 4, 5], 85)], 0),
      tf.concat([a, tf.zeros([2, 3, 0, 5]), tensorOf([2, 3, 2, 5], 86)], 2),
      tf.concat([tensorOf([7], 87), tensorOf([3], 88)], 0),
      // Large enough to be split across threads.
      tf.concat([tensorOf([16, 32, 32, 32], 89), tensorOf([16, 32, 32, 16], 90)], 3),
      tf.concat([ints, ints], 1).toFloat(),
    ];
  }, "concat");
});

test("wasm Sum matches cpu over leading, middle and trailing axes, all axes, keepDims, and axes it does not cover", async () => {
  await assertMatchesCpu(() => {
    const x = tensorOf([4, 5, 6, 7], 91);
    const ints = tf.tensor3d(Array.from({ length: 24 }, (_, i) => i - 5), [2, 3, 4], "int32");
    return [
      tf.sum(x, [0, 1, 2]), // a bias gradient
      tf.sum(x, [2, 0, 1], true),
      tf.sum(x, [0, 1]),
      tf.sum(x, -1),
      tf.sum(x, 3, true),
      tf.sum(x, [2, 3]),
      tf.sum(x),
      tf.sum(x, [0, 1, 2, 3], true),
      tf.sum(x, 1), // a middle axis
      tf.sum(x, [1, 2], true), // height and width: a per-channel broadcast's gradient
      tf.sum(x, [0, 2], true), // axes with a gap: not covered natively
      tf.sum(tensorOf([16, 64, 64, 8], 92), [0, 1, 2]), // large: split across threads
      tf.sum(tensorOf([4096, 33], 93), 1),
      tf.sum(tensorOf([5000], 94)),
      tf.sum(ints, [0, 1]).toFloat(),
    ];
  }, "sum");
});

/** Max-pool gradients (ties, all-negative and overlapping windows), nearest-resize gradients, splits. */
function poolResizeSplitGradients(): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const { shape, k, s, pad } of [
    { shape: [2, 8, 8, 3], k: 2, s: 2, pad: "valid" as const },
    { shape: [2, 7, 5, 4], k: 3, s: 2, pad: "same" as const },
    { shape: [1, 6, 6, 9], k: 3, s: 1, pad: "same" as const },
    { shape: [8, 64, 64, 17], k: 2, s: 2, pad: "valid" as const }, // large: split across threads
  ]) {
    // Five distinct values, mostly negative: many ties, and some windows wholly negative.
    const xValues = values(size(shape), 70).map((v) => Math.round(v * 2) - 1);
    const x = tf.tensor4d(xValues, shape as [number, number, number, number]);
    const r = tensorOf(tf.maxPool(x, k, s, pad).shape, 71);
    out.push(tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, k, s, pad).mul(r).sum())(x));
  }
  for (const { from, to, alignCorners, halfPixelCenters } of [
    { from: [2, 4, 4, 3], to: [8, 8], alignCorners: false, halfPixelCenters: false },
    { from: [3, 5, 3, 2], to: [8, 7], alignCorners: true, halfPixelCenters: false },
    { from: [2, 5, 3, 2], to: [8, 7], alignCorners: false, halfPixelCenters: true },
    { from: [2, 6, 6, 1], to: [3, 4], alignCorners: false, halfPixelCenters: false },
    { from: [8, 32, 32, 16], to: [64, 64], alignCorners: false, halfPixelCenters: false }, // large
  ]) {
    const x = tensorOf(from, 72);
    const r = tensorOf([from[0]!, to[0]!, to[1]!, from[3]!], 73);
    const resize = (a: tf.Tensor) =>
      tf.image.resizeNearestNeighbor(a as tf.Tensor4D, to as [number, number], alignCorners, halfPixelCenters);
    out.push(tf.grad((a: tf.Tensor) => resize(a).mul(r).sum())(x));
  }
  const x = tensorOf([2, 5, 6, 7], 74);
  out.push(...tf.split(x, [3, 4], 3), ...tf.split(x, [1, -1, 2], 2), ...tf.split(x, 5, 1), ...tf.split(x, [1, 1], 0));
  out.push(...tf.split(tensorOf([16, 32, 32, 48], 75), [32, 16], 3)); // large
  return out;
}

test("MaxPoolGrad, ResizeNearestNeighborGrad and SplitV match cpu on both wasm paths (native and not)", async () => {
  const expected = await on("cpu", poolResizeSplitGradients);
  for (const native of [true, false]) {
    const was = setNativeKernels(native);
    try {
      const actual = await on("wasm", poolResizeSplitGradients);
      assert.equal(actual.length, expected.length);
      actual.forEach((a, i) => assertClose(a, expected[i]!, `${native ? "native" : "wasm kernels"}: output ${i}`));
    } finally {
      setNativeKernels(was);
    }
  }
});

test("wasm Add, Multiply and ResizeNearestNeighbor match cpu (broadcasts covered natively — trailing, per image — and not)", async () => {
  await assertMatchesCpu(() => {
    const x = tensorOf([16, 32, 32, 32], 95); // large enough to be split across threads
    const same = tensorOf([16, 32, 32, 32], 96);
    const bias = tensorOf([32], 97);
    const image = (shape: number[], seed: number) => tensorOf(shape, seed) as tf.Tensor4D;
    const resized = [];
    for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]]) {
      resized.push(tf.image.resizeNearestNeighbor(image([3, 5, 7, 4], 98), [11, 9], alignCorners, halfPixelCenters));
      resized.push(tf.image.resizeNearestNeighbor(image([2, 8, 8, 3], 99), [4, 5], alignCorners, halfPixelCenters));
    }
    return [
      x.add(bias), bias.add(x), x.mul(bias), x.add(same), x.mul(same), x.mul(2.5), tf.scalar(-3).add(x),
      x.add(tensorOf([32, 32, 32], 100)), x.mul(tensorOf([1, 1, 1, 32], 101)),
      x.add(tensorOf([16, 1, 1, 32], 104)), x.mul(tensorOf([16, 1, 1, 32], 105)), // per image, over height × width
      x.add(tensorOf([16, 32, 1, 1], 106)), tensorOf([1, 32, 1], 107).add(x),
      x.add(tensorOf([16, 1, 32, 1], 102)), // a broadcast it does not cover
      tf.tensor1d([1, 2, 3], "int32").add(tf.tensor1d([4, 5, 6], "int32")).toFloat(),
      tf.image.resizeNearestNeighbor(image([16, 32, 32, 32], 103), [64, 64]),
      ...resized,
    ];
  }, "add/multiply/resize");
});

test("wasm BatchMatMul and _FusedMatMul match cpu: every transpose, batches and broadcasts, bias, ReLU, gradients", async () => {
  await assertMatchesCpu(() => {
    const products: tf.Tensor[] = [];
    for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = tensorOf(transposeA ? [37, 5] : [5, 37], 140);
      const b = tensorOf(transposeB ? [19, 37] : [37, 19], 141);
      products.push(tf.matMul(a, b, transposeA, transposeB));
      products.push(tf.fused.matMul({ a, b, transposeA, transposeB, bias: tensorOf([19], 142), activation: "relu" }));
    }
    const batched = tensorOf([3, 4, 6], 143);
    products.push(
      tf.matMul(batched, tensorOf([3, 6, 2], 144)), // one B per A
      tf.matMul(batched, tensorOf([1, 6, 2], 145)), // one B for every A
      tf.matMul(tensorOf([1, 2, 4], 146), batched), // one A for every B
      tf.matMul(tensorOf([2, 3, 4, 6], 147), tensorOf([3, 6, 5], 148)), // broadcast over a leading axis: XNNPACK's
      tf.matMul(tensorOf([128, 96], 149), tensorOf([96, 128], 150)), // past the small-product limit: XNNPACK's
    );
    // The UNet's time embedding: a fused layer's gradients are transposed products.
    const x = tensorOf([16, 64], 151), w = tensorOf([64, 416], 152), bias = tensorOf([416], 153), r = tensorOf([16, 416], 154);
    const grads = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
      tf.fused.matMul({ a: xs as tf.Tensor2D, b: ws as tf.Tensor2D, bias: bs, activation: "relu" }).mul(r).sum(),
    )([x, w, bias]);
    return [...products, ...grads];
  }, "matMul");
});

test("upsampleConcat: the one native op equals resize + concat on cpu, values and both gradients", { skip: nativeSkip }, async () => {
  // ×2 as in the UNet (large enough to be split across threads), an uneven resize, and no resize at all.
  for (const [hShape, skipShape] of [[[16, 16, 16, 32], [16, 32, 32, 16]], [[2, 5, 4, 3], [2, 9, 7, 5]], [[2, 6, 6, 4], [2, 6, 6, 2]]]) {
    const run = () => {
      const h = tensorOf(hShape!, 190) as tf.Tensor4D;
      const skip = tensorOf(skipShape!, 191) as tf.Tensor4D;
      const y = upsampleConcat(h, skip);
      const r = tensorOf(y.shape, 192);
      return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => upsampleConcat(a as tf.Tensor4D, b as tf.Tensor4D).mul(r).sum())([h, skip])];
    };
    const expected = await on("cpu", run);
    const actual = await on("wasm", run);
    actual.forEach((a, i) => assert.deepEqual(a, expected[i]!, `h ${hShape} skip ${skipShape}: ${["y", "dh", "dskip"][i]}`));
  }
});

test("ReLU and its gradient: the native passes equal tfjs's max(x, 0) and dy · step(x), NaN, ±0 and large tensors included", { skip: nativeSkip }, async () => {
  const run = () => {
    const special = tf.tensor1d([1, -1, 0, -0, NaN, 3, -2, 0.5]);
    const dySpecial = tf.tensor1d([-2, -3, -1, 4, 5, Infinity, NaN, -0]);
    const x = tensorOf([16, 32, 32, 16], 140); // large enough to be split across threads
    const r = tensorOf([16, 32, 32, 16], 141);
    const g1 = tf.grad((a: tf.Tensor) => tf.relu(a).mul(dySpecial).sum())(special);
    const g2 = tf.grad((a: tf.Tensor) => tf.relu(a).mul(r).sum())(x);
    return [g1, g2, tf.relu(special), tf.relu(x)];
  };
  const native = await on("wasm", run);
  const was = setNativeKernels(false);
  try {
    const composed = await on("wasm", run);
    native.forEach((a, i) => assert.deepEqual(a, composed[i]!, `gradient ${i}`));
    assert.deepEqual(native[0], Float32Array.of(-2, -0, -0, 0, NaN, Infinity, -0, -0).map((v, i) => (i === 6 ? NaN : v)));
    assert.deepEqual(native[2], Float32Array.of(1, 0, 0, 0, NaN, 3, 0, 0.5));
  } finally {
    setNativeKernels(was);
  }
  const cpu = await on("cpu", run);
  assertClose(native[1]!, cpu[1]!, "ReLU gradient vs cpu");
});

test("native Adam: the same weights and moments as tfjs's Adam, step by step; shared buffers left alone", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  // Sizes below and above the threaded split, and not multiples of the vector width.
  const shapes = [[1], [7], [3, 3, 5, 16], [300, 1000]];
  const run = (optimizer: tf.Optimizer, asList: boolean) => {
    const vars = shapes.map((shape, i) => tf.variable(tensorOf(shape, 120 + i), true, `adam-test-${asList}-${optimizer.constructor.name}-${i}`));
    const snapshot = vars[2]!.clone(); // shares vars[2]'s buffer (Identity): must keep the initial values
    for (let step = 0; step < 4; step++) {
      const grads = vars.map((v, i) => tf.tidy(() => tensorOf(v.shape, 200 + 10 * step + i).mul(step === 2 ? 1e-4 : 3)));
      const named = vars.map((v, i) => ({ name: v.name, tensor: grads[i]! }));
      (optimizer as unknown as { learningRate: number }).learningRate = 0.01 * (step + 1);
      optimizer.applyGradients(asList ? named : Object.fromEntries(named.map(({ name, tensor }) => [name, tensor])));
      tf.dispose(grads);
    }
    const weights = [...vars, snapshot].map((v) => v.dataSync().slice() as Float32Array);
    tf.dispose([...vars, snapshot]);
    return weights;
  };
  for (const asList of [true, false]) {
    const theirs = tf.train.adam(0.01);
    const ours = adam(0.01);
    const expected = run(theirs, asList);
    const actual = run(ours, asList);
    const [expectedMoments, actualMoments] = await Promise.all([theirs.getWeights(), ours.getWeights()]);
    assert.deepEqual(actual, expected, "weights");
    assert.equal(actualMoments.length, expectedMoments.length);
    actualMoments.forEach((m, i) => {
      assert.equal(m.name.replace(/-NativeAdamOptimizer-/, "-"), expectedMoments[i]!.name.replace(/-AdamOptimizer-/, "-"));
      assert.deepEqual(m.tensor.dataSync(), expectedMoments[i]!.tensor.dataSync(), m.name);
    });
    assert.deepEqual(actual[4], values(size(shapes[2]!), 122), "a clone taken before the steps is unchanged");
    theirs.dispose();
    ours.dispose();
  }
});

test("Adam with globalClipNorm: tfjs's Adam on gradients clipped by tfjs ops, bit for bit, native or not", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  const shapes = [[7], [3, 3, 5, 16], [300, 1000]];
  const run = (native: boolean, clipInside: boolean) => {
    const was = setNativeKernels(native);
    try {
      const vars = shapes.map((shape, i) => tf.variable(tensorOf(shape, 170 + i), true, `clip-test-${native}-${clipInside}-${i}`));
      const optimizer = clipInside ? adam(0.01, { globalClipNorm: 1 }) : tf.train.adam(0.01);
      for (let step = 0; step < 4; step++) {
        // Norms far above the limit and below it (no clipping).
        const grads = vars.map((v, i) => tf.tidy(() => tensorOf(v.shape, 180 + 10 * step + i).mul(step === 2 ? 1e-5 : 3)));
        tf.tidy(() => {
          const named = vars.map((v, i) => ({ name: v.name, tensor: grads[i]! }));
          if (clipInside) return optimizer.applyGradients(named);
          const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
          const scale = tf.minimum(1, tf.div(1, norm.add(1e-6)));
          optimizer.applyGradients(named.map(({ name, tensor }) => ({ name, tensor: tensor.mul(scale) })));
        });
        tf.dispose(grads);
      }
      const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
      tf.dispose(vars);
      optimizer.dispose();
      return weights;
    } finally {
      setNativeKernels(was);
    }
  };
  // tfjs's sums themselves differ with the native kernels (which sum in double) and without them.
  assert.deepEqual(run(true, true), run(true, false), "native: clipping inside the update");
  assert.deepEqual(run(false, true), run(false, false), "without the native kernels");
  assert.throws(() => adam(0.01, { globalClipNorm: 0 }), /globalClipNorm/);
});

test("native Adam: ops that cache packed weights (wasm MatMul) see the updated weights", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  const w = tf.variable(tensorOf([4, 3], 130));
  const x = tensorOf([2, 4], 131);
  tf.matMul(x, w).dispose(); // XNNPACK packs w here, keyed by its buffer
  const optimizer = adam(0.1);
  optimizer.applyGradients([{ name: w.name, tensor: tensorOf([4, 3], 132) }]);
  const actual = tf.matMul(x, w).dataSync() as Float32Array;
  const expected = tf.matMul(x, tf.tensor(w.dataSync(), w.shape)).dataSync() as Float32Array; // a fresh buffer
  assert.deepEqual(actual, expected);
  optimizer.dispose();
  tf.dispose([w, x]);
});

test("training ops: the native EMA update and sum of squares equal tfjs's ops bit for bit", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  const shapes = [[1], [7], [3, 3, 5, 16], [300, 1000]];
  const sources = shapes.map((shape, i) => tensorOf(shape, 150 + i).mul(i + 0.5));
  for (const d of [0.1, 0.995, 11 / 20]) {
    const shadows = shapes.map((shape, i) => tf.variable(tensorOf(shape, 160 + i)));
    const expected = shadows.map((a, i) => a.mul(d).add(sources[i]!.mul(1 - d)));
    assert.ok(emaUpdate(shadows.map((a, i) => [a, sources[i]!]), d));
    shadows.forEach((a, i) => assert.deepEqual(a.dataSync(), expected[i]!.dataSync(), `EMA of ${shapes[i]}, d ${d}`));
    tf.dispose([...shadows, ...expected]);
  }
  const expected = tf.addN(sources.map((t) => tf.sum(tf.square(t)))).dataSync()[0];
  assert.equal(sumOfSquares(sources), expected);
  tf.dispose(sources);
  const was = setNativeKernels(false);
  try {
    assert.equal(sumOfSquares([tf.scalar(1)]), null, "no native kernels: the caller's tfjs ops run");
  } finally {
    setNativeKernels(was);
  }
});

test("native Adam falls back to tfjs's with the native kernels off", async () => {
  await initBackend("wasm");
  const was = setNativeKernels(false);
  try {
    const v = tf.variable(tf.tensor1d([1, -2, 3]));
    const optimizer = adam(0.1);
    optimizer.applyGradients([{ name: v.name, tensor: tf.tensor1d([0.5, 0.5, -1]) }]);
    assertClose(v.dataSync() as Float32Array, Float32Array.of(0.9, -2.1, 3.1), "one Adam step");
    optimizer.dispose();
    v.dispose();
  } finally {
    setNativeKernels(was);
  }
});
