/**
 * The native convolutions with AVX-512's layout (12 × 16 tiles, one 16-float vector per row; Winograd
 * transforms 16 channels at a time), built on whatever CPU runs the tests (native/src/kernels.cc's
 * CRACKDIFF_WIDE_TILES) and checked against the build npm install made, so the layout a machine with AVX-512
 * gets is tested on machines without it too; and both builds' folded extras: the bias gradient the filter
 * gradient sums, the residual or 1×1 skip conv that the forward pass and the input gradient add.
 * Skipped, with the reason, without a C++ compiler, Node's headers or the installed build.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { convShape, type Addon } from "../../workers/ml/kernels/native";
import { assertClose, values } from "../helpers/arrays";

interface ConvAddon {
  isa: string;
  conv2d(shape: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, relu: boolean, y: Float32Array): void;
  conv2dFused: Addon["conv2dFused"];
  conv2dBackpropFilter(shape: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array, db: Float32Array | null): void;
  conv2dBackpropInput: Addon["conv2dBackpropInput"];
}

/** out[p, n] = Σ_c source[p, c]·w[c, n] (+ bias[n]), or with w read as [n, c] (its transpose) when transposed. */
function pointwise(source: Float32Array, w: Float32Array, outC: number, bias: Float32Array | null, transposed = false) {
  const sourceC = w.length / outC, pixels = source.length / sourceC;
  const out = new Float32Array(pixels * outC);
  for (let p = 0; p < pixels; p++)
    for (let n = 0; n < outC; n++) {
      let sum = bias ? bias[n]! : 0;
      for (let c = 0; c < sourceC; c++) sum += source[p * sourceC + c]! * w[transposed ? n * sourceC + c : c * outC + n]!;
      out[p * outC + n] = sum;
    }
  return out;
}

const root = path.resolve(__dirname, "../..");
const installed = path.join(root, "native/build/Release/crackdiff_native.node");
const headers = path.join(path.dirname(process.execPath), "..", "include", "node");

function skipReason(): string | false {
  if (!existsSync(installed)) return "the native kernels are not built";
  if (!existsSync(path.join(headers, "node_api.h"))) return `no Node headers in ${headers}`;
  if (spawnSync("c++", ["--version"], { stdio: "ignore" }).status !== 0) return "no C++ compiler (c++)";
  return false;
}

const cases: { x: [number, number, number, number]; w: [number, number, number, number]; stride: number; pad: "same" | "valid" }[] = [
  { x: [2, 13, 29, 1], w: [3, 3, 1, 16], stride: 1, pad: "same" },
  { x: [2, 16, 16, 16], w: [3, 3, 16, 20], stride: 1, pad: "same" },
  { x: [3, 11, 11, 20], w: [3, 3, 20, 17], stride: 2, pad: "same" },
  { x: [2, 12, 12, 8], w: [3, 3, 8, 1], stride: 1, pad: "same" },
  { x: [2, 9, 9, 32], w: [1, 1, 32, 48], stride: 1, pad: "valid" },
  { x: [1, 30, 26, 5], w: [4, 4, 5, 33], stride: 2, pad: "valid" },
  { x: [3, 9, 7, 24], w: [3, 3, 24, 16], stride: 1, pad: "same" },
  { x: [2, 8, 8, 16], w: [3, 3, 16, 40], stride: 1, pad: "valid" },
  { x: [2, 7, 6, 40], w: [3, 3, 40, 48], stride: 1, pad: "same" },
  { x: [2, 33, 34, 16], w: [3, 3, 16, 16], stride: 1, pad: "same" },
];

const skip = skipReason();

