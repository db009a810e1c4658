/**
 * GroupNorm as a ResBlock uses it: ReLU(GroupNorm(x + t)·γ + β), t a per-image channel vector (the time
 * projection) broadcast over height and width. tfjs composes it from about ten generic ops forward and
 * twenty backward, each a single-threaded pass over the activation on wasm, which made GroupNorm cost the
 * teacher half its training speed; with the addon active it is one native kernel each way (a registered
 * kernel pair under tf.customGrad). Elsewhere the same composition of tfjs ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon } from "./native";
import { saveForGradient } from "./saved";

const FORWARD = "CrackdiffGroupNormRelu";
const BACKWARD = "CrackdiffGroupNormReluGrad";

type Info = tf.TensorInfo;
const views = (wasm: BackendWasm, ...tensors: Info[]) => tensors.map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
const shapeOf = (x: Info, groups: number) => {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  return Int32Array.of(batch, height * width, channels, groups);
};

export const wasmGroupNormRelu: tf.KernelConfig = {
  kernelName: FORWARD,
  backendName: "wasm",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, t, gamma, beta } = inputs as Record<string, Info>;
    const { groups, epsilon } = attrs as { groups: number; epsilon: number };
    const wasm = backend as BackendWasm;
    const y = wasm.makeOutput(x.shape, "float32");
    const stats = wasm.makeOutput([x.shape[0]!, groups, 2], "float32");
    const [xv, tv, gv, bv, yv, sv] = views(wasm, x, t!, gamma!, beta!, y, stats); // after the allocations
    activeAddon()!.groupNormRelu(shapeOf(x, groups), xv!, tv!, gv!, bv!, epsilon, yv!, sv!);
    return [y, stats];
  },
};

export const wasmGroupNormReluGrad: tf.KernelConfig = {
  kernelName: BACKWARD,
  backendName: "wasm",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, t, gamma, beta, stats, dy } = inputs as Record<string, Info>;
    const { groups } = attrs as { groups: number };
    const wasm = backend as BackendWasm;
    const outputs = [x.shape, t!.shape, gamma!.shape, beta!.shape].map((shape) => wasm.makeOutput(shape, "float32"));
    const [xv, tv, gv, bv, sv, dyv, dx, dt, dg, db] = views(wasm, x, t!, gamma!, beta!, stats!, dy!, ...outputs);
    activeAddon()!.groupNormReluGrad(shapeOf(x, groups), xv!, tv!, gv!, bv!, sv!, dyv!, dx!, dt!, dg!, db!);
    return outputs;
  },
};

function native(x: tf.Tensor4D, t: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon: number) {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, tIn, gIn, bIn] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const [y, stats] = tf.engine().runKernel(FORWARD, { x: xIn!, t: tIn!, gamma: gIn!, beta: bIn! }, { groups, epsilon }) as tf.Tensor[];
    const restore = saveForGradient(save, [xIn!, tIn!, gIn!, bIn!, stats!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ts, gs, bs, ss] = restore(saved) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return tf.engine().runKernel(BACKWARD, { x: xs, t: ts, gamma: gs, beta: bs, stats: ss, dy }, { groups }) as tf.Tensor[];
      },
    };
  });
  return op(x, t, gamma, beta) as tf.Tensor4D;
}

/**
 * ReLU(GroupNorm(x + t)·γ + β) for x [B, H, W, C], t [B, C], γ and β [C]: `groups` groups of C/groups
 * consecutive channels, each normalised over its channels and the pixels by its mean and variance (biased).
 */
export function groupNormRelu(
  x: tf.Tensor4D, t: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon = 1e-5,
): tf.Tensor4D {
  const [b, height, width, c] = x.shape;
  if (c % groups !== 0) throw new Error(`groupNorm: ${groups} groups do not divide ${c} channels`);
  const fused =
    tf.getBackend() === "wasm" && activeAddon() && tf.getKernel(FORWARD, "wasm") !== undefined &&
    [x, t, gamma, beta].every((v) => v.dtype === "float32") &&
    tf.util.arraysEqual(t.shape, [b, c]) && gamma.size === c && beta.size === c;
  if (fused) return native(x, t, gamma.reshape([c]), beta.reshape([c]), groups, epsilon);
  const grouped = x.add(t.reshape([b, 1, 1, c])).reshape([b, height, width, groups, c / groups]);
  const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
  const normalised = grouped.sub(mean).mul(tf.rsqrt(variance.add(epsilon))).reshape([b, height, width, c]);
  return tf.relu(normalised.mul(gamma).add(beta)) as tf.Tensor4D;
}
