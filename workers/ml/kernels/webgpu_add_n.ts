/**
 * `AddN` for the webgpu backend: tfjs-backend-webgpu 4.22 binds every input as one storage buffer of a
 * single shader, so a sum of more inputs than the device allows per stage (8 by default; gradient
 * clipping adds ~80 squared norms) fails validation and yields garbage. Here the inputs are summed in
 * chunks the device can bind, then the partial sums.
 */
import * as tf from "@tensorflow/tfjs";

interface WebgpuBackend extends tf.KernelBackend {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
}

/** Replaces the webgpu AddN; call after @tensorflow/tfjs-backend-webgpu registered its own. */
export function registerWebgpuAddN(): void {
  const own = tf.getKernel(tf.AddN, "webgpu");
  if (!own || own.kernelFunc.name === "chunkedAddN") return;
  const chunkedAddN: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const run = (tensors: tf.TensorInfo[]) =>
      own.kernelFunc({ inputs: tensors as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    const webgpu = backend as WebgpuBackend;
    const limit = Math.max(2, webgpu.device.limits.maxStorageBuffersPerShaderStage - 1);
    let level = inputs as unknown as tf.TensorInfo[];
    const partials: tf.TensorInfo[] = [];
    while (level.length > limit) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += limit) {
        const chunk = level.slice(i, i + limit);
        if (chunk.length === 1) {
          next.push(chunk[0]!);
        } else {
          const partial = run(chunk);
          partials.push(partial);
          next.push(partial);
        }
      }
      level = next;
    }
    const sum = run(level);
    // The backend defers freeing a buffer its queued commands still read.
    for (const partial of partials) webgpu.disposeData(partial.dataId);
    return sum;
  };
  tf.unregisterKernel(tf.AddN, "webgpu");
  tf.registerKernel({ ...own, kernelFunc: chunkedAddN });
}
