/**
 * `MaxPoolGrad` for the wasm backend. tfjs 4.22's wasm one routes the gradient to the window's *first*
 * element whenever every value in the window is negative (its running maximum starts above them), which
 * is common after SiLU or normalisation. This one routes dy to the window's maximum, the first one on
 * ties, exactly like the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";

function maxPoolGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { backend } = args;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: depth, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const x = backend.readSync(input.dataId) as Float32Array;
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(x.length);

  let dyIndex = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const rowStart = Math.max(0, yR * strideHeight - info.padInfo.top);
      const rowEnd = Math.min(inHeight, yR * strideHeight - info.padInfo.top + filterHeight);
      for (let yC = 0; yC < outWidth; yC++) {
        const colStart = Math.max(0, yC * strideWidth - info.padInfo.left);
        const colEnd = Math.min(inWidth, yC * strideWidth - info.padInfo.left + filterWidth);
        for (let d = 0; d < depth; d++) {
          let best = -Infinity;
          let bestIndex = ((b * inHeight + rowStart) * inWidth + colStart) * depth + d;
          for (let r = rowStart; r < rowEnd; r++) {
            for (let c = colStart; c < colEnd; c++) {
              const i = ((b * inHeight + r) * inWidth + c) * depth + d;
              if (x[i]! > best) {
                best = x[i]!;
                bestIndex = i;
              }
            }
          }
          dx[bestIndex] += dyValues[dyIndex++]!;
        }
      }
    }
  }
  return { dataId: backend.write(dx, input.shape, "float32"), shape: input.shape, dtype: "float32" };
}

export const wasmMaxPoolGrad: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: "wasm",
  kernelFunc: maxPoolGrad as tf.KernelFunc,
};
