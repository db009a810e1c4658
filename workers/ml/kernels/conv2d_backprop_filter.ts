/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships the forward Conv2D and Conv2DBackpropInput but
 * not the filter gradient that training needs. Composed from wasm's own Transpose and Conv2D kernels so the
 * heavy lifting stays in XNNPACK (SIMD) instead of falling back to JavaScript loops.
 *
 * The filter gradient of y = conv(x, W) with stride s and padding (pt, pl) is
 *   dW[kh, kw, ci, co] = Σ_{b, i, j} x[b, i·s + kh − pt, j·s + kw − pl, ci] · dy[b, i, j, co],
 * which is itself a convolution: put the input channels on the batch axis and the batch on the channel
 * axis, x' = xᵀ[ci, h, w, b], use dy' = dyᵀ[i, j, b, co] as the filter, and run a stride-1 convolution whose
 * *dilation* is the forward stride s:
 *   dW'[ci, kh, kw, co] = Σ_{i, j, b} x'[ci, kh + i·s − pt, kw + j·s − pl, b] · dy'[i, j, b, co].
 * Its output can be larger than the filter (when the forward conv never reached the input's last rows or
 * columns); the extra is sliced off, and a final transpose gives dW[kh, kw, ci, co].
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { runWasmKernel } from "./wasm_kernel";

function conv2DBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === "NCHW") {
    throw new Error("wasm Conv2DBackpropFilter supports only NHWC (channels-last) data, like wasm's Conv2D");
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;

  const run = (name: string, inputs: tf.NamedTensorInfoMap, attrs: object) =>
    runWasmKernel(backend, name, inputs, attrs);
  const free = (t: tf.TensorInfo) => backend.disposeData(t.dataId);

  const xT = run(tf.Transpose, { x }, { perm: [3, 1, 2, 0] }); // [ci, h, w, b]
  const dyT = run(tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] }); // [i, j, b, co]
  // The forward pass's own padding, given to XNNPACK as explicit padding (no padded copy of x).
  const padding = [
    [0, 0],
    [padInfo.top, padInfo.bottom],
    [padInfo.left, padInfo.right],
    [0, 0],
  ];
  const full = run(tf.Conv2D, { x: xT, filter: dyT }, {
    strides: [1, 1],
    dilations: [strideHeight, strideWidth],
    pad: padding,
    dataFormat: "NHWC",
  }); // [ci, ≥kh, ≥kw, co]
  free(xT);
  free(dyT);

  let cropped = full;
  if (full.shape[1] !== filterHeight || full.shape[2] !== filterWidth) {
    cropped = run(tf.Slice, { x: full }, { begin: [0, 0, 0, 0], size: [-1, filterHeight, filterWidth, -1] });
    free(full);
  }
  const dW = run(tf.Transpose, { x: cropped }, { perm: [1, 2, 0, 3] }); // [kh, kw, ci, co]
  free(cropped);
  return dW;
}

export const wasmConv2DBackpropFilter: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};
