/**
 * ReLU's gradient in one native pass on the wasm backend. tfjs composes it as dy · cast(step(x)): three
 * single-threaded wasm passes (Step, a float32→float32 Cast that copies, Multiply) and two temporaries the
 * size of the activation, for every ReLU of a training step. Same values (step's NaN and the sign of
 * dy·0 kept); on other backends, or without the addon, tfjs's own composition.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon } from "./native";

export const RELU_GRAD = "CrackdiffReluGrad";

export const wasmReluGrad: tf.KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: "wasm",
  kernelFunc: ({ inputs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const wasm = backend as BackendWasm;
    const dx = wasm.makeOutput(x.shape, "float32");
    const view = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
    activeAddon()!.reluGrad(view(x), view(dy), view(dx)); // only run when active (see below)
    return dx;
  },
};

export const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    const grad = dy as tf.Tensor;
    const native = tf.getBackend() === "wasm" && activeAddon() && x.dtype === "float32" && grad.dtype === "float32" &&
      tf.util.arraysEqual(x.shape, grad.shape);
    return {
      x: () => (native ? tf.engine().runKernel(RELU_GRAD, { x, dy: grad }) as tf.Tensor : tf.mul(grad, tf.cast(tf.step(x), "float32"))),
    };
  },
};
