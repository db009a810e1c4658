/**
 * y = ReLU?(conv(x, w) + bias) + residual, a UNet's convolutions with what follows them: a ResBlock's first
 * with its bias plus the per-image time embedding ([batch, outC]) and ReLU, its second with the residual, and
 * the plain ones (stem, downsampling, output) with their bias. On the wasm backend with the native kernels,
 * one native pass that adds them as it stores each output, and a gradient that computes only what autodiff
 * asks for, a shared bias's summed inside the filter gradient; tfjs composed them from an Add, a ReLU and a
 * second Add, each a pass over the activation and its gradient (several more). Elsewhere, or outside what the
 * native conv covers, the same function from tfjs ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon, convShape } from "./native";
import { saveForGradient } from "./saved";
import { RELU_GRAD } from "./relu_grad";

export interface ConvBlockOptions {
  strides?: number;
  pad?: "same" | "valid";
  /** ReLU after the bias (not with a residual: its gradient would need the pre-residual value). */
  relu?: boolean;
  /** Added last, y's shape. */
  residual?: tf.Tensor4D;
  /** False when x needs no gradient (a network's input): autodiff is then not asked for it. */
  inputGradient?: boolean;
}

/** bias: [outC], or [batch, outC] for one row per image. */
export function convBlock(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, options: ConvBlockOptions = {}): tf.Tensor4D {
  const { strides = 1, pad = "same", relu = false, residual, inputGradient = true } = options;
  if (relu && residual) throw new Error("convBlock: ReLU and a residual together are not supported");
  const perImage = bias.rank === 2;
  const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape as [number, number, number, number], strides, 1, pad);
  const native = activeAddon();
  const covered = native && tf.getBackend() === "wasm" && [x, filter, bias, ...(residual ? [residual] : [])].every((t) => t.dtype === "float32");
  if (!covered) {
    const bias4d = perImage ? bias.reshape([x.shape[0], 1, 1, -1]) : bias;
    const y = tf.conv2d(x, filter, strides, pad).add(bias4d);
    const activated = relu ? tf.relu(y) : y;
    return (residual ? activated.add(residual) : activated) as tf.Tensor4D;
  }
  const backend = tf.backend() as BackendWasm;
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  // The op's differentiable inputs: [x,] filter, bias[, residual].
  const inputs = [...(inputGradient ? [x] : []), filter, bias, ...(residual ? [residual] : [])];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xs, w, b, r] = (inputGradient ? args : [x, ...args]) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor, tf.Tensor4D?];
    const out = backend.makeOutput(info.outShape, "float32");
    // Views after the allocation, which may grow (and so move) the heap.
    native.conv2dFused(convShape(info), view(xs), view(w), view(b), perImage, relu, r ? view(r) : null, view(out), null, null, null);
    const y = tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor4D;
    const restore = saveForGradient(save, [xs, w, y]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, w, y] = restore(saved) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const dz = relu ? (tf.engine().runKernel(RELU_GRAD, { x: y, dy }) as tf.Tensor4D) : (dy as tf.Tensor4D);
      const attrs = { strides, pad, dataFormat: "NHWC", dimRoundingMode: undefined };
      const run = (kernel: string, kernelInputs: tf.NamedTensorMap, extra: object) =>
        tf.engine().runKernel(kernel, kernelInputs, { ...attrs, ...extra } as never) as tf.Tensor;
      // A shared bias's gradient is summed inside the filter gradient, as it reads dz; one row per image is not.
      let filterAndBias: tf.Tensor[];
      if (perImage) {
        filterAndBias = [run(tf.Conv2DBackpropFilter, { x: xs, dy: dz }, { filterShape: w.shape }), tf.sum(dz, [1, 2])];
      } else {
        const [dw, db] = [w.shape, bias.shape].map((shape) => backend.makeOutput(shape, "float32"));
        native.conv2dBackpropFilter(convShape(info), view(xs), view(dz), view(dw!), view(db!));
        filterAndBias = [dw!, db!].map((t) => tf.engine().makeTensorFromTensorInfo(t));
      }
      return [
        ...(inputGradient ? [run(tf.Conv2DBackpropInput, { dy: dz, filter: w }, { inputShape: xs.shape })] : []),
        ...filterAndBias,
        ...(residual ? [dy.reshape(dy.shape)] : []), // a new tensor: autodiff disposes each gradient it adds
      ];
    };
    return { value: y, gradFunc };
  });
  return op(...inputs) as tf.Tensor4D;
}
