/**
 * The fused time-projection add + GroupNorm + ReLU (workers/ml/kernels/group_norm.ts): its native kernel
 * against the tfjs-op composition it replaces and a float64 reference, forward and every gradient (x, t,
 * γ, β), on the teacher's shapes and odd ones; independent of the thread count, bit for bit; the whole
 * ResBlock as one op (workers/ml/kernels/res_block.ts) against its composition; and every parameter
 * gradient of a UNet with GroupNorm the same with them as with the composition.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { groupNormRelu } from "../../workers/ml/kernels/group_norm";
import { resBlock } from "../../workers/ml/kernels/res_block";
import { activeAddon, nativeStatus, setNativeKernels } from "../../workers/ml/kernels/native";
import { UNet } from "../../workers/ml/unet";
import { assertClose, values } from "../helpers/arrays";

const nativeSkip = nativeStatus().active ? false : `native kernels unavailable: ${nativeStatus().reason}`;

interface Case {
  shape: [number, number, number, number];
  groups: number;
}

// The teacher's widths (4 channels a group) at its sizes, plus batch 1, one group, groups of 5 and 6
// channels (no vectorised path), and blocks of groups narrower than the others (20 = 16 + 4 channels,
// 28 = 16 + 12).
const cases: Case[] = [
  { shape: [1, 8, 8, 4], groups: 1 },
  { shape: [2, 8, 8, 16], groups: 4 },
  { shape: [3, 64, 64, 16], groups: 4 },
  { shape: [1, 64, 64, 4], groups: 1 },
  { shape: [2, 16, 16, 32], groups: 8 },
  { shape: [2, 8, 8, 64], groups: 16 },
  { shape: [4, 16, 16, 96], groups: 24 },
  { shape: [2, 5, 7, 10], groups: 2 },
  { shape: [1, 3, 3, 6], groups: 1 },
  { shape: [2, 6, 5, 20], groups: 5 },
  { shape: [2, 8, 8, 28], groups: 7 },
];

/** Inputs with a mean far from zero and uneven scales across groups, so the statistics matter. */
function inputs({ shape, groups }: Case, seed: number) {
  const [b, , , c] = shape;
  const scale = tf.tensor1d(Array.from({ length: c }, (_, i) => 0.5 + Math.floor(i / (c / groups))));
  const x = tf.tensor4d(values(tf.util.sizeFromShape(shape), seed), shape).mul(scale).add(0.7) as tf.Tensor4D;
  const t = tf.tensor2d(values(b * c, seed + 1), [b, c]);
  const gamma = tf.tensor1d(values(c, seed + 2)).add(1);
  const beta = tf.tensor1d(values(c, seed + 3)).mul(0.5);
  const r = tf.tensor4d(values(tf.util.sizeFromShape(shape), seed + 4), shape); // a non-uniform upstream gradient
  return { x, t, gamma, beta, r };
}

/** y and the gradients of Σ y·r for x, t, γ and β, as plain arrays. */
function run(c: Case, seed: number): Float32Array[] {
  const outs = tf.tidy(() => {
    const { x, t, gamma, beta, r } = inputs(c, seed);
    const f = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, s: tf.Tensor) =>
      groupNormRelu(a as tf.Tensor4D, b as tf.Tensor2D, g, s, c.groups);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, g: tf.Tensor, s: tf.Tensor) => f(a, b, g, s).mul(r).sum())([
      x, t, gamma, beta,
    ]);
    return [f(x, t, gamma, beta), ...grads];
  });
  const data = outs.map((o) => o.dataSync().slice() as Float32Array);
  tf.dispose(outs);
  return data;
}

