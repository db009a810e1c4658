/**
 * `SplitV` for the wasm backend: the gradient of a concat (every UNet skip connection) splits dy along
 * the channel axis, and wasm's SplitV, a strided Slice per piece, took ~10% of a UNet training step.
 * Here each piece is copied row by row straight between views of the wasm heap (~4× faster).
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

function splitV(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const [dim] = tf.util.parseAxisParam(axis, x.shape) as [number];
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, dim);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, dim));
  const inner = tf.util.sizeFromShape(x.shape.slice(dim + 1));
  const rowLength = x.shape[dim]! * inner;

  // Allocate every output before taking heap views: an allocation may grow (and so move) the heap.
  const outputs = sizes.map((size) => backend.makeOutput(x.shape.map((d, i) => (i === dim ? size : d)), x.dtype));
  const source = backend.typedArrayFromHeap(x);
  let offset = 0;
  outputs.forEach((out, k) => {
    const target = backend.typedArrayFromHeap(out);
    const length = sizes[k]! * inner;
    for (let row = 0; row < outer; row++) {
      const start = row * rowLength + offset;
      target.set(source.subarray(start, start + length), row * length);
    }
    offset += length;
  });
  return outputs;
}

export const wasmSplitV: tf.KernelConfig = {
  kernelName: tf.SplitV,
  backendName: "wasm",
  kernelFunc: splitV as unknown as tf.KernelFunc,
};
