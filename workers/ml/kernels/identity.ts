/**
 * `Identity` for the wasm backend without the copy. tfjs calls it for every engine clone (its gradient
 * bookkeeping clones activations and gradients many times per training step), and wasm's copies the
 * whole buffer each time. Tensor data is immutable in tfjs, so, like the cpu backend's Identity, this one
 * shares the buffer and counts one more reference to it (what wasm's own Reshape does).
 */
import * as tf from "@tensorflow/tfjs";

function identity(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend }): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const wasmIdentity: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: "wasm",
  kernelFunc: identity as tf.KernelFunc,
};
