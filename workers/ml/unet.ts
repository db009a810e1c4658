/**
 * The ε-network ε_θ(x_t, t): a small UNet (Ronneberger et al. 2015) in the shape DDPM uses (Ho et al. 2020
 * App. B), built from tfjs ops over named variables so that every op has a fast kernel on the wasm
 * backend: conv2d with fused bias, stride-2 conv down, nearest resize up, concat, add, ReLU, and the
 * ResBlock's convs with their additions fused (./kernels/conv_block.ts); the up step's resize and concat are
 * one op (./kernels/upsample_concat.ts).
 *
 *   stem conv → [ResBlock → (stride-2 conv)] per level → ResBlock (middle)
 *             → [(nearest ×2) → ResBlock over (h, skip) concatenated] per level → ReLU → conv → ε̂
 *   ResBlock(x) = skip(x) + conv₂(ReLU(conv₁(x) + W·emb(t)))
 *
 * The timestep enters through a sinusoidal embedding (Vaswani et al. 2017, as in DDPM) passed through a
 * two-layer MLP and added, projected, inside every ResBlock. Level l has width·2^min(l, 2) channels.
 * GroupNorm (`norm`, on by default) normalises each ResBlock's first conv before its ReLU: healing then
 * localises cracks better on real pavement, whose tiles vary in brightness and texture (docs/localisation.md).
 * Such a ResBlock is one op (./kernels/res_block.ts, with ./kernels/group_norm.ts's kernel), native on wasm
 * when the addon is.
 * Each residual branch's last conv starts at zero, so the net starts as a stack of identities (as Fixup,
 * Zhang et al. 2019); without GroupNorm it still trains stably.
 * The weights live in a name → tensor map, so the same forward pass runs on the trained weights or their
 * exponential moving average (used for sampling).
 */
import * as tf from "@tensorflow/tfjs";
import { convBlock } from "./kernels/conv_block";
import { resBlock as resBlockOp } from "./kernels/res_block";
import { upsampleConcat } from "./kernels/upsample_concat";
import { mixSeed } from "./hash";

export interface UNetConfig {
  /** Image channels in and out (1 = grayscale, 3 = RGB). */
  channels: 1 | 3;
  /** Channels at full resolution. */
  width: number;
  /** Resolution levels; the image side must be divisible by 2^(depth − 1). */
  depth: number;
  /** A self-attention block after the middle ResBlock, at the lowest resolution (Ho et al. use it at 16×16). */
  attention?: boolean;
  /** GroupNorm (4 channels a group) before each ResBlock's ReLU, as Ho et al. normalise. */
  norm?: boolean;
}

export const defaultUNetConfig: UNetConfig = { channels: 1, width: 16, depth: 4, norm: true };

/** Anything that maps a weight name to its tensor: the model's variables or their EMA. */
export type Weights = ReadonlyMap<string, tf.Tensor>;

interface ParamSpec {
  name: string;
  shape: number[];
  init: "he" | "zeros" | "ones";
}

export function levelWidths(config: UNetConfig): number[] {
  return Array.from({ length: config.depth }, (_, l) => config.width * 2 ** Math.min(l, 2));
}

export function validateUNetConfig(config: UNetConfig): void {
  const { channels, width, depth } = config;
  if (channels !== 1 && channels !== 3) throw new Error(`unet: channels must be 1 or 3, got ${channels}`);
  if (!Number.isInteger(width) || width < 4 || width > 256) throw new Error(`unet: width must be an integer in [4, 256], got ${width}`);
  if (!Number.isInteger(depth) || depth < 1 || depth > 6) throw new Error(`unet: depth must be an integer in [1, 6], got ${depth}`);
}

/** The parameter list of a config, in a fixed order (names are stable: checkpoints key on them). */
function paramSpecs(config: UNetConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const conv = (name: string, k: number, cin: number, cout: number, zero = false) => {
    specs.push({ name: `${name}.w`, shape: [k, k, cin, cout], init: zero ? "zeros" : "he" });
    specs.push({ name: `${name}.b`, shape: [cout], init: "zeros" });
  };
  const dense = (name: string, cin: number, cout: number, zero = false) => {
    specs.push({ name: `${name}.w`, shape: [cin, cout], init: zero ? "zeros" : "he" });
    specs.push({ name: `${name}.b`, shape: [cout], init: "zeros" });
  };
  const resBlock = (name: string, cin: number, cout: number) => {
    conv(`${name}.conv1`, 3, cin, cout);
    dense(`${name}.time`, timeDim(config), cout);
    if (config.norm) {
      specs.push({ name: `${name}.norm.g`, shape: [cout], init: "ones" });
      specs.push({ name: `${name}.norm.b`, shape: [cout], init: "zeros" });
    }
    // Zero-initialised so each block starts as the identity (the "zero_module" of improved DDPM).
    conv(`${name}.conv2`, 3, cout, cout, true);
    if (cin !== cout) conv(`${name}.skip`, 1, cin, cout);
  };

  const widths = levelWidths(config);
  dense("time.fc1", SINUSOID_DIM, timeDim(config));
  dense("time.fc2", timeDim(config), timeDim(config));
  conv("stem", 3, config.channels, widths[0]!);
  let c = widths[0]!;
  for (let l = 0; l < config.depth; l++) {
    resBlock(`down${l}.block`, c, widths[l]!);
    c = widths[l]!;
    if (l < config.depth - 1) conv(`down${l}.downsample`, 3, c, c);
  }
  resBlock("mid.block", c, c);
  if (config.attention) {
    for (const part of ["q", "k", "v"]) dense(`mid.attn.${part}`, c, c);
    dense("mid.attn.out", c, c, true);
  }
  for (let l = config.depth - 1; l >= 0; l--) {
    resBlock(`up${l}.block`, c + widths[l]!, widths[l]!);
    c = widths[l]!;
  }
  conv("out.conv", 3, c, config.channels, true);
  return specs;
}

