/**
 * Evaluation on labelled images, the same for every method: image-level AUROC (with a seeded bootstrap 95 %
 * interval), AP, F1 at a threshold fixed beforehand on validation normals and the oracle F1 (best over
 * thresholds chosen on the scored images themselves, an upper bound, labelled as such), pixel-level AUROC /
 * AP where masks exist, cost (ms per image, network calls), and every image's result kept so the hardest
 * false positives and negatives can be shown.
 */
import type { Sample } from "./data/types";
import type { EpsilonModel } from "./diffusion/sample";
import type { NoiseSchedule } from "./diffusion/schedule";
import { healAndScore, netCallsPerImage, type HealOptions } from "./heal";
import { auroc, averagePrecision, bestF1, bootstrapAuroc, f1AtThreshold, pixelAp, pixelAuroc, pixelPro } from "./metrics";

export interface ImageResult {
  id: string;
  label: 0 | 1;
  score: number;
  /** size × size anomaly map (≥ 0). */
  heatmap: Float32Array;
  /** The method's reconstruction (x̂_0 of a heal, an autoencoder's output) when it has one, in [0, 1]. */
  healed: Float32Array | null;
  image: Float32Array;
  mask: Uint8Array | null;
  source: string;
}

/** A decision threshold fixed before the evaluated images were seen, and how it was chosen. */
export interface FixedThreshold {
  value: number;
  rule: string;
}

export interface EvalSummary {
  n_pos: number;
  n_neg: number;
  image_auroc: number | null;
  /** Bootstrap 95 % interval of image_auroc (1000 stratified resamples, seed 0). */
  image_auroc_lo: number | null;
  image_auroc_hi: number | null;
  image_ap: number | null;
  /** F1 of "score ≥ image_f1_threshold", a threshold fixed on validation normals (null without one). */
  image_f1: number | null;
  image_f1_threshold: number | null;
  image_f1_rule: string | null;
  /** Oracle: the best F1 over thresholds chosen on these very images (optimistic; for reference only). */
  image_f1_oracle: number | null;
  image_f1_oracle_threshold: number | null;
  pixel_auroc: number | null;
  pixel_ap: number | null;
  /** Per-region overlap up to 30 % false-positive rate (each crack region counts equally; see pixelPro). */
  pixel_pro: number | null;
  /** Images with a mask that the pixel metrics used. */
  n_masked: number;
  ms_per_image: number;
  img_per_s: number;
  calls_per_image: number;
}

export interface Evaluation {
  summary: EvalSummary;
  results: ImageResult[];
}

/** NaN (an undefined metric, e.g. AUROC with one class) becomes null in summaries and JSON. */
export function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** Heals and scores samples with a teacher (the quick evaluation inside ddpm-train uses it directly). */
export async function evaluateHealing(
  model: EpsilonModel,
  schedule: NoiseSchedule,
  samples: Sample[],
  size: number,
  channels: 1 | 3,
  options: HealOptions,
  hooks: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void } = {},
  threshold: FixedThreshold | null = null,
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
  return { summary: summarise(results, seconds, netCallsPerImage(options), threshold), results };
}

/** Metrics over per-image results (also used to re-score results without running the model again). */
export function summarise(results: ImageResult[], seconds: number, calls: number, threshold: FixedThreshold | null = null): EvalSummary {
  const scores = results.map((r) => r.score);
  const labels = results.map((r) => r.label);
  const oracle = bestF1(scores, labels);
  const fixed = threshold ? f1AtThreshold(scores, labels, threshold.value) : null;
  const [lo, hi] = bootstrapAuroc(scores, labels, { resamples: 1000, seed: 0 });
  const masked = results.filter((r) => r.mask !== null);
  let pixelAurocValue = Number.NaN;
  let pixelApValue = Number.NaN;
  let pixelProValue = Number.NaN;
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
    pixelProValue = pixelPro(heat, masks, Math.round(Math.sqrt(pixels)));
  }
  return {
    n_pos: labels.filter((l) => l === 1).length,
    n_neg: labels.filter((l) => l === 0).length,
    image_auroc: finiteOrNull(auroc(scores, labels)),
    image_auroc_lo: finiteOrNull(lo),
    image_auroc_hi: finiteOrNull(hi),
    image_ap: finiteOrNull(averagePrecision(scores, labels)),
    image_f1: fixed ? finiteOrNull(fixed.f1) : null,
    image_f1_threshold: threshold ? threshold.value : null,
    image_f1_rule: threshold ? threshold.rule : null,
    image_f1_oracle: finiteOrNull(oracle.f1),
    image_f1_oracle_threshold: finiteOrNull(oracle.threshold),
    pixel_auroc: finiteOrNull(pixelAurocValue),
    pixel_ap: finiteOrNull(pixelApValue),
    pixel_pro: finiteOrNull(pixelProValue),
    n_masked: masked.length,
    ms_per_image: (seconds * 1000) / results.length,
    img_per_s: results.length / seconds,
    calls_per_image: calls,
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
