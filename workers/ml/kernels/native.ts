/**
 * The wasm backend's heaviest kernels in native code on all cores: native/ (C++, built by `npm install`
 * when a C++ compiler is present). They read and write the wasm heap in place, so every other op stays on
 * wasm and nothing is copied. The convolutions (forward, fused bias + ReLU, both gradients) are nearly all
 * of a UNet's arithmetic, which single-threaded wasm SIMD runs several times slower than native code; the
 * memory-bound ops of its backward pass (MaxPoolGrad, ResizeNearestNeighborGrad, SplitV, Concat, Sum over a
 * contiguous run of axes, broadcast Add and Multiply) cost tens of ms per step in wasm or in JavaScript
 * loops over the heap, and about one here.
 *
 * Without the addon (no compiler at install; or built on another machine, for instructions this CPU lacks)
 * or with CRACKDIFF_NATIVE=0, and for
 * what it does not cover (NCHW, dilation, activations other than ReLU, other dtypes, sums over axes with
 * gaps between them), each kernel falls back to the one it replaced. CRACKDIFF_THREADS sets the thread
 * count (default: every core).
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { nearestSource } from "./resize_nearest_neighbor_grad";

export interface Addon {
  /** Whether this CPU has the instruction sets the kernels were compiled for. */
  cpuSupported: boolean;
  /** What they were compiled for: "avx512", "avx2" or "generic". */
  isa: string;
  conv2d(shape: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, relu: boolean, y: Float32Array): void;
  /**
   * y = ReLU?(conv(x, w) + bias) + residual, or + skipX's 1×1 convolution by skipW ([1, 1, C, outC]) + skipBias;
   * bias one row per image when biasPerImage.
   */
  conv2dFused(
    shape: Int32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, biasPerImage: boolean,
    relu: boolean, residual: Float32Array | null, y: Float32Array,
    skipX: Float32Array | null, skipW: Float32Array | null, skipBias: Float32Array | null,
  ): void;
  /** dw, and the shared bias's gradient Σ dy into db where given. */
  conv2dBackpropFilter(shape: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array, db: Float32Array | null): void;
  /** dx, plus residual (x's shape), or plus the input gradient of a 1×1 skip conv (skipW) for its skipDy. */
  conv2dBackpropInput(
    shape: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array, residual: Float32Array | null,
    skipDy: Float32Array | null, skipW: Float32Array | null,
  ): void;
  maxPoolGrad(shape: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** y = resize(x), each pixel followed by skip's where given (shape's last field its channels, else 0). */
  resizeNearestNeighbor(
    shape: Int32Array, sourceRow: Int32Array, sourceCol: Int32Array, x: Float32Array, y: Float32Array,
    skip: Float32Array | null,
  ): void;
  /** Its adjoint: dx from dy's first channels, dskip (where given) the rest. */
  resizeNearestNeighborGrad(
    shape: Int32Array, sourceRow: Int32Array, sourceCol: Int32Array, dy: Float32Array, dx: Float32Array,
    dskip: Float32Array | null,
  ): void;
  addOrMultiply(
    multiply: boolean, n: number, period: number, big: Float32Array, small: Float32Array, out: Float32Array,
  ): void;
  concat(outer: number, lengths: Int32Array, inputs: Float32Array[], out: Float32Array): void;
  splitV(outer: number, lengths: Int32Array, x: Float32Array, outputs: Float32Array[]): void;
  sumLeadingAxes(rows: number, cols: number, x: Float32Array, out: Float32Array): void;
  sumTrailingAxes(rows: number, cols: number, x: Float32Array, out: Float32Array): void;
  /** y = ReLU(GroupNorm(x + t)·γ + β) and per image and group [mean, 1/σ] (native/src/norm.h); shape [B, H·W, C, groups]. */
  groupNormRelu(
    shape: Int32Array, x: Float32Array, t: Float32Array | null, gamma: Float32Array, beta: Float32Array,
    eps: number, y: Float32Array, stats: Float32Array,
  ): void;
  /** Its gradients for dy: dx, dt (for t [B, C]), dγ, dβ. */
  groupNormReluGrad(
    shape: Int32Array, x: Float32Array, t: Float32Array | null, gamma: Float32Array, beta: Float32Array,
    stats: Float32Array, dy: Float32Array, dx: Float32Array, dt: Float32Array | null, dgamma: Float32Array,
    dbeta: Float32Array,
  ): void;
  /** The image score's segment means of a size × size map (../heal.ts's lineMeans), offsets given. */
  lineMeans(size: number, length: number, dx: Int32Array, dy: Int32Array, map: Float32Array, out: Float32Array): void;
  /**
   * out[i] = ReLU?(A[i]·B[i] + bias) for small matrices; shape [batch, M, N, K, transposeA, transposeB,
   * aStride, bStride] (a stride 0: one matrix for every i).
   */
  matMul(shape: Int32Array, a: Float32Array, b: Float32Array, bias: Float32Array | null, relu: boolean, out: Float32Array): void;
  /** y = max(x, 0) with tfjs's values (NaN stays NaN, −0 becomes 0). */
  relu(x: Float32Array, y: Float32Array): void;
  /** dx = dy · step(x). */
  reluGrad(x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /**
   * One Adam step for every tensor listed (the i-th array of each list is tensor i's), m and v in place;
   * scalars in native/src/layout.h's AdamScalars order.
   */
  adam(
    scalars: Float32Array, w: Float32Array[], m: Float32Array[], v: Float32Array[], g: Float32Array[], wOut: Float32Array[],
  ): void;
  /** out = a·d + b·e in float32, unfused. */
  ema(a: Float32Array, b: Float32Array, d: number, e: number, out: Float32Array): void;
  /** Σ x² as tfjs's sum(square(x)) computes it here. */
  sumOfSquares(x: Float32Array): number;
  threads(n?: number): number;
}

