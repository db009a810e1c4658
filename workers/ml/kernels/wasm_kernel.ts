import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * Calls one of the wasm backend's own kernels directly (not through the engine), as tfjs's kernels do
 * internally: no gradient tape, no tidy scopes; the caller frees intermediates with backend.disposeData.
 */
export function runWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: object,
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, "wasm");
  if (!kernel) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}
