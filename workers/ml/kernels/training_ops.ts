/**
 * Two per-step passes of DDPM training over every weight tensor, in one native call per tensor on the
 * wasm backend instead of 3 tfjs ops each (~80 tensors in the default UNet): the EMA of the weights and
 * the sum of squares behind gradient clipping. Same float32 values as the tfjs ops they replace; null or
 * false where the addon is not active, and the caller runs the tfjs ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon } from "./native";

function wasmAddon(tensors: tf.Tensor[]) {
  const native = activeAddon();
  if (!native || tf.getBackend() !== "wasm" || tensors.some((t) => t.dtype !== "float32")) return null;
  return { native, backend: tf.backend() as BackendWasm };
}

/**
 * shadow ← shadow·d + source·(1 − d) for each pair, as tfjs's shadow.mul(d).add(source.mul(1 − d)) (the
 * result in a new buffer: XNNPACK caches packed weights by buffer). False, with nothing changed, when not native.
 */
export function emaUpdate(pairs: [tf.Variable, tf.Tensor][], d: number): boolean {
  const ready = wasmAddon(pairs.flat());
  if (!ready || pairs.some(([a, b]) => !tf.util.arraysEqual(a.shape, b.shape))) return false;
  const { native, backend } = ready;
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  tf.tidy(() => {
    for (const [shadow, source] of pairs) {
      const out = backend.makeOutput(shadow.shape, "float32");
      native.ema(view(shadow), view(source), d, 1 - d, view(out)); // views after the allocation
      shadow.assign(tf.engine().makeTensorFromTensorInfo(out));
    }
  });
  return true;
}

/** Σ over the tensors of Σ x², as tfjs's addN(tensors.map((t) => sum(square(t)))) in float32; null when not native. */
export function sumOfSquares(tensors: tf.Tensor[]): number | null {
  const ready = wasmAddon(tensors);
  if (!ready) return null;
  let total = 0;
  for (const t of tensors) total = Math.fround(total + ready.native.sumOfSquares(ready.backend.typedArrayFromHeap(t) as Float32Array));
  return total;
}