const ADDON_PATH = path.resolve(__dirname, "../../../native/build/Release/crackdiff_native.node");

let addon: Addon | null | undefined;
let unavailable = "";
let enabled = process.env.CRACKDIFF_NATIVE !== "0";

function load(): Addon | null {
  if (addon !== undefined) return addon;
  addon = null;
  try {
    const loaded = createRequire(__filename)(ADDON_PATH) as Addon;
    if (!loaded.cpuSupported) {
      unavailable = `built for ${loaded.isa}, which this CPU lacks (run npm install again here)`;
    } else {
      const threads = Number(process.env.CRACKDIFF_THREADS);
      if (Number.isInteger(threads) && threads > 0) loaded.threads(threads);
      addon = loaded;
    }
  } catch (err) {
    unavailable = `not built (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`;
  }
  return addon;
}

export interface NativeStatus {
  active: boolean;
  threads: number;
  /** The instruction set the kernels use, when active. */
  isa?: string;
  /** Why they are not active, when they are not. */
  reason?: string;
}

/** Whether the native kernels run now, on how many threads and for which instruction set, or why not. */
export function nativeStatus(): NativeStatus {
  const native = load();
  if (!native) return { active: false, threads: 1, reason: unavailable };
  if (!enabled) return { active: false, threads: 1, reason: "switched off (CRACKDIFF_NATIVE=0 or setNativeKernels)" };
  return { active: true, threads: native.threads(), isa: native.isa };
}

/** The addon when the native kernels are active (for code outside the kernels, e.g. ./adam.ts), else null. */
export function activeAddon(): Addon | null {
  return enabled ? load() : null;
}

/** Switches the native kernels on or off (the benchmarks and tests compare both); returns the old setting. */
export function setNativeKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/**
 * A float32 tensor's data on the wasm heap, in place. Take views after the kernel's last makeOutput: an
 * allocation may grow the heap, which detaches the views taken before it.
 */
const view = (backend: BackendWasm, t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type Conv4D = [number, number, number, number];

/** The shape argument of every native call, in the order of native/src/kernels.h's ConvShape. */
export function convShape(info: tf.backend_util.Conv2DInfo): Int32Array {
  return Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left,
  );
}

const coverable = (info: tf.backend_util.Conv2DInfo, dataFormat: string | undefined) =>
  dataFormat !== "NCHW" && info.dilationHeight === 1 && info.dilationWidth === 1;

/** Conv2D and FusedConv2D (bias and ReLU applied as each output is written). */
function conv2d(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
  const { strides, pad, dataFormat, dilations, dimRoundingMode, activation = "linear" } =
    attrs as unknown as tf.FusedConv2DAttrs;
  if (preluActivationWeights || (activation !== "linear" && activation !== "relu")) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x!.shape as Conv4D, filter!.shape as Conv4D, strides, dilations, pad, dimRoundingMode,
  );
  if (!coverable(info, dataFormat) || (bias && tf.util.sizeFromShape(bias.shape) !== info.outChannels)) return null;
  const wasm = backend as BackendWasm;
  const y = wasm.makeOutput(info.outShape, "float32");
  const biasView = bias ? view(wasm, bias) : null;
  native.conv2d(convShape(info), view(wasm, x!), view(wasm, filter!), biasView, activation === "relu", view(wasm, y));
  return y;
}

