/**
 * The `eval` run kind, and the CLI's `eval` for every method: loads any trained model as a Detector,
 * refuses test images it (or its teacher) trained on unless allowed, fixes the F1 threshold on validation
 * normals of the model's own training data, scores the split and reports the same fields for every method.
 */
import { describeBackend } from "../backend";
import type { RunConfig } from "../config";
import { imageFingerprint } from "../data/fingerprint";
import type { Sample } from "../data/types";
import { summarise, hardestCases, type EvalSummary, type FixedThreshold, type ImageResult } from "../evaluate";
import type { HealOptions } from "../heal";
import { defaultSeeds, defaultSteps, type ResidualKind } from "../heal-defaults";
import type { RunContext } from "../kinds";
import { throwIfCancelled, type RunLogger } from "../logger";
import { quantile } from "../metrics";
import type { Detector } from "../methods/detector";
import { decodeDetector } from "../methods/load";
import { resultsPanel } from "../viz";
import { describeSource, loadRunData, logSkipped } from "./data";

export type EvalConfig = RunConfig<"eval">;

/** Heal options from the sampler fields of a config (steps and seeds default as defaultSteps/defaultSeeds say). */
export function samplerOptions(c: {
  sampler: "ddpm" | "ddim";
  steps?: number;
  t0: number;
  eta: number;
  seeds?: number;
  noiseSeed: number;
  topk: number;
  line: number;
  background: number;
  smooth: number;
  residual: ResidualKind;
  batch?: number;
}): HealOptions {
  const steps = c.steps ?? defaultSteps(c.sampler, c.t0);
  return {
    sampler: c.sampler,
    steps,
    t0: c.t0,
    eta: c.eta,
    seeds: c.seeds ?? defaultSeeds(steps),
    seed: c.noiseSeed,
    smoothSigma: c.smooth,
    topkPercent: c.topk,
    lineLength: c.line,
    background: c.background,
    residual: c.residual,
    batchSize: c.batch ?? 32,
  };
}

export class OverlapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OverlapError";
  }
}

/** Scores samples with a detector; the wall time covers the network and the pooling, not the loading. */
export async function scoreSamples(
  detector: Detector,
  samples: Sample[],
  hooks: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void } = {},
): Promise<{ results: ImageResult[]; seconds: number }> {
  const started = performance.now();
  const outputs = await detector.heatmaps(samples, hooks);
  const seconds = (performance.now() - started) / 1000;
  const results = samples.map((s, i) => ({
    id: s.id,
    label: s.label,
    score: outputs[i]!.score,
    heatmap: outputs[i]!.heatmap,
    healed: outputs[i]!.reconstruction,
    image: s.image,
    mask: s.mask,
    source: s.source,
  }));
  return { results, seconds };
}

/**
 * The threshold of image_f1: the `q`-quantile of the scores of (at most `limit`) validation normals of the
 * model's training data; null when the model does not say where it was trained or there are none.
 */
export async function validationThreshold(
  detector: Detector,
  q: number,
  limit: number,
  opts: { checkCancelled?: () => void; roots?: RunContext["dataRoots"] } = {},
): Promise<FixedThreshold | null> {
  if (!detector.validation) return null;
  const { data, testFraction, valFraction } = detector.validation;
  const dataset = await loadRunData(data, { size: detector.size, channels: detector.channels, split: "val", testFraction, valFraction, roots: opts.roots });
  const normals = dataset.samples.filter((s) => s.label === 0).slice(0, limit);
  if (normals.length === 0) return null;
  const outputs = await detector.heatmaps(normals, { checkCancelled: opts.checkCancelled });
  const value = quantile(outputs.map((o) => o.score), q);
  const pct = Math.round(q * 1000) / 10;
  return { value, rule: `${pct}th percentile of ${normals.length} validation-normal scores (${describeSource(data)})` };
}

export interface ModelEvaluation {
  detector: Detector;
  summary: EvalSummary;
  results: ImageResult[];
  /** The flat record every method reports (run summaries, leaderboards, the CLI's JSON). */
  record: Record<string, number | string | null>;
}

