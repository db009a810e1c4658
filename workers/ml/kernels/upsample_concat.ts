/**
 * A UNet's up step: h resized (nearest neighbour) to skip's height and width, then concatenated with skip
 * along the channels. On the wasm backend with the native kernels, one op: the resize writes its pixels
 * straight into the concatenation and the gradient splits dy as it sums it back onto h's pixels, so neither
 * the resized h nor its gradient is ever a tensor of its own (two full-size passes each way fewer). Elsewhere,
 * tfjs's resizeNearestNeighbor and concat.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon, resizeArgs } from "./native";

export function upsampleConcat(h: tf.Tensor4D, skip: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, skipChannels] = skip.shape;
  const native = activeAddon();
  if (!native || tf.getBackend() !== "wasm" || h.dtype !== "float32" || skip.dtype !== "float32" || h.shape[0] !== batch) {
    const up = h.shape[1] === height && h.shape[2] === width ? h : tf.image.resizeNearestNeighbor(h, [height, width]);
    return tf.concat([up, skip], 3);
  }
  const backend = tf.backend() as BackendWasm;
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const [shape, rows, cols] = resizeArgs(h.shape, height, width, false, false, skipChannels);
  const op = tf.customGrad((hs, ss) => {
    const y = backend.makeOutput([batch, height, width, h.shape[3] + skipChannels], "float32");
    native.resizeNearestNeighbor(shape, rows, cols, view(hs as tf.Tensor), view(y), view(ss as tf.Tensor));
    return {
      value: tf.engine().makeTensorFromTensorInfo(y) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor) => {
        const [dh, dskip] = [h.shape, skip.shape].map((s) => backend.makeOutput(s, "float32"));
        native.resizeNearestNeighborGrad(shape, rows, cols, view(dy), view(dh!), view(dskip!));
        return [dh!, dskip!].map((t) => tf.engine().makeTensorFromTensorInfo(t));
      },
    };
  });
  return op(h, skip) as tf.Tensor4D;
}