/** Width of the sinusoidal timestep features (32 frequencies from 1 to 1/10000). */
const SINUSOID_DIM = 64;

function timeDim(config: UNetConfig): number {
  return 4 * config.width;
}

/**
 * Sinusoidal timestep embedding [batch, dim]: [sin(t·ω_i), cos(t·ω_i)], ω_i = 10000^(−i/(dim/2)).
 */
export function timestepEmbedding(t: ArrayLike<number>, dim: number): tf.Tensor2D {
  const half = Math.floor(dim / 2);
  const out = new Float32Array(t.length * dim);
  for (let b = 0; b < t.length; b++) {
    for (let i = 0; i < half; i++) {
      const angle = t[b]! * Math.exp((-Math.log(10000) * i) / half);
      out[b * dim + i] = Math.sin(angle);
      out[b * dim + half + i] = Math.cos(angle);
    }
  }
  return tf.tensor2d(out, [t.length, dim]);
}

export class UNet {
  readonly config: UNetConfig;
  /** Trainable weights, by name, in a stable order. */
  readonly variables: Map<string, tf.Variable>;

  constructor(config: UNetConfig, seed = 0) {
    validateUNetConfig(config);
    this.config = { ...config };
    this.variables = new Map();
    paramSpecs(config).forEach((spec, i) => {
      const value = tf.tidy(() => initialValue(spec, mixSeed(seed, i)));
      this.variables.set(spec.name, tf.variable(value, true, `unet/${spec.name}/${variableCounter++}`));
      value.dispose();
    });
  }

  /** Parameter names and shapes, in order. */
  static specs(config: UNetConfig): { name: string; shape: number[] }[] {
    return paramSpecs(config).map(({ name, shape }) => ({ name, shape }));
  }

  get parameterCount(): number {
    let n = 0;
    for (const v of this.variables.values()) n += v.size;
    return n;
  }

  /** Copies values (a checkpoint's, an EMA's) into the variables; names and shapes must match. */
  assign(values: Weights): void {
    for (const [name, variable] of this.variables) {
      const value = values.get(name);
      if (!value) throw new Error(`unet: missing weight "${name}"`);
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        throw new Error(`unet: weight "${name}" has shape [${value.shape}], expected [${variable.shape}]`);
      }
      variable.assign(value);
    }
  }

  /** ε̂ = ε_θ(x_t, t) for x_t [B, H, W, C] in the [−1, 1] data scale; t a step for all or one per example. */
  apply(xt: tf.Tensor4D, t: number | ArrayLike<number>, weights: Weights = this.variables): tf.Tensor4D {
    const [batch, height, width, channels] = xt.shape;
    const factor = 2 ** (this.config.depth - 1);
    if (channels !== this.config.channels) {
      throw new Error(`unet: expected ${this.config.channels} channel(s), got ${channels}`);
    }
    if (height % factor !== 0 || width % factor !== 0) {
      throw new Error(`unet: image ${height}×${width} must be divisible by ${factor} (depth ${this.config.depth})`);
    }
    const steps = typeof t === "number" ? new Array<number>(batch).fill(t) : t;
    if (steps.length !== batch) throw new Error(`unet: ${steps.length} timesteps for a batch of ${batch}`);
    return tf.tidy(() => forward(this.config, weights, xt, timestepEmbedding(steps, SINUSOID_DIM)));
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
  }
}

let variableCounter = 0;

function initialValue(spec: ParamSpec, seed: number): tf.Tensor {
  if (spec.init === "zeros") return tf.zeros(spec.shape);
  if (spec.init === "ones") return tf.ones(spec.shape);
  // He-uniform over the fan-in (every product in the last dimension's sum).
  const fanIn = spec.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const limit = Math.sqrt(6 / fanIn);
  return tf.randomUniform(spec.shape, -limit, limit, "float32", seed);
}

