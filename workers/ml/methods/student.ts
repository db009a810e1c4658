/**
 * Students: a small CNN learns the teacher's heatmaps, so no diffusion runs at inference.
 *
 * Both share an encoder–decoder: level l (l = 0 full resolution) has width · 2^min(l, 2) channels;
 *   f_0 = conv(x), f_l = conv(stride-2 conv(f_{l−1}));  h_{L−1} = f_{L−1}, h_l = ReLU(conv(↑h_{l+1})) + f_l.
 * - single-step: one head on h_0 predicts the full-resolution heatmap; the loss is at full resolution.
 * - coarse-to-fine with S stages: the coarsest head predicts p_{S−1} at 1 / 2^(S−1) resolution from
 *   h_{S−1}; each finer stage adds a residual, p_l = ↑p_{l+1} + head_l(h_l, ↑p_{l+1}), so it refines the
 *   upsampled coarse map with finer features; every stage is supervised by the target average-pooled to
 *   its resolution (iterative refinement without diffusion).
 * Targets are divided by `targetScale` while training (the teacher's residuals are small numbers); the
 * heatmap is ReLU(p_0) · targetScale, in the teacher's units; the image score is its top-k % mean, the
 * teacher's pooling.
 */
import * as tf from "@tensorflow/tfjs";
import { imageScore, type ImageScoring } from "../heal";
import type { Weights } from "../unet";
import { conv, convSpec, ParamSet, up2, type ParamSpec } from "./params";
import type { Detector, ValidationSource } from "./detector";
import { inBatches } from "./fit";

export type StudentKind = "single" | "c2f";

export interface StudentConfig {
  kind: StudentKind;
  channels: 1 | 3;
  width: number;
  /** Encoder levels; the image side must be divisible by 2^(levels − 1). */
  levels: number;
  /** Coarse-to-fine stages (1 ≤ stages ≤ levels); single-step students have 1. */
  stages: number;
  /** Training targets were divided by this; the heatmap multiplies it back. */
  targetScale: number;
  /** The image score's rule (ImageScoring); models saved before line and background existed pooled single pixels. */
  topk: number;
  line?: number;
  background?: number;
}

const widthAt = (c: StudentConfig, l: number) => c.width * 2 ** Math.min(l, 2);

export function validateStudentConfig(c: StudentConfig): void {
  if (!Number.isInteger(c.levels) || c.levels < 1 || c.levels > 5) throw new Error(`student: levels must be in 1..5, got ${c.levels}`);
  if (!Number.isInteger(c.stages) || c.stages < 1 || c.stages > c.levels) throw new Error(`student: stages must be in 1..levels (${c.levels}), got ${c.stages}`);
  if (c.kind === "single" && c.stages !== 1) throw new Error("student: a single-step student has exactly 1 stage");
  if (!(c.targetScale > 0)) throw new Error(`student: targetScale must be positive, got ${c.targetScale}`);
}

export function studentSpecs(c: StudentConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  convSpec(specs, "enc0", 3, c.channels, widthAt(c, 0));
  for (let l = 1; l < c.levels; l++) {
    convSpec(specs, `enc${l}.stride`, 3, widthAt(c, l - 1), widthAt(c, l));
    convSpec(specs, `enc${l}.conv`, 3, widthAt(c, l), widthAt(c, l));
  }
  for (let l = c.levels - 2; l >= 0; l--) convSpec(specs, `dec${l}`, 3, widthAt(c, l + 1), widthAt(c, l));
  for (let l = 0; l < c.stages; l++) {
    convSpec(specs, `head${l}`, 3, widthAt(c, l), 1);
    if (l < c.stages - 1) specs.push({ name: `head${l}.prev.w`, shape: [3, 3, 1, 1], init: "zeros" });
  }
  return specs;
}

