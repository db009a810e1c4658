/**
 * Evaluation of a healing teacher on labelled images: image-level AUROC / AP / best F1 from the pooled
 * scores, pixel-level AUROC / AP where masks exist, cost (ms per image, network calls), and every image's
 * result kept so the hardest false positives and negatives can be shown.
 */
import type { Sample } from "./data/types";
import type { EpsilonModel } from "./diffusion/sample";
import type { NoiseSchedule } from "./diffusion/schedule";
import { healAndScore, netCallsPerImage, type HealOptions } from "./heal";
import { auroc, averagePrecision, bestF1, pixelAp, pixelAuroc } from "./metrics";

export interface ImageResult {
  id: string;
  label: 0 | 1;
  score: number;
  /** size × size residual in [0, 1]. */
  heatmap: Float32Array;
  /** x̂_0, size × size × channels in [0, 1]. */
  healed: Float32Array;
  image: Float32Array;
  mask: Uint8Array | null;
  source: string;
}

export interface EvalSummary {
  n_pos: number;
  n_neg: number;
  image_auroc: number | null;
  image_ap: number | null;
  image_f1: number | null;
  /** Score at which the best F1 is reached (predict "crack" when score ≥ it). */
  image_f1_threshold: number | null;
  pixel_auroc: number | null;
  pixel_ap: number | null;
  /** Images with a mask that the pixel metrics used. */
  n_masked: number;
  ms_per_image: number;
  img_per_s: number;
  net_calls_per_image: number;
}

export interface Evaluation {
  summary: EvalSummary;
  results: ImageResult[];
}

/** NaN (an undefined metric, e.g. AUROC with one class) becomes null in summaries and JSON. */
export function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export async function evaluateHealing(
  model: EpsilonModel,
  schedule: NoiseSchedule,
  samples: Sample[],
  size: number,
  channels: 1 | 3,
  options: HealOptions,
  hooks: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void } = {},
): Promise<Evaluation> {
  if (samples.length === 0) throw new Error("evaluate: no images to evaluate (empty split?)");
  const started = performance.now();
  const healed = await healAndScore(model, schedule, samples, size, channels, options, hooks);
  const seconds = (performance.now() - started) / 1000;
  const results: ImageResult[] = samples.map((s, i) => ({
    id: s.id,
    label: s.label,
    score: healed[i]!.score,
    heatmap: healed[i]!.heatmap,
    healed: healed[i]!.healed,
    image: s.image,
    mask: s.mask,
    source: s.source,
  }));
  return { summary: summarise(results, seconds, netCallsPerImage(options)), results };
}

/** Metrics over per-image results (also used to re-score results without healing again). */
export function summarise(results: ImageResult[], seconds: number, netCalls: number): EvalSummary {
  const scores = results.map((r) => r.score);
  const labels = results.map((r) => r.label);
  const f1 = bestF1(scores, labels);
  const masked = results.filter((r) => r.mask !== null);
  let pixelAurocValue = Number.NaN;
  let pixelApValue = Number.NaN;
  if (masked.length > 0) {
    const pixels = masked[0]!.heatmap.length;
    const heat = new Float32Array(masked.length * pixels);
    const masks = new Uint8Array(masked.length * pixels);
    masked.forEach((r, i) => {
      heat.set(r.heatmap, i * pixels);
      masks.set(r.mask!, i * pixels);
    });
    pixelAurocValue = pixelAuroc(heat, masks);
    pixelApValue = pixelAp(heat, masks);
  }
  return {
    n_pos: labels.filter((l) => l === 1).length,
    n_neg: labels.filter((l) => l === 0).length,
    image_auroc: finiteOrNull(auroc(scores, labels)),
    image_ap: finiteOrNull(averagePrecision(scores, labels)),
    image_f1: finiteOrNull(f1.f1),
    image_f1_threshold: finiteOrNull(f1.threshold),
    pixel_auroc: finiteOrNull(pixelAurocValue),
    pixel_ap: finiteOrNull(pixelApValue),
    n_masked: masked.length,
    ms_per_image: (seconds * 1000) / results.length,
    img_per_s: results.length / seconds,
    net_calls_per_image: netCalls,
  };
}

/**
 * The hardest cases: normal images scored highest (likely false positives: stains, water marks, pores) and
 * cracked images scored lowest (likely false negatives: faint, thin cracks), `n` of each, worst first.
 */
export function hardestCases(results: ImageResult[], n: number): { falsePositives: ImageResult[]; falseNegatives: ImageResult[] } {
  const negatives = results.filter((r) => r.label === 0).sort((a, b) => b.score - a.score);
  const positives = results.filter((r) => r.label === 1).sort((a, b) => a.score - b.score);
  return { falsePositives: negatives.slice(0, n), falseNegatives: positives.slice(0, n) };
}

/** Per-image results without pixel arrays, for results.json files and logs. */
export function resultRows(results: ImageResult[]): { id: string; label: 0 | 1; score: number; source: string }[] {
  return results.map(({ id, label, score, source }) => ({ id, label, score, source }));
}