function conv2dBackpropFilter(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Conv4D, filterShape, strides, 1, pad, dimRoundingMode);
  if (!coverable(info, dataFormat)) return null;
  const wasm = backend as BackendWasm;
  const dw = wasm.makeOutput(filterShape, "float32");
  native.conv2dBackpropFilter(convShape(info), view(wasm, x), view(wasm, dy), view(wasm, dw), null);
  return dw;
}

function conv2dBackpropInput(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as Conv4D, strides, 1, pad, dimRoundingMode);
  if (!coverable(info, dataFormat)) return null;
  const wasm = backend as BackendWasm;
  const dx = wasm.makeOutput(inputShape, "float32");
  native.conv2dBackpropInput(convShape(info), view(wasm, dy), view(wasm, filter), view(wasm, dx), null, null, null);
  return dx;
}

// The memory-bound kernels below cover float32 only; for other dtypes they return null and the fallback runs.
const allFloat32 = (...tensors: tf.TensorInfo[]) => tensors.every((t) => t.dtype === "float32");

/** MaxPoolGrad: dy to each window's maximum, the first on ties (as ./max_pool_grad.ts and the cpu backend). */
function maxPoolGrad(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  if (!allFloat32(dy, input)) return null;
  const info = tf.backend_util.computePool2DInfo(input.shape as Conv4D, filterSize, strides, 1, pad, dimRoundingMode);
  const wasm = backend as BackendWasm;
  const dx = wasm.makeOutput(input.shape, "float32");
  const shape = Int32Array.of(
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
  );
  native.maxPoolGrad(shape, view(wasm, input), view(wasm, dy), view(wasm, dx));
  return dx;
}

/**
 * The shape and source indices of a nearest-neighbour resize of [batch, inHeight, inWidth, depth] images to
 * outHeight × outWidth, by ./resize_nearest_neighbor_grad.ts's source-index rule (the wasm kernel's): for
 * each output row and column, the input one it copies.
 */
export function resizeArgs(
  [batch, inHeight, inWidth, depth]: Conv4D, outHeight: number, outWidth: number,
  alignCorners: boolean, halfPixelCenters: boolean, skipChannels = 0,
): [Int32Array, Int32Array, Int32Array] {
  const sources = (outSize: number, inSize: number) =>
    Int32Array.from({ length: outSize }, (_, i) => nearestSource(i, inSize, outSize, alignCorners, halfPixelCenters));
  return [
    Int32Array.of(batch, inHeight, inWidth, depth, outHeight, outWidth, skipChannels),
    sources(outHeight, inHeight),
    sources(outWidth, inWidth),
  ];
}

function resizeNearestNeighbor(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { images } = inputs as { images: tf.TensorInfo };
  const { alignCorners, halfPixelCenters, size } = attrs as unknown as tf.ResizeNearestNeighborAttrs;
  if (!allFloat32(images) || images.shape.length !== 4) return null;
  const [outHeight, outWidth] = size;
  const wasm = backend as BackendWasm;
  const y = wasm.makeOutput([images.shape[0]!, outHeight, outWidth, images.shape[3]!], "float32");
  const [shape, rows, cols] = resizeArgs(images.shape as Conv4D, outHeight, outWidth, alignCorners, halfPixelCenters);
  native.resizeNearestNeighbor(shape, rows, cols, view(wasm, images), view(wasm, y), null);
  return y;
}

function resizeNearestNeighborGrad(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters = false } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs & {
    halfPixelCenters?: boolean;
  };
  if (!allFloat32(images, dy)) return null;
  const [, outHeight, outWidth] = dy.shape as Conv4D;
  const wasm = backend as BackendWasm;
  const dx = wasm.makeOutput(images.shape, "float32");
  const [shape, rows, cols] = resizeArgs(images.shape as Conv4D, outHeight, outWidth, alignCorners, halfPixelCenters);
  native.resizeNearestNeighborGrad(shape, rows, cols, view(wasm, dy), view(wasm, dx), null);
  return dx;
}

/** Row count and per-piece row lengths of a concat or split of `pieceShapes` along `axis`. */
function pieceRows(pieceShapes: number[][], axis: number) {
  const outer = tf.util.sizeFromShape(pieceShapes[0]!.slice(0, axis));
  const lengths = Int32Array.from(pieceShapes, (shape) => tf.util.sizeFromShape(shape.slice(axis)));
  return { outer, lengths };
}