/** Evaluates the model of `config.modelRunId` on its split. The caller disposes nothing: the detector is disposed. */
export async function evaluateModel(config: EvalConfig, ctx: RunContext): Promise<ModelEvaluation> {
  const { logger } = ctx;
  const { backend } = await describeBackend();
  const checkCancelled = () => throwIfCancelled(logger);
  const detector = decodeDetector(await ctx.loadArtifact(config.modelRunId, "checkpoint"), samplerOptions(config), config.batch);
  try {
    const dataset = await loadRunData(config.data, {
      size: detector.size,
      channels: detector.channels,
      split: config.split,
      testFraction: config.testFraction,
      valFraction: config.valFraction,
      roots: ctx.dataRoots,
    });
    logSkipped((line) => logger.log(line), dataset);
    if (dataset.samples.length === 0) throw new Error(`no images in the ${config.split} split of ${describeSource(config.data)}`);

    // Honesty first: never report test metrics on images the model (or its teacher) learnt from.
    let overlap: number | null = null;
    if (detector.trainedOn) {
      const seen = dataset.samples.filter((s) => detector.trainedOn!.has(imageFingerprint(s.image)));
      overlap = seen.length;
      if (seen.length > 0 && !config.allowOverlap) {
        throw new OverlapError(
          `${seen.length} of the ${dataset.samples.length} images to evaluate (e.g. ${seen[0]!.id}) were used to train this model ` +
            `or its teacher; evaluate on held-out images (the test split) or allow the overlap (--allow-overlap / allowOverlap), ` +
            `and the result will say so`,
        );
      }
      if (seen.length > 0) logger.log(`warning: ${seen.length} evaluated image(s) were used in training (overlap allowed)`);
    } else {
      logger.log("this model does not record its training images: overlap with the evaluated images cannot be checked");
    }

    const threshold = await validationThreshold(detector, config.thresholdQuantile, config.valImages, { checkCancelled, roots: ctx.dataRoots });
    logger.log(
      `eval: ${detector.method} (${Object.entries(detector.settings).map(([k, v]) => `${k} ${v}`).join(", ")}) on ` +
        `${dataset.samples.length} images (${config.split} split of ${describeSource(config.data)}); ` +
        `threshold: ${threshold ? threshold.rule : "none (no validation images known)"}`,
    );
    // One untimed image first: kernels compile and memory grows outside the timing.
    await detector.heatmaps(dataset.samples.slice(0, 1));
    const { results, seconds } = await scoreSamples(detector, dataset.samples, {
      checkCancelled,
      onProgress: (done, total) => void logger.metrics(done, { "eval/progress": done / total }),
    });
    const summary = summarise(results, seconds, detector.callsPerImage, threshold);
    const record: Record<string, number | string | null> = {
      method: detector.method,
      dataset: describeSource(config.data),
      split: config.split,
      ...detector.settings,
      ...summary,
      params: detector.params,
      overlap,
      overlap_allowed: config.allowOverlap ? 1 : 0,
      backend,
    };
    return { detector, summary, results, record };
  } catch (err) {
    detector.dispose();
    throw err;
  }
}

/** Panels (image (| reconstruction) | heatmap (| mask)) of the n hardest false positives and negatives. */
export async function logHardest(logger: RunLogger, detector: Detector, results: ImageResult[], n: number): Promise<void> {
  if (n <= 0) return;
  const { falsePositives, falseNegatives } = hardestCases(results, n);
  const layout = `image${results[0]?.healed ? " | reconstruction" : ""} | heatmap`;
  const ids = (rs: ImageResult[]) => rs.map((r) => `${r.id} (${r.score.toFixed(4)})`).join(", ");
  if (falsePositives.length > 0) {
    await logger.media("hardest_false_positives", 0, await resultsPanel(falsePositives, detector.size, detector.channels), `highest-scored normal images, rows: ${layout}; ${ids(falsePositives)}`);
  }
  if (falseNegatives.length > 0) {
    await logger.media("hardest_false_negatives", 0, await resultsPanel(falseNegatives, detector.size, detector.channels), `lowest-scored cracked images, rows: ${layout} (| mask); ${ids(falseNegatives)}`);
  }
}

export async function runEval(config: EvalConfig, ctx: RunContext) {
  const { detector, summary, results, record } = await evaluateModel(config, ctx);
  try {
    const metrics: Record<string, number> = {};
    for (const [key, value] of Object.entries(summary)) if (typeof value === "number") metrics[`eval/${key}`] = value;
    await ctx.logger.metrics(0, metrics);
    await logHardest(ctx.logger, detector, results, config.hardest);
    ctx.logger.log(`image AUROC ${fmt(summary.image_auroc)} [${fmt(summary.image_auroc_lo)}, ${fmt(summary.image_auroc_hi)}], pixel AUROC ${fmt(summary.pixel_auroc)}, ${summary.ms_per_image.toFixed(2)} ms/image`);
    return record;
  } finally {
    detector.dispose();
  }
}

function fmt(value: number | null): string {
  return value === null ? "n/a" : value.toFixed(4);
}
