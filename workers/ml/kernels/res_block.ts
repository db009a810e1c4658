/**
 * A ResBlock with GroupNorm as one op: y = skip(x) + conv₂(ReLU(GroupNorm(conv₁(x) + t)·γ + β)), skip a
 * 1×1 conv where the width changes and x itself where not. On the wasm backend with the native kernels,
 * forward and gradient call the kernels directly, which saves passes over activations that tfjs's
 * composition of the same ops makes: the skip path is computed as conv₂ stores y, and its gradient as
 * conv₁'s input gradient stores dx (a 1×1 skip conv's output and input gradient never go through memory:
 * at 64×64 with 48 channels that was 1.8 ms of a 70 ms teacher step), and each bias gradient is summed as
 * its filter gradient reads dy instead of in a pass of its own; the tape records one op instead of a
 * dozen. Elsewhere, the same function composed from tfjs ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { convBlock } from "./conv_block";
import { groupNormRelu } from "./group_norm";
import { activeAddon, convShape } from "./native";
import { saveForGradient } from "./saved";

interface Conv {
  w: tf.Tensor4D;
  b: tf.Tensor;
}

export interface ResBlockWeights {
  conv1: Conv;
  /** GroupNorm's γ and β. */
  norm: { g: tf.Tensor; b: tf.Tensor };
  conv2: Conv;
  /** The 1×1 conv of the skip path, where the block changes the width. */
  skip?: Conv;
}

const EPSILON = 1e-5;

/** x [B, H, W, C], time [B, C₁] (added to conv₁'s output), `groups` GroupNorm groups of conv₁'s channels. */
export function resBlock(x: tf.Tensor4D, time: tf.Tensor2D, p: ResBlockWeights, groups: number): tf.Tensor4D {
  const weights = [p.conv1.w, p.conv1.b, p.norm.g, p.norm.b, p.conv2.w, p.conv2.b, ...(p.skip ? [p.skip.w, p.skip.b] : [])];
  const native = activeAddon();
  const covered = native && tf.getBackend() === "wasm" && [x, time, ...weights].every((t) => t.dtype === "float32");
  if (!covered) {
    const conv = (input: tf.Tensor4D, c: Conv) => tf.fused.conv2d({ x: input, filter: c.w, bias: c.b, strides: 1, pad: "same" });
    const h = groupNormRelu(conv(x, p.conv1), time, p.norm.g, p.norm.b, groups, EPSILON);
    return convBlock(h, p.conv2.w, p.conv2.b, { residual: p.skip ? conv(x, p.skip) : x });
  }
  const backend = tf.backend() as BackendWasm;
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const output = (shape: number[]) => backend.makeOutput(shape, "float32");
  const tensor = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info);
  const info = (input: number[], filter: tf.Tensor4D) =>
    tf.backend_util.computeConv2DInfo(input as [number, number, number, number], filter.shape, 1, 1, "same");
  const [batch, height, width] = x.shape;
  const first = info(x.shape, p.conv1.w);
  const second = info(first.outShape, p.conv2.w);
  const skip = p.skip ? info(x.shape, p.skip.w) : null;
  const normShape = Int32Array.of(batch, height * width, first.outChannels, groups);
  if (first.outChannels % groups !== 0) throw new Error(`resBlock: ${groups} groups do not divide ${first.outChannels} channels`);

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xs, t, w1, b1, g, beta, w2, b2, ws, bs] = args as tf.Tensor[];
    const [c1, h, y] = [first.outShape, first.outShape, second.outShape].map(output);
    const stats = output([batch, groups, 2]);
    // Views after the last allocation, which may grow (and so move) the heap.
    native.conv2dFused(convShape(first), view(xs!), view(w1!), view(b1!), false, false, null, view(c1!), null, null, null);
    native.groupNormRelu(normShape, view(c1!), view(t!), view(g!), view(beta!), EPSILON, view(h!), view(stats));
    // The skip path (x, or its 1×1 conv) added as conv₂ stores y.
    const [residual, skipX, skipW, skipB] = ws ? [null, view(xs!), view(ws), view(bs!)] : [view(xs!), null, null, null];
    native.conv2dFused(convShape(second), view(h!), view(w2!), view(b2!), false, false, residual, view(y!), skipX, skipW, skipB);
    const kept = [c1!, h!, stats].map(tensor);
    const restore = saveForGradient(save, [xs!, t!, w1!, g!, beta!, w2!, ...kept, ...(ws ? [ws] : [])]); // clones
    tf.dispose(kept);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, t, w1, g, beta, w2, c1, h, stats, ws] = restore(saved);
      const [dh, dc1] = [first.outShape, first.outShape].map(output);
      const grads = [xs!, t!, w1!, p.conv1.b, g!, beta!, w2!, p.conv2.b, ...(p.skip ? [p.skip.w, p.skip.b] : [])].map((v) =>
        output(v.shape),
      );
      const [dx, dt, dw1, db1, dg, dbeta, dw2, db2, dws, dbs] = grads;
      native.conv2dBackpropInput(convShape(second), view(dy), view(w2!), view(dh!), null, null, null);
      native.conv2dBackpropFilter(convShape(second), view(h!), view(dy), view(dw2!), view(db2!));
      native.groupNormReluGrad(
        normShape, view(c1!), view(t!), view(g!), view(beta!), view(stats!), view(dh!), view(dc1!), view(dt!), view(dg!), view(dbeta!),
      );
      if (skip) native.conv2dBackpropFilter(convShape(skip), view(xs!), view(dy), view(dws!), view(dbs!));
      // x's two gradients in one pass: conv₁'s, plus the skip path's (dy, or its 1×1 conv's input gradient)
      // added as dx is stored.
      native.conv2dBackpropInput(
        convShape(first), view(dc1!), view(w1!), view(dx!), ws ? null : view(dy), ws ? view(dy) : null, ws ? view(ws) : null,
      );
      native.conv2dBackpropFilter(convShape(first), view(xs!), view(dc1!), view(dw1!), view(db1!));
      for (const scratch of [dh, dc1]) backend.disposeData(scratch!.dataId);
      return grads.map(tensor);
    };
    return { value: tensor(y!) as tf.Tensor4D, gradFunc };
  });
  return op(x, time, ...weights) as tf.Tensor4D;
}