/** Concat (tfjs wasm's own copies each row with a separate typed-array call). */
function concat(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const all = Object.values(inputs) as tf.TensorInfo[];
  const [axis] = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, all[0]!.shape) as [number];
  tf.backend_util.assertParamsConsistent(all.map((t) => t.shape), axis);
  // Empty inputs add nothing; one non-empty input is a plain identity, which the fallback returns.
  const present = all.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (present.length < 2 || !allFloat32(...all)) return null;
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(tf.backend_util.computeOutShape(all.map((t) => t.shape), axis), "float32");
  const { outer, lengths } = pieceRows(present.map((t) => t.shape), axis);
  native.concat(outer, lengths, present.map((t) => view(wasm, t)), view(wasm, out));
  return out;
}

/** SplitV (a concat's gradient). */
function splitV(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] | null {
  const { x } = inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  if (!allFloat32(x)) return null;
  const [dim] = tf.util.parseAxisParam(axis, x.shape) as [number];
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, dim);
  const shapes = sizes.map((size) => x.shape.map((d, i) => (i === dim ? size : d)));
  const wasm = backend as BackendWasm;
  const outputs = shapes.map((shape) => wasm.makeOutput(shape, "float32"));
  const { outer, lengths } = pieceRows(shapes, dim);
  native.splitV(outer, lengths, view(wasm, x), outputs.map((t) => view(wasm, t)));
  return outputs;
}

/**
 * Sum over one contiguous run of axes, read straight from x (tfjs wasm transposes x first unless the axes
 * are trailing): a bias gradient (every axis but the channels), a per-image channel sum (height and width,
 * the gradient of a per-channel broadcast), or trailing axes. Axes with gaps between them: null.
 */
function sum(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { x } = inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  if (!allFloat32(x) || axes.length === 0 || tf.util.sizeFromShape(x.shape) === 0) return null;
  const first = axes[0]!, last = axes[axes.length - 1]!;
  if (last - first + 1 !== axes.length) return null; // sorted and distinct: contiguous unless there are gaps
  // x as [outer, reduced, inner], summed to [outer, inner].
  const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
  const reduced = tf.util.sizeFromShape(x.shape.slice(first, last + 1));
  const inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
  const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape, "float32");
  const source = view(wasm, x);
  const target = view(wasm, out);
  if (inner === 1) {
    native.sumTrailingAxes(outer, reduced, source, target);
  } else {
    for (let o = 0; o < outer; o++) {
      native.sumLeadingAxes(reduced, inner, source.subarray(o * reduced * inner), target.subarray(o * inner));
    }
  }
  return out;
}

/**
 * Add and Multiply where one operand is the output's shape and the other, smaller, repeats over one run of
 * axes: after its leading axes, e.g. a bias over the channels or a scalar ([C], [1]), or a per-image vector
 * over height and width (a UNet's time embedding, [B, 1, 1, C]) — which tfjs wasm broadcasts slowly; and
 * operands of one shape (a gradient summed over two uses of a tensor), on every core where XNNPACK's pass
 * runs on one. Other broadcasts return null.
 */
function addOrMultiply(multiply: boolean, native: Addon, { inputs, backend }: KernelArgs): tf.TensorInfo | null {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (!allFloat32(a, b)) return null;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const n = tf.util.sizeFromShape(outShape);
  const [big, small] = tf.util.sizeFromShape(a.shape) === n ? [a, b] : [b, a]; // both ops commute exactly
  if (n === 0 || tf.util.sizeFromShape(big.shape) !== n) return null;
  // small as [outer, 1, inner] against the output's [outer, repeats, inner].
  const rank = outShape.length;
  const padded = [...new Array<number>(rank - small.shape.length).fill(1), ...small.shape];
  let first = 0;
  while (first < rank && padded[first] === outShape[first]) first++;
  let last = first;
  while (last < rank && padded[last] === 1) last++;
  if (!padded.slice(last).every((d, i) => d === outShape[last + i])) return null;
  const sameShape = tf.util.sizeFromShape(small.shape) === n; // one run of n values
  const repeats = tf.util.sizeFromShape(outShape.slice(first, last));
  if (repeats === 1 && !sameShape) return null;
  const [outer, inner] = sameShape ? [1, n] : [outShape.slice(0, first), outShape.slice(last)].map(tf.util.sizeFromShape);
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput(outShape, "float32");
  const [bigView, smallView, outView] = [view(wasm, big), view(wasm, small), view(wasm, out)];
  const span = repeats * inner;
  for (let o = 0; o < outer; o++) {
    native.addOrMultiply(
      multiply, span, inner,
      bigView.subarray(o * span), smallView.subarray(o * inner), outView.subarray(o * span),
    );
  }
  return out;
}

