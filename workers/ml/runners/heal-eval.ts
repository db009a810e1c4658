/**
 * The `heal-eval` run kind: loads a teacher's checkpoint from its `ddpm-train` run, heals a split with DDPM
 * or DDIM, logs the metrics, the heatmaps of the hardest false positives and false negatives and a healing
 * trajectory, and returns the summary (image and pixel AUROC, AP, F1, cost).
 */
import { describeBackend } from "../backend";
import { decodeCheckpoint, type Teacher } from "../checkpoint";
import type { RunConfig } from "../config";
import type { EpsilonModel } from "../diffusion/sample";
import { evaluateHealing, hardestCases, type EvalSummary, type ImageResult } from "../evaluate";
import type { HealOptions } from "../heal";
import type { ResidualKind } from "../heal-defaults";
import type { RunContext } from "../kinds";
import { throwIfCancelled, type RunLogger } from "../logger";
import { epsilonModel } from "../train";
import { healingTrajectory, resultsPanel } from "../viz";
import { describeSource, loadRunData } from "./data";
import { samplerOptions, validationThreshold } from "./eval";
import { teacherDetector } from "../methods/teacher";

export type HealEvalConfig = RunConfig<"heal-eval">;

/** Heal options from a config's sampler fields; steps default to 10 (DDIM) or t₀ (DDPM, every step). */
export function healOptionsOf(config: {
  sampler: "ddpm" | "ddim";
  steps?: number;
  t0: number;
  eta?: number;
  seeds?: number;
  seed: number;
  topk: number;
  line: number;
  background: number;
  smooth: number;
  residual: ResidualKind;
  batch?: number;
}): HealOptions {
  return samplerOptions({ ...config, eta: config.eta ?? 0, noiseSeed: config.seed });
}

export async function runHealEval(config: HealEvalConfig, { logger, loadArtifact, dataRoots }: RunContext) {
  const { backend } = await describeBackend();
  const teacher = decodeCheckpoint(await loadArtifact(config.teacherRunId, "checkpoint"));
  try {
    const { size, channels } = teacher.meta;
    const options = healOptionsOf(config);
    if (options.t0 > teacher.schedule.T) throw new Error(`t0 ${options.t0} exceeds the teacher's T = ${teacher.schedule.T}`);
    const dataset = await loadRunData(config.data, { size, channels, split: config.split, testFraction: config.testFraction, valFraction: config.valFraction, roots: dataRoots });
    if (dataset.skipped.length > 0) logger.log(`skipped ${dataset.skipped.length} unreadable file(s)`);
    logger.log(
      `heal-eval: ${dataset.samples.length} images (${config.split} split of ${describeSource(config.data)}), ` +
        `${options.sampler.toUpperCase()}-${options.steps} from t0 = ${options.t0}, ${options.seeds} seed(s)`,
    );
    const eps = epsilonModel(teacher.model);
    // image_f1's threshold: fixed on validation normals of the teacher's training data, as `eval` does.
    const threshold = await validationThreshold(teacherDetector(teacher, options), 0.95, 200, { checkCancelled: () => throwIfCancelled(logger), roots: dataRoots });
    const { summary, results } = await evaluateHealing(eps, teacher.schedule, dataset.samples, size, channels, options, {
      checkCancelled: () => throwIfCancelled(logger),
      onProgress: (done, total) => void logger.metrics(done, { "eval/progress": done / total }),
    }, threshold);
    const metrics: Record<string, number> = {};
    for (const [key, value] of Object.entries(summary)) if (typeof value === "number") metrics[`eval/${key}`] = value;
    await logger.metrics(0, metrics);

    await logHardestCases(logger, eps, teacher, results, options, config.hardest);
    await logExamples(logger, results, size, channels);
    logger.log(`image AUROC ${fmt(summary.image_auroc)}, pixel AUROC ${fmt(summary.pixel_auroc)}, ${summary.ms_per_image.toFixed(0)} ms/image`);
    return summaryRecord(summary, options, backend, teacher.model.parameterCount);
  } finally {
    teacher.model.dispose();
  }
}

/**
 * Logs panels (image | healed | heatmap | mask) of the `n` hardest false positives and false negatives and
 * the healing trajectory of the hardest false negative.
 */
export async function logHardestCases(
  logger: RunLogger,
  eps: EpsilonModel,
  teacher: Teacher,
  results: ImageResult[],
  options: HealOptions,
  n: number,
): Promise<void> {
  if (n <= 0) return;
  const { size, channels } = teacher.meta;
  const { falsePositives, falseNegatives } = hardestCases(results, n);
  const ids = (rs: ImageResult[]) => rs.map((r) => `${r.id} (${r.score.toFixed(4)})`).join(", ");
  if (falsePositives.length > 0) {
    const png = await resultsPanel(falsePositives, size, channels);
    await logger.media("hardest_false_positives", 0, png, `highest-scored normal images, rows: image | healed | heatmap; ${ids(falsePositives)}`);
  }
  if (falseNegatives.length > 0) {
    const png = await resultsPanel(falseNegatives, size, channels);
    await logger.media("hardest_false_negatives", 0, png, `lowest-scored cracked images, rows: image | healed | heatmap (| mask); ${ids(falseNegatives)}`);
    const worst = falseNegatives[0]!;
    const trajectory = await healingTrajectory(eps, teacher.schedule, worst.image, size, channels, options, { id: worst.id, mask: worst.mask });
    await logger.media("trajectory", 0, trajectory.png, `healing of ${worst.id}: y | x_t0 | x̂0 at t = ${trajectory.shownSteps.join(", ")} | x̂0 | heatmap`);
  }
}

/** Images per class in the `examples` panel. */
const EXAMPLES_PER_CLASS = 3;

/**
 * The same few images from every evaluation of a split: the first cracked and normal images by id. Runs on the
 * same data can then be compared image by image, heatmap beside heatmap.
 */
export function fixedExamples(results: ImageResult[], perClass = EXAMPLES_PER_CLASS): ImageResult[] {
  const byId = [...results].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return [...byId.filter((r) => r.label === 1).slice(0, perClass), ...byId.filter((r) => r.label === 0).slice(0, perClass)];
}

async function logExamples(logger: RunLogger, results: ImageResult[], size: number, channels: 1 | 3): Promise<void> {
  const examples = fixedExamples(results);
  if (examples.length === 0) return;
  const png = await resultsPanel(examples, size, channels);
  const ids = examples.map((r) => `${r.id} (${r.score.toFixed(4)})`).join(", ");
  await logger.media("examples", 0, png, `the first cracked and normal images by id, rows: image | healed | heatmap (| mask); ${ids}`);
}

/** The flat summary a heal evaluation reports (run lists, leaderboards, the CLI's JSON). */
export function summaryRecord(summary: EvalSummary, options: HealOptions, backend: string, params: number) {
  return {
    method: "ddpm",
    sampler: options.sampler,
    steps: options.steps,
    t0: options.t0,
    seeds: options.seeds,
    residual: options.residual,
    smooth: options.smoothSigma,
    topk: options.topkPercent,
    line: options.lineLength,
    background: options.background,
    ...summary,
    params,
    backend,
  };
}

function fmt(value: number | null): string {
  return value === null ? "n/a" : value.toFixed(4);
}
