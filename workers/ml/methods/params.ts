/**
 * Named weights for the small convolutional methods (autoencoder, students): a spec list in a fixed order,
 * variables initialised from a seed (He-uniform or zeros), and the ops they are built from. As the UNet,
 * they use only conv2d with fused bias / ReLU, nearest resize and add, so every op has a fast kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { mixSeed } from "../hash";
import type { Weights } from "../unet";

export interface ParamSpec {
  name: string;
  shape: number[];
  init: "he" | "zeros";
}

/** Appends the weight and bias of a k×k conv from cin to cout channels. */
export function convSpec(specs: ParamSpec[], name: string, k: number, cin: number, cout: number, zero = false): void {
  specs.push({ name: `${name}.w`, shape: [k, k, cin, cout], init: zero ? "zeros" : "he" });
  specs.push({ name: `${name}.b`, shape: [cout], init: "zeros" });
}

export class ParamSet {
  readonly variables = new Map<string, tf.Variable>();

  constructor(
    readonly specs: ParamSpec[],
    seed: number,
  ) {
    specs.forEach((spec, i) => {
      const value = tf.tidy(() => {
        if (spec.init === "zeros") return tf.zeros(spec.shape);
        const fanIn = spec.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        const limit = Math.sqrt(6 / fanIn);
        return tf.randomUniform(spec.shape, -limit, limit, "float32", mixSeed(seed, i));
      });
      this.variables.set(spec.name, tf.variable(value, true, `params/${spec.name}/${counter++}`));
      value.dispose();
    });
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  /** Copies values into the variables; names and shapes must match. */
  assign(values: Weights): void {
    for (const [name, variable] of this.variables) {
      const value = values.get(name);
      if (!value) throw new Error(`missing weight "${name}"`);
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        throw new Error(`weight "${name}" has shape [${value.shape}], expected [${variable.shape}]`);
      }
      variable.assign(value);
    }
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}

let counter = 0;

/** A 'same'-padded conv with fused bias (and ReLU) from the weights named `name`. */
export function conv(weights: Weights, x: tf.Tensor4D, name: string, stride = 1, activation: "linear" | "relu" = "linear"): tf.Tensor4D {
  const filter = weights.get(`${name}.w`);
  const bias = weights.get(`${name}.b`);
  if (!filter || !bias) throw new Error(`missing weight "${name}"`);
  return tf.fused.conv2d({ x, filter: filter as tf.Tensor4D, bias, strides: stride, pad: "same", activation });
}

/** Nearest-neighbour ×2 upsampling. */
export function up2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * 2, x.shape[2] * 2]);
}