/**
 * BatchMatMul and _FusedMatMul (bias, ReLU) of small matrices (up to 2²⁰ multiply-adds a product), such as a
 * UNet's time embedding: XNNPACK, behind tfjs's wasm kernel, packs the second operand on every call, which
 * cost more than the product (1 ms a teacher step for seven of them).
 */
function matMul(native: Addon, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
  const { transposeA, transposeB, activation = "linear" } = attrs as unknown as Partial<tf._FusedMatMulAttrs>;
  if (preluActivationWeights || (activation !== "linear" && activation !== "relu")) return null;
  if (!allFloat32(a!, b!, ...(bias ? [bias] : []))) return null;
  const [aShape, bShape] = [a!.shape, b!.shape];
  const [M, K] = transposeA ? [aShape.at(-1)!, aShape.at(-2)!] : [aShape.at(-2)!, aShape.at(-1)!];
  const [K2, N] = transposeB ? [bShape.at(-1)!, bShape.at(-2)!] : [bShape.at(-2)!, bShape.at(-1)!];
  const [aBatch, bBatch] = [aShape, bShape].map((shape) => tf.util.sizeFromShape(shape.slice(0, -2)));
  const batch = Math.max(aBatch!, bBatch!);
  // One operand's matrices, or one matrix for all: other batch broadcasts go to tfjs's kernel.
  if (K !== K2 || M * N * K > 2 ** 20 || (aBatch !== batch && aBatch !== 1) || (bBatch !== batch && bBatch !== 1)) return null;
  if (bias && tf.util.sizeFromShape(bias.shape) !== N) return null;
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  if (tf.util.sizeFromShape(batchShape) !== batch) return null;
  const wasm = backend as BackendWasm;
  const out = wasm.makeOutput([...batchShape, M, N], "float32");
  const shape = Int32Array.of(batch, M, N, K, transposeA ? 1 : 0, transposeB ? 1 : 0, aBatch === 1 ? 0 : M * K, bBatch === 1 ? 0 : K * N);
  native.matMul(shape, view(wasm, a!), view(wasm, b!), bias ? view(wasm, bias) : null, activation === "relu", view(wasm, out));
  return out;
}

/** ReLU on every core (tfjs's wasm one runs on one). */
function relu(native: Addon, { inputs, backend }: KernelArgs): tf.TensorInfo | null {
  const { x } = inputs as { x: tf.TensorInfo };
  if (!allFloat32(x)) return null;
  const wasm = backend as BackendWasm;
  const y = wasm.makeOutput(x.shape, "float32");
  native.relu(view(wasm, x), view(wasm, y));
  return y;
}

const natives: Record<string, (native: Addon, args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | null> = {
  [tf.Conv2D]: conv2d,
  [tf.FusedConv2D]: conv2d,
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter,
  [tf.Conv2DBackpropInput]: conv2dBackpropInput,
  [tf.MaxPoolGrad]: maxPoolGrad,
  [tf.ResizeNearestNeighbor]: resizeNearestNeighbor,
  [tf.ResizeNearestNeighborGrad]: resizeNearestNeighborGrad,
  [tf.Concat]: concat,
  [tf.SplitV]: splitV,
  [tf.Sum]: sum,
  [tf.Add]: (native, args) => addOrMultiply(false, native, args),
  [tf.Multiply]: (native, args) => addOrMultiply(true, native, args),
  [tf.Relu]: relu,
  [tf.BatchMatMul]: matMul,
  [tf._FusedMatMul]: matMul,
};

/**
 * The wasm kernel `fallback` (tfjs's own or one of ./kernels) with its native version in front when there
 * is one: the native code runs when active and able to, the fallback otherwise.
 */
export function withNative(fallback: tf.KernelConfig): tf.KernelConfig {
  const run = natives[fallback.kernelName];
  if (!run || fallback.backendName !== "wasm") return fallback;
  return {
    ...fallback,
    kernelFunc: (args) => {
      const native = enabled ? load() : null;
      return (native && run(native, args as KernelArgs)) || fallback.kernelFunc(args);
    },
  };
}