test("native convolutions with AVX-512's tile layout match the installed build", { skip }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "crackdiff-tiles-"));
  try {
    const sources = readdirSync(path.join(root, "native/src"))
      .filter((f) => f.endsWith(".cc"))
      .map((f) => path.join(root, "native/src", f));
    const output = path.join(dir, "wide.node");
    const build = spawnSync(
      "c++",
      ["-O2", "-std=c++17", "-shared", "-fPIC", "-DCRACKDIFF_WIDE_TILES", `-I${headers}`, ...sources, "-o", output],
      { encoding: "utf8" },
    );
    assert.equal(build.status, 0, `building with CRACKDIFF_WIDE_TILES failed:\n${build.stderr}`);
    const load = createRequire(__filename);
    const wide = load(output) as ConvAddon;
    const reference = load(installed) as ConvAddon;

    for (const c of cases) {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.w, c.stride, 1, c.pad);
      const shape = convShape(info);
      const x = values(tf.util.sizeFromShape(c.x), 1);
      const w = values(tf.util.sizeFromShape(c.w), 2);
      const bias = values(info.outChannels, 3);
      const dy = values(tf.util.sizeFromShape(info.outShape), 4);
      const residual = values(x.length, 5);
      // A 1×1 skip conv from 7 channels on y's pixels (forward) and its input gradient on x's (backward).
      const skipC = 7;
      const skipX = values((dy.length / info.outChannels) * skipC, 6);
      const skipW = values(skipC * info.outChannels, 7);
      const skipB = values(info.outChannels, 8);
      const skipDy = values((x.length / c.x[3]) * skipC, 9);
      const skipWx = values(c.x[3] * skipC, 10); // [1, 1, inC, skipC]: dx gets skipDy·skipWxᵀ
      const run = (addon: ConvAddon) => {
        const [y, ySkip] = [new Float32Array(dy.length), new Float32Array(dy.length)];
        const [dw, dwWithBias] = [new Float32Array(w.length), new Float32Array(w.length)];
        const db = new Float32Array(info.outChannels);
        const [dx, dxWithResidual, dxWithSkip] = [0, 1, 2].map(() => new Float32Array(x.length));
        addon.conv2d(shape, x, w, bias, true, y);
        addon.conv2dFused(shape, x, w, bias, false, true, null, ySkip, skipX, skipW, skipB);
        addon.conv2dBackpropFilter(shape, x, dy, dw, null);
        addon.conv2dBackpropFilter(shape, x, dy, dwWithBias, db);
        addon.conv2dBackpropInput(shape, dy, w, dx, null, null, null);
        addon.conv2dBackpropInput(shape, dy, w, dxWithResidual!, residual, null, null);
        addon.conv2dBackpropInput(shape, dy, w, dxWithSkip!, null, skipDy, skipWx);
        return { y, ySkip, dw, dwWithBias, db, dx: dx!, dxWithResidual: dxWithResidual!, dxWithSkip: dxWithSkip! };
      };
      const skipForward = pointwise(skipX, skipW, info.outChannels, skipB);
      const skipBackward = pointwise(skipDy, skipWx, c.x[3], null, true);
      const expected = run(reference);
      const actual = run(wide);
      const name = `x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} stride ${c.stride} ${c.pad}`;
      assertClose(actual.y, expected.y, `${name}: conv2d`);
      assertClose(actual.dw, expected.dw, `${name}: filter gradient`);
      assertClose(actual.dx, expected.dx, `${name}: input gradient`);
      for (const r of [expected, actual]) {
        // The bias gradient is Σ dy over the pixels; asking for it leaves dw as it was; the residual is added.
        const sums = new Float32Array(info.outChannels);
        dy.forEach((v, i) => (sums[i % info.outChannels] += v));
        assertClose(r.db, sums, `${name}: bias gradient`);
        assert.deepEqual(r.dwWithBias, r.dw, `${name}: filter gradient with the bias's`);
        assertClose(r.dxWithResidual, r.dx.map((v, i) => v + residual[i]!), `${name}: input gradient plus a residual`);
        assertClose(r.ySkip, r.y.map((v, i) => v + skipForward[i]!), `${name}: conv2d plus a 1×1 skip conv`);
        assertClose(r.dxWithSkip, r.dx.map((v, i) => v + skipBackward[i]!), `${name}: input gradient plus a skip's`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