function forward(config: UNetConfig, weights: Weights, xt: tf.Tensor4D, tEmbedding: tf.Tensor2D): tf.Tensor4D {
  const w = (name: string): tf.Tensor => {
    const value = weights.get(name);
    if (!value) throw new Error(`unet: missing weight "${name}"`);
    return value;
  };
  const conv = (x: tf.Tensor4D, name: string, strides = 1): tf.Tensor4D =>
    convBlock(x, w(`${name}.w`) as tf.Tensor4D, w(`${name}.b`), { strides });
  const dense = (x: tf.Tensor2D, name: string, activation: "linear" | "relu" = "linear"): tf.Tensor2D =>
    tf.fused.matMul({ a: x, b: w(`${name}.w`) as tf.Tensor2D, bias: w(`${name}.b`), activation }) as tf.Tensor2D;
  const timeFeatures = dense(dense(tEmbedding, "time.fc1", "relu"), "time.fc2", "relu");
  // Every ResBlock's projection of the time features as one matmul, split per block: nine small ones cost a
  // dispatch each way and a gradient sum each, more than their arithmetic.
  const levels = [...Array(config.depth).keys()];
  const blocks = [...levels.map((l) => `down${l}.block`), "mid.block", ...levels.map((l) => `up${l}.block`)];
  const projections = blocks.map((name) => w(`${name}.time.w`) as tf.Tensor2D);
  const projected = tf.fused.matMul({
    a: timeFeatures,
    b: tf.concat(projections, 1),
    bias: tf.concat(blocks.map((name) => w(`${name}.time.b`)), 0),
  });
  const parts = tf.split(projected, projections.map((p) => p.shape[1]), 1);
  const times = new Map(blocks.map((name, i) => [name, parts[i] as tf.Tensor2D]));
  const resBlock = (x: tf.Tensor4D, name: string): tf.Tensor4D => {
    const time = times.get(name)!;
    const convWeights = (part: string) => ({ w: w(`${name}.${part}.w`) as tf.Tensor4D, b: w(`${name}.${part}.b`) });
    const skip = weights.has(`${name}.skip.w`) ? convWeights("skip") : undefined;
    if (config.norm) {
      const norm = { g: w(`${name}.norm.g`), b: w(`${name}.norm.b`) };
      const block = { conv1: convWeights("conv1"), norm, conv2: convWeights("conv2"), skip };
      return resBlockOp(x, time, block, Math.max(1, Math.floor(block.conv1.w.shape[3] / 4)));
    }
    // conv₁'s bias and the time embedding as one bias row per image, added with the ReLU as conv₁ stores its
    // outputs; the residual added by conv₂ as it stores its outputs.
    const h = convBlock(x, w(`${name}.conv1.w`) as tf.Tensor4D, time.add(w(`${name}.conv1.b`)), { relu: true });
    return convBlock(h, w(`${name}.conv2.w`) as tf.Tensor4D, w(`${name}.conv2.b`), { residual: skip ? conv(x, `${name}.skip`) : x });
  };
  // Single-head self-attention over the positions, without normalisation: the output projection starts at
  // zero, so the block starts as the identity like the ResBlocks.
  const attention = (x: tf.Tensor4D, name: string): tf.Tensor4D => {
    const [b, height, width, c] = x.shape;
    const tokens = x.reshape([b * height * width, c]) as tf.Tensor2D;
    const project = (part: string) => dense(tokens, `${name}.${part}`).reshape([b, height * width, c]) as tf.Tensor3D;
    const weights = tf.softmax(tf.matMul(project("q"), project("k"), false, true).mul(1 / Math.sqrt(c)));
    const mixed = tf.matMul(weights, project("v")).reshape([b * height * width, c]) as tf.Tensor2D;
    return x.add(dense(mixed, `${name}.out`).reshape([b, height, width, c])) as tf.Tensor4D;
  };
  let h = convBlock(xt, w("stem.w") as tf.Tensor4D, w("stem.b"), { inputGradient: false });
  const skips: tf.Tensor4D[] = [];
  for (let l = 0; l < config.depth; l++) {
    h = resBlock(h, `down${l}.block`);
    skips.push(h);
    if (l < config.depth - 1) h = conv(h, `down${l}.downsample`, 2);
  }
  h = resBlock(h, "mid.block");
  if (config.attention) h = attention(h, "mid.attn");
  // The up blocks see (h, skip) concatenated along the channels: one conv over all of them costs less than
  // a conv per part plus their sum (Winograd's transforms amortise over more channels); h's resize writes
  // straight into the concatenation.
  for (let l = config.depth - 1; l >= 0; l--) h = resBlock(upsampleConcat(h, skips[l]!), `up${l}.block`);
  return conv(tf.relu(h), "out.conv");
}

