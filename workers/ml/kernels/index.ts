/**
 * Kernels Crackdiff replaces or adds in tfjs 4.22 so that training is fast on wasm and correct everywhere
 * (each checked against the cpu backend or a plain reference in test/ml/kernels.test.ts):
 * - wasm Conv2DBackpropFilter: missing; composed from wasm's own Transpose + XNNPACK Conv2D.
 * - wasm Conv2DBackpropInput: wasm's is a slow plain loop; composed the same way (~12× faster).
 * - wasm MaxPoolGrad: wasm's misroutes the gradient when a whole window is negative.
 * - cpu and wasm ResizeNearestNeighborGrad: cpu's is wrong for batch > 1, wasm's with halfPixelCenters.
 * - wasm SplitV (a concat's gradient): wasm's strided slices are slow; plain heap copies instead.
 * - wasm Identity: shares the buffer like cpu's instead of copying it (tfjs clones a lot in backprop).
 * - wasm Conv2D, FusedConv2D, both conv gradients, MaxPoolGrad, ResizeNearestNeighbor(Grad), SplitV, Concat,
 *   Sum, Add, Multiply, Relu: in native code on all cores when ./native's addon is built, with the kernels above
 *   (or tfjs's own) behind them for what it does not cover; small BatchMatMul and _FusedMatMul likewise.
 * - ReLU's gradient (dy · step(x), three wasm passes): one native pass (./relu_grad.ts).
 * - A ResBlock's time-projection add + GroupNorm + ReLU and its gradient: one native kernel each
 *   (./group_norm.ts), where tfjs composes dozens of generic ops.
 * - Adam (./adam.ts, an optimizer rather than a kernel): one native pass per variable.
 * - webgpu AddN: summed in chunks a shader can bind (./webgpu_add_n.ts, registered by ../webgpu.ts when that
 *   backend loads, since its package registers its own AddN on import).
 * - A ResBlock's convs with their bias, time embedding, ReLU or residual (./conv_block.ts, an op): one
 *   native pass each, and only the gradients autodiff asks for.
 * - A ResBlock with GroupNorm, whole (./res_block.ts, an op): x's two gradients in one pass, the bias
 *   gradients summed inside the filter gradients.
 * - A UNet's up step, resize and concat (./upsample_concat.ts, an op): no resized tensor of its own.
 * Not supplied: the depthwise-conv gradients (DepthwiseConv2dNativeBackprop{Filter,Input}); wasm has none,
 * so a depthwise conv trains only on the cpu or tensorflow backends.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmConv2DBackpropFilter } from "./conv2d_backprop_filter";
import { wasmConv2DBackpropInput } from "./conv2d_backprop_input";
import { wasmGroupNormRelu, wasmGroupNormReluGrad } from "./group_norm";
import { wasmIdentity } from "./identity";
import { wasmMaxPoolGrad } from "./max_pool_grad";
import { withNative } from "./native";
import { reluGradConfig, wasmReluGrad } from "./relu_grad";
import { resizeNearestNeighborGradKernels } from "./resize_nearest_neighbor_grad";
import { wasmSplitV } from "./split_v";

const kernels: tf.KernelConfig[] = [
  wasmConv2DBackpropFilter,
  wasmConv2DBackpropInput,
  wasmMaxPoolGrad,
  ...resizeNearestNeighborGradKernels,
  wasmSplitV,
  wasmIdentity,
  wasmReluGrad,
  wasmGroupNormRelu,
  wasmGroupNormReluGrad,
];

let registered = false;

/** Registers these kernels, replacing tfjs's own where it has one. Idempotent. */
export function registerKernels(): void {
  if (registered) return;
  const replace = (config: tf.KernelConfig) => {
    if (tf.getKernel(config.kernelName, config.backendName)) {
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  };
  for (const config of kernels) replace(withNative(config));
  const wasmOwn = [
    tf.Conv2D, tf.FusedConv2D, tf.Concat, tf.Sum, tf.Add, tf.Multiply, tf.Relu, tf.ResizeNearestNeighbor, tf.BatchMatMul,
    tf._FusedMatMul,
  ];
  for (const name of wasmOwn) replace(withNative(tf.getKernel(name, "wasm")!));
  tf.registerGradient(reluGradConfig);
  registered = true;
}
