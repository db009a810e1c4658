/**
 * `ResizeNearestNeighborGrad` for the cpu and wasm backends. tfjs 4.22's cpu one reads dy at the *image's*
 * batch offset, so for any batch larger than one it returns the wrong gradient; its wasm one is wrong with
 * halfPixelCenters at non-integer scales. This one scatters each dy pixel onto the input pixel the forward resize copied it
 * from, using the forward kernel's own source-index rule, so it is right by construction.
 */
import * as tf from "@tensorflow/tfjs";

/** The input row (or column) the forward nearest-neighbour resize reads for output index `i`. */
export function nearestSource(
  i: number,
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  halfPixelCenters: boolean,
): number {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, nearest) : nearest;
}

function resizeNearestNeighborGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { backend } = args;
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as tf.ResizeNearestNeighborGradAttrs & {
    halfPixelCenters?: boolean;
  };
  const [batch, inHeight, inWidth, depth] = images.shape as [number, number, number, number];
  const [, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(batch * inHeight * inWidth * depth);

  const sourceRow = Array.from({ length: outHeight }, (_, r) =>
    nearestSource(r, inHeight, outHeight, alignCorners, halfPixelCenters ?? false),
  );
  const sourceCol = Array.from({ length: outWidth }, (_, c) =>
    nearestSource(c, inWidth, outWidth, alignCorners, halfPixelCenters ?? false),
  );
  let dyIndex = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outHeight; r++) {
      const rowBase = (b * inHeight + sourceRow[r]!) * inWidth;
      for (let c = 0; c < outWidth; c++) {
        const base = (rowBase + sourceCol[c]!) * depth;
        for (let d = 0; d < depth; d++) dx[base + d] += dyValues[dyIndex++]!;
      }
    }
  }
  return { dataId: backend.write(dx, images.shape, "float32"), shape: images.shape, dtype: "float32" };
}

export const resizeNearestNeighborGradKernels: tf.KernelConfig[] = ["cpu", "wasm"].map((backendName) => ({
  kernelName: tf.ResizeNearestNeighborGrad,
  backendName,
  kernelFunc: resizeNearestNeighborGrad as tf.KernelFunc,
}));
