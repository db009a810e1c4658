/**
 * tfjs's Adam with each variable's update in one native pass (native/src/layout.cc's adam) on the wasm
 * backend: tfjs runs about 12 element-wise kernels and 3 assigns per variable per step, each a dispatch,
 * an allocation and a pass over memory; a UNet with ~80 weight tensors spends tens of ms per step there.
 * The moments are updated in place; the weights go to a new buffer, because the wasm backend's XNNPACK
 * operators (MatMul, its own convolutions) cache packed weights by buffer and would keep the old values.
 * The same float32 operations in the same order, so the values equal tfjs's. Its state (moments, bias
 * corrections, iterations) is tfjs's own, so getWeights/setWeights and checkpoints are unchanged; on other
 * backends, without the addon, or for non-float32 variables it is tfjs's AdamOptimizer.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { activeAddon } from "./native";

/** AdamOptimizer's private state, which this subclass reads and updates as tfjs does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

type Gradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

export class NativeAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    const native = activeAddon();
    if (!native || tf.getBackend() !== "wasm") return super.applyGradients(variableGradients);
    const list = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name]! }));
    const variables = list.map(({ name }) => tf.engine().registeredVariables[name]!);
    if (variables.some((v) => v.dtype !== "float32") || list.some(({ tensor }) => tensor?.dtype !== "float32" && tensor != null)) {
      return super.applyGradients(variableGradients);
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
        oneMinusAccBeta1!, oneMinusAccBeta2!, this.epsilon, -this.learningRate,
      );
      list.forEach(({ name, tensor: gradient }, i) => {
        const value = variables[i]!;
        const moment = (slots: AdamState["accumulatedFirstMoment"], suffix: string) => {
          slots[i] ??= { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          return slots[i].variable;
        };
        const m = moment(state.accumulatedFirstMoment, "m");
        const v = moment(state.accumulatedSecondMoment, "v");
        if (gradient == null) return;
        own(m);
        own(v);
        const updated = backend.makeOutput(value.shape, "float32");
        // Views after the last allocation: one may grow the heap and detach earlier views.
        native.adam(scalars, view(value), view(m), view(v), view(gradient), backend.typedArrayFromHeap(updated) as Float32Array);
        value.assign(tf.engine().makeTensorFromTensorInfo(updated)); // the tidy frees the wrapper, the variable keeps the data
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}

/** tf.train.adam's defaults (β₁ 0.9, β₂ 0.999, ε the backend's), native where it can be. */
export function adam(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.AdamOptimizer {
  return new NativeAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