/** Predictions p_l, coarsest first, finest (full resolution) last; [B, H/2^l, W/2^l, 1] each. */
export function studentForward(c: StudentConfig, w: Weights, x: tf.Tensor4D): tf.Tensor4D[] {
  const features: tf.Tensor4D[] = [conv(w, x, "enc0", 1, "relu")];
  for (let l = 1; l < c.levels; l++) {
    features.push(conv(w, conv(w, features[l - 1]!, `enc${l}.stride`, 2, "relu"), `enc${l}.conv`, 1, "relu"));
  }
  const decoded: tf.Tensor4D[] = new Array(c.levels);
  decoded[c.levels - 1] = features[c.levels - 1]!;
  for (let l = c.levels - 2; l >= 0; l--) decoded[l] = conv(w, up2(decoded[l + 1]!), `dec${l}`, 1, "relu").add(features[l]!);
  const coarsest = c.stages - 1;
  const predictions: tf.Tensor4D[] = [conv(w, decoded[coarsest]!, `head${coarsest}`)];
  for (let l = coarsest - 1; l >= 0; l--) {
    const previous = up2(predictions[predictions.length - 1]!);
    const residual = conv(w, decoded[l]!, `head${l}`).add(tf.conv2d(previous, w.get(`head${l}.prev.w`) as tf.Tensor4D, 1, "same"));
    predictions.push(previous.add(residual));
  }
  return predictions;
}

export class Student {
  readonly params: ParamSet;
  constructor(
    readonly config: StudentConfig,
    seed = 0,
  ) {
    validateStudentConfig(config);
    this.params = new ParamSet(studentSpecs(config), seed);
  }

  /** MSE to the scaled target at every stage's resolution (only full resolution for single-step), averaged. */
  loss(x: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
    const predictions = studentForward(this.config, this.params.variables, x);
    const y = target.div(this.config.targetScale) as tf.Tensor4D;
    const terms = predictions.map((p) => {
      const factor = y.shape[1] / p.shape[1];
      const t = factor === 1 ? y : tf.avgPool(y, factor, factor, "valid");
      return tf.losses.meanSquaredError(t, p);
    });
    return tf.addN(terms).div(terms.length) as tf.Scalar;
  }

  /** The full-resolution heatmap [B, H, W, 1] in the teacher's units. */
  heatmap(x: tf.Tensor4D): tf.Tensor4D {
    const predictions = studentForward(this.config, this.params.variables, x);
    return tf.relu(predictions[predictions.length - 1]!).mul(this.config.targetScale) as tf.Tensor4D;
  }
}

export const studentMethod = (kind: StudentKind) => (kind === "single" ? "student-single" : "student-c2f");

export function studentDetector(
  student: Student,
  size: number,
  info: { trainedOn: string[] | null; validation: ValidationSource | null; settings: Record<string, string | number>; batchSize?: number },
): Detector {
  const c = student.config;
  const scoring: ImageScoring = { topkPercent: c.topk, lineLength: c.line ?? 1, background: c.background ?? 0 };
  if (size % 2 ** (c.levels - 1) !== 0) throw new Error(`student: size ${size} must be divisible by 2^(levels − 1)`);
  return {
    method: studentMethod(c.kind),
    size,
    channels: c.channels,
    params: student.params.parameterCount,
    callsPerImage: 1,
    settings: { width: c.width, levels: c.levels, stages: c.stages, topk: c.topk, line: scoring.lineLength, background: scoring.background, ...info.settings },
    trainedOn: info.trainedOn ? new Set(info.trainedOn) : null,
    validation: info.validation,
    heatmaps: (inputs, hooks) =>
      inBatches(
        inputs.map((i) => i.image),
        { size, channels: c.channels },
        info.batchSize ?? 64,
        (x) => ({ heatmap: student.heatmap(x) }),
        (heatmap) => ({ heatmap, score: imageScore(heatmap, scoring), reconstruction: null }),
        hooks,
      ),
    dispose: () => student.params.dispose(),
  };
}
