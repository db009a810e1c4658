/**
 * tfjs's Adam with each variable's update in one native pass, all variables in one call split across the
 * threads (native/src/layout.cc's adam), on the wasm backend: tfjs runs about 12 element-wise kernels and 3
 * assigns per variable per step, each a dispatch, an allocation and a pass over memory; a UNet with ~80
 * weight tensors spends tens of ms per step there.
 * The moments are updated in place; the weights go to a new buffer, because the wasm backend's XNNPACK
 * operators (MatMul, its own convolutions) cache packed weights by buffer and would keep the old values.
 * The same float32 operations in the same order, so the values equal tfjs's. Its state (moments, bias
 * corrections, iterations) is tfjs's own, so getWeights/setWeights and checkpoints are unchanged; on other
 * backends, without the addon, or for non-float32 variables it is tfjs's AdamOptimizer. With globalClipNorm
 * the update also clips the gradients' global norm, multiplying each gradient by the factor as it reads it
 * (tfjs ops would make a pass per gradient to scale it first): the same float32 values either way.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon } from "./native";
import { sumOfSquares } from "./training_ops";

/** AdamOptimizer's private state, which this subclass reads and updates as tfjs does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

type Gradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0];
type GradientList = { name: string; tensor: tf.Tensor }[];

export class NativeAdamOptimizer extends tf.AdamOptimizer {
  constructor(
    learningRate: number, beta1: number, beta2: number, epsilon: number | undefined,
    /** Gradients are rescaled to this global L2 norm at most (Pascanu et al. 2013; Keras's global_clipnorm). */
    readonly globalClipNorm: number | null,
  ) {
    super(learningRate, beta1, beta2, epsilon);
  }

  override applyGradients(variableGradients: Gradients): void {
    const list = (Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name]! }))
    ).filter(({ tensor }) => tensor != null) as GradientList; // a variable without a gradient keeps its value
    const native = activeAddon();
    const variables = list.map(({ name }) => tf.engine().registeredVariables[name]!);
    const covered = native && tf.getBackend() === "wasm" && [...variables, ...list.map(({ tensor }) => tensor)].every((t) => t.dtype === "float32");
    const nativeScale = covered ? this.clipScale(list) : null;
    if (!native || nativeScale === null) {
      // tfjs's float32 arithmetic on tensors, and tfjs's Adam.
      const clipNorm = this.globalClipNorm;
      if (!clipNorm) return super.applyGradients(list);
      return tf.tidy(() => {
        const norm = tf.sqrt(tf.addN(list.map(({ tensor }) => tf.sum(tf.square(tensor)))));
        const scale = tf.minimum(1, tf.div(clipNorm, norm.add(1e-6)));
        super.applyGradients(list.map(({ name, tensor }) => ({ name, tensor: tensor.mul(scale) })));
      });
    }
    const state = this as unknown as AdamState;
    const backend = tf.backend() as BackendWasm;
    const view = (t: tf.Tensor) => backend.typedArrayFromHeap(t) as Float32Array;
    // An update in place must not show through another tensor sharing the buffer (a clone, a moment
    // restored from a checkpoint): such a moment first gets a buffer of its own (x·1 is exact).
    const own = (v: tf.Variable) => {
      if (backend.refCount(v.dataId) > 1) v.assign(tf.tidy(() => tf.mul(v, 1)));
    };
    tf.tidy(() => {
      // As tfjs: 1 − β^t in float32.
      const [oneMinusAccBeta1, oneMinusAccBeta2] = [state.accBeta1, state.accBeta2].map((b) => tf.sub(1, b).dataSync()[0]!);
      const scalars = Float32Array.of(
        this.beta1, 1 - this.beta1, this.beta2, 1 - this.beta2,
        oneMinusAccBeta1!, oneMinusAccBeta2!, this.epsilon, -this.learningRate, nativeScale,
      );
      const updates = list.map(({ name, tensor: gradient }, i) => {
        const value = variables[i]!;
        const moment = (slots: AdamState["accumulatedFirstMoment"], suffix: string) => {
          slots[i] ??= { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          return slots[i].variable;
        };
        const m = moment(state.accumulatedFirstMoment, "m");
        const v = moment(state.accumulatedSecondMoment, "v");
        own(m);
        own(v);
        return { value, m, v, gradient, updated: backend.makeOutput(value.shape, "float32") };
      });
      // One call for every variable, its views taken after the last allocation (one may grow the heap and
      // detach the views taken before it).
      native.adam(
        scalars, updates.map((u) => view(u.value)), updates.map((u) => view(u.m)), updates.map((u) => view(u.v)),
        updates.map((u) => view(u.gradient)), updates.map((u) => backend.typedArrayFromHeap(u.updated) as Float32Array),
      );
      // The tidy frees each wrapper; the variable keeps the data.
      for (const u of updates) u.value.assign(tf.engine().makeTensorFromTensorInfo(u.updated));
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }

  /**
   * The clipping factor min(1, maxNorm / (‖g‖ + 1e-6)) from one native pass per gradient, in the float32
   * arithmetic of the tfjs ops above; 1 without clipping; null where the native pass does not apply.
   */
  private clipScale(list: GradientList): number | null {
    if (!this.globalClipNorm) return 1;
    const squares = sumOfSquares(list.map(({ tensor }) => tensor));
    if (squares === null) return null;
    const norm = Math.fround(Math.sqrt(squares));
    return Math.min(1, Math.fround(Math.fround(this.globalClipNorm) / Math.fround(norm + Math.fround(1e-6))));
  }
}

/**
 * tf.train.adam's defaults (β₁ 0.9, β₂ 0.999, ε the backend's), native where it can be, with optional
 * clipping of the gradients' global norm (applied inside the native update, not as a pass of its own).
 */
export function adam(
  learningRate: number,
  { beta1 = 0.9, beta2 = 0.999, epsilon, globalClipNorm }: { beta1?: number; beta2?: number; epsilon?: number; globalClipNorm?: number } = {},
): NativeAdamOptimizer {
  if (globalClipNorm !== undefined && !(globalClipNorm > 0 && Number.isFinite(globalClipNorm))) {
    throw new Error(`adam: globalClipNorm must be a positive number, got ${globalClipNorm}`);
  }
  return new NativeAdamOptimizer(learningRate, beta1, beta2, epsilon, globalClipNorm ?? null);
}