/** The same in float64, written out: forward, then the chain rule by hand. */
function reference(c: Case, seed: number): Float64Array[] {
  const [b, h, w, ch] = c.shape;
  const { x, t, gamma, beta, r } = tf.tidy(() => inputs(c, seed));
  const [xs, ts, gs, bs, rs] = [x, t, gamma, beta, r].map((v) => Float64Array.from(v.dataSync()));
  tf.dispose([x, t, gamma, beta, r]);
  const P = h * w, cg = ch / c.groups, n = P * cg;
  const y = new Float64Array(xs!.length), dx = new Float64Array(xs!.length);
  const dt = new Float64Array(b * ch), dg = new Float64Array(ch), db = new Float64Array(ch);
  const at = (i: number, p: number, k: number) => (i * P + p) * ch + k;
  for (let i = 0; i < b; i++) {
    for (let g = 0; g < c.groups; g++) {
      const ks = Array.from({ length: cg }, (_, j) => g * cg + j);
      const v = (p: number, k: number) => xs![at(i, p, k)]! + ts![i * ch + k]!;
      let mean = 0, variance = 0;
      for (let p = 0; p < P; p++) for (const k of ks) mean += v(p, k) / n;
      for (let p = 0; p < P; p++) for (const k of ks) variance += (v(p, k) - mean) ** 2 / n;
      const rstd = 1 / Math.sqrt(variance + 1e-5);
      let m1 = 0, m2 = 0;
      const dz = (p: number, k: number) => {
        const xhat = (v(p, k) - mean) * rstd;
        return { xhat, dz: xhat * gs![k]! + bs![k]! > 0 ? rs![at(i, p, k)]! : 0 };
      };
      for (let p = 0; p < P; p++) {
        for (const k of ks) {
          const { xhat, dz: d } = dz(p, k);
          y[at(i, p, k)] = Math.max(0, xhat * gs![k]! + bs![k]!);
          db[k]! += d;
          dg[k]! += d * xhat;
          m1 += (gs![k]! * d) / n;
          m2 += (gs![k]! * d * xhat) / n;
        }
      }
      for (let p = 0; p < P; p++) {
        for (const k of ks) {
          const { xhat, dz: d } = dz(p, k);
          const grad = rstd * (gs![k]! * d - m1 - xhat * m2);
          dx[at(i, p, k)] = grad;
          dt[i * ch + k]! += grad;
        }
      }
    }
  }
  return [y, dx, dt, dg, db];
}

const names = ["y", "dx", "dt", "dγ", "dβ"];

/** Within `tol` of the reference's largest magnitude (at least 1), per output. */
function assertNear(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1, worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  assert.ok(worst <= tol * scale, `${what}: max difference ${worst} (scale ${scale})`);
}

function withNative<T>(on: boolean, f: () => T): T {
  const was = setNativeKernels(on);
  try {
    return f();
  } finally {
    setNativeKernels(was);
  }
}

test("fused GroupNorm + ReLU: native forward and gradients match the tfjs-op composition and float64", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  for (const [i, c] of cases.entries()) {
    const seed = 500 + 10 * i;
    const before = tf.memory().numTensors;
    const native = withNative(true, () => run(c, seed));
    const composed = withNative(false, () => run(c, seed));
    assert.equal(tf.memory().numTensors, before, `${c.shape}: no tensors left behind`);
    const exact = reference(c, seed);
    native.forEach((a, k) => {
      const what = `[${c.shape}] / ${c.groups} groups: ${names[k]}`;
      assertClose(a, composed[k]!, `${what} (native vs tfjs ops)`);
      // Against float64: the native sums run in double, so it is at least as close as the composition.
      assertNear(a, exact[k]!, 2e-5, `${what} (native vs float64)`);
      assertNear(composed[k]!, exact[k]!, 1e-3, `${what} (tfjs ops vs float64)`);
    });
  }
});

test("fused GroupNorm + ReLU: the same bits on 1 thread and on several, and run to run", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  const addon = activeAddon()!;
  const threads = addon.threads();
  const c: Case = { shape: [16, 64, 64, 16], groups: 4 };
  try {
    addon.threads(1);
    const one = run(c, 900);
    addon.threads(Math.max(2, threads));
    const many = run(c, 900);
    const again = run(c, 900);
    one.forEach((a, k) => {
      assert.deepEqual(many[k], a, `${names[k]}: 1 thread against ${Math.max(2, threads)}`);
      assert.deepEqual(again[k], a, `${names[k]}: run to run`);
    });
  } finally {
    addon.threads(threads);
  }
});

