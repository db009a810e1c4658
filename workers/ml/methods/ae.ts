/**
 * The baseline the diffusion teacher must beat: a convolutional autoencoder trained on normal
 * images with an MSE reconstruction loss; its residual against x becomes the heatmap and the score by the
 * teacher's rules (which differences count, smoothing, top-k % pooling), so the two compare like for like.
 *
 *   stem conv → [stride-2 conv → conv] × (depth − 1) → 1×1 bottleneck (latent channels) → 1×1 expand
 *             → [nearest ×2 → conv] × (depth − 1) → conv → x̂
 */
import * as tf from "@tensorflow/tfjs";
import { defaultHealOptions, gaussianBlur, residualMap, imageScore, type HealOptions } from "../heal";
import type { Weights } from "../unet";
import { conv, convSpec, ParamSet, up2, type ParamSpec } from "./params";
import type { Detector, ValidationSource } from "./detector";
import { inBatches } from "./fit";

export interface AeConfig {
  channels: 1 | 3;
  /** Channels at full resolution; level l has width · 2^l. */
  width: number;
  /** Resolution levels (the bottleneck is size / 2^(depth − 1) wide). */
  depth: number;
  /** Channels of the bottleneck: how much the code can carry. */
  latent: number;
}

export const defaultAeConfig: Omit<AeConfig, "channels"> = { width: 16, depth: 4, latent: 16 };

/** How a residual becomes a heatmap and a score: the teacher's rules. */
export type Scoring = Pick<HealOptions, "residual" | "smoothSigma" | "topkPercent" | "lineLength" | "background">;

const widthAt = (c: AeConfig, l: number) => c.width * 2 ** l;

export function aeSpecs(c: AeConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  convSpec(specs, "stem", 3, c.channels, c.width);
  for (let l = 1; l < c.depth; l++) {
    convSpec(specs, `down${l}.stride`, 3, widthAt(c, l - 1), widthAt(c, l));
    convSpec(specs, `down${l}.conv`, 3, widthAt(c, l), widthAt(c, l));
  }
  convSpec(specs, "code", 1, widthAt(c, c.depth - 1), c.latent);
  convSpec(specs, "expand", 1, c.latent, widthAt(c, c.depth - 1));
  for (let l = c.depth - 1; l >= 1; l--) convSpec(specs, `up${l}.conv`, 3, widthAt(c, l), widthAt(c, l - 1));
  convSpec(specs, "out", 3, c.width, c.channels);
  return specs;
}

/** x̂ for x [B, H, W, C] in [0, 1]. */
export function aeForward(c: AeConfig, w: Weights, x: tf.Tensor4D): tf.Tensor4D {
  let h = conv(w, x, "stem", 1, "relu");
  for (let l = 1; l < c.depth; l++) {
    h = conv(w, h, `down${l}.stride`, 2, "relu");
    h = conv(w, h, `down${l}.conv`, 1, "relu");
  }
  h = conv(w, conv(w, h, "code", 1, "relu"), "expand", 1, "relu");
  for (let l = c.depth - 1; l >= 1; l--) h = conv(w, up2(h), `up${l}.conv`, 1, "relu");
  return conv(w, h, "out");
}

export class Autoencoder {
  readonly params: ParamSet;
  constructor(
    readonly config: AeConfig,
    seed = 0,
  ) {
    if (!Number.isInteger(config.depth) || config.depth < 1 || config.depth > 6) throw new Error(`ae: depth must be in 1..6, got ${config.depth}`);
    this.params = new ParamSet(aeSpecs(config), seed);
  }

  /** The training loss: mean squared reconstruction error. */
  loss(x: tf.Tensor4D): tf.Scalar {
    return tf.losses.meanSquaredError(x, aeForward(this.config, this.params.variables, x)) as tf.Scalar;
  }

  /** Residual heatmap [B, H, W, 1] and reconstruction of x [B, H, W, C] in [0, 1]. */
  anomalyMap(x: tf.Tensor4D, scoring: Scoring = defaultHealOptions): { heatmap: tf.Tensor4D; reconstruction: tf.Tensor4D } {
    const reconstruction = aeForward(this.config, this.params.variables, x).clipByValue(0, 1) as tf.Tensor4D;
    // residualMap halves differences of the [−1, 1] scale; these are in [0, 1].
    const residual = residualMap(x, reconstruction, scoring.residual).mul(2) as tf.Tensor4D;
    return { heatmap: gaussianBlur(residual, scoring.smoothSigma), reconstruction };
  }
}

export function aeDetector(
  ae: Autoencoder,
  size: number,
  info: { trainedOn: string[] | null; validation: ValidationSource | null; batchSize?: number },
  scoring: Scoring = defaultHealOptions,
): Detector {
  if (size % 2 ** (ae.config.depth - 1) !== 0) throw new Error(`ae: size ${size} must be divisible by 2^(depth − 1)`);
  return {
    method: "ae",
    size,
    channels: ae.config.channels,
    params: ae.params.parameterCount,
    callsPerImage: 1,
    settings: { width: ae.config.width, depth: ae.config.depth, latent: ae.config.latent, residual: scoring.residual, smooth: scoring.smoothSigma, topk: scoring.topkPercent, line: scoring.lineLength, background: scoring.background },
    trainedOn: info.trainedOn ? new Set(info.trainedOn) : null,
    validation: info.validation,
    heatmaps: (inputs, hooks) =>
      inBatches(
        inputs.map((i) => i.image),
        { size, channels: ae.config.channels },
        info.batchSize ?? 32,
        (x) => ae.anomalyMap(x, scoring),
        (heatmap, reconstruction) => ({ heatmap, score: imageScore(heatmap, scoring), reconstruction }),
        hooks,
      ),
    dispose: () => ae.params.dispose(),
  };
}