test("a UNet with GroupNorm: output and every parameter gradient the same with the fused kernel as without", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  const net = new UNet({ channels: 1, width: 8, depth: 3, norm: true }, 3);
  let i = 0;
  // Non-zero everywhere (the zero-initialised convs too), so every path carries a gradient.
  for (const v of net.variables.values()) v.assign(tf.tidy(() => tf.tensor(values(v.size, 700 + i++), v.shape).mul(0.3).add(v)));
  const x = tf.tensor4d(values(2 * 16 * 16, 799), [2, 16, 16, 1]);
  const gradients = (on: boolean) =>
    withNative(on, () => {
      const { value, grads } = tf.variableGrads(() => net.apply(x, [5, 300]).square().mean() as tf.Scalar, [...net.variables.values()]);
      const out = [value, ...[...net.variables.values()].map((v) => grads[v.name]!)].map((t) => t.dataSync().slice() as Float32Array);
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    });
  const fused = gradients(true);
  const composed = gradients(false);
  const names = ["loss", ...net.variables.keys()];
  fused.forEach((a, k) => assertClose(a, composed[k]!, names[k]!));
  net.dispose();
  x.dispose();
});

test("a ResBlock with GroupNorm as one op: output and every gradient match its composition, with and without a skip conv", { skip: nativeSkip }, async () => {
  await initBackend("wasm");
  // Winograd F(2×2) with and without a skip conv, F(4×4) and the direct kernel with one, partial tiles.
  const cases = [[12, 10, 16, 16], [12, 10, 24, 8], [32, 34, 24, 16], [8, 6, 12, 20]];
  for (const [i, [height, width, cin, cout]] of cases.entries()) {
    const seed = 1000 + 100 * i;
    const t = (shape: number[], k: number, scale = 1) => tf.tensor(values(tf.util.sizeFromShape(shape), seed + k), shape).mul(scale);
    const inputs = [
      t([2, height, width, cin], 1), t([2, cout], 2),
      t([3, 3, cin, cout], 3, 0.3), t([cout], 4), t([cout], 5), t([cout], 6), t([3, 3, cout, cout], 7, 0.3), t([cout], 8),
      ...(cin !== cout ? [t([1, 1, cin, cout], 9, 0.3), t([cout], 10)] : []),
    ];
    const r = t([2, height, width, cout], 11);
    const f = (...v: tf.Tensor[]) => {
      const [x, time, w1, b1, g, beta, w2, b2, ws, bs] = v;
      const block = { conv1: { w: w1 as tf.Tensor4D, b: b1! }, norm: { g: g!, b: beta! }, conv2: { w: w2 as tf.Tensor4D, b: b2! }, skip: ws ? { w: ws as tf.Tensor4D, b: bs! } : undefined };
      return resBlock(x as tf.Tensor4D, time as tf.Tensor2D, block, cout / 4);
    };
    const run = () => {
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => [f(...inputs), ...tf.grads((...v: tf.Tensor[]) => f(...v).mul(r).sum())(inputs)]);
      const arrays = out.map((o) => o.dataSync().slice() as Float32Array);
      tf.dispose(out);
      assert.equal(tf.memory().numTensors, before, "no tensors left behind");
      return arrays;
    };
    const native = withNative(true, run);
    const composed = withNative(false, run);
    const what = ["y", "dx", "dt", "dw1", "db1", "dγ", "dβ", "dw2", "db2", "dw skip", "db skip"];
    native.forEach((a, k) => assertClose(a, composed[k]!, `${cin}→${cout}: ${what[k]}`));
    tf.dispose([...inputs, r]);
  }
});

test("fused GroupNorm + ReLU: without the native kernels, or off wasm, the tfjs-op composition runs", async () => {
  const c: Case = { shape: [2, 4, 4, 8], groups: 2 };
  await initBackend("cpu");
  const cpu = run(c, 950);
  await initBackend("wasm");
  const wasm = withNative(false, () => run(c, 950));
  cpu.forEach((a, k) => assertClose(wasm[k]!, a, `${names[k]}: wasm without native vs cpu`));
  assert.throws(() => groupNormRelu(tf.zeros([1, 2, 2, 6]), tf.zeros([1, 6]), tf.ones([6]), tf.zeros([6]), 4), /do not divide/);
});
