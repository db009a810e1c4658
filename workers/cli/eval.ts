/**
 * `npm run cli -- eval --model MODEL_DIR --data DIR [--split test|train|all] [--sampler ddpm|ddim] [--steps S]
 *  [--t0 T] [--seeds K] [--seed N] [--eta E] [--topk PCT] [--smooth SIGMA] [--batch B] [--test-fraction F]
 *  [--hardest N] [--out DIR] --json`
 * Heals every image of the split with the teacher and scores it. Writes OUT/results.json (the summary and every
 * image's id, label and score) and PNG panels of the hardest false positives / negatives and a healing
 * trajectory under OUT/media (OUT defaults to MODEL_DIR/eval-SPLIT-SAMPLER-STEPS-tT0).
 * JSON `{method, sampler, steps, t0, n_pos, n_neg, image_auroc, image_ap, image_f1, pixel_auroc, pixel_ap,
 *  ms_per_image, net_calls_per_image, backend, ...}` (pixel fields null without masks).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { initBackend } from "../ml/backend";
import { loadCheckpointDir } from "../ml/checkpoint";
import { InvalidConfigError, parseRunConfig } from "../ml/config";
import { evaluateHealing, resultRows } from "../ml/evaluate";
import { loadRunData } from "../ml/runners/data";
import { healOptionsOf, logHardestCases, summaryRecord } from "../ml/runners/heal-eval";
import { epsilonModel } from "../ml/train";
import { UsageError, type Command } from "./args";
import { FileRunLogger } from "./file-logger";

export default (async (args) => {
  const modelDir = args.required("model");
  // The heal-eval run config validates the flags exactly as the worker would.
  const raw: Record<string, unknown> = { teacherRunId: modelDir, data: { folder: args.required("data") } };
  for (const [flag, key] of [
    ["steps", "steps"],
    ["t0", "t0"],
    ["seeds", "seeds"],
    ["seed", "seed"],
    ["eta", "eta"],
    ["topk", "topk"],
    ["smooth", "smooth"],
    ["batch", "batch"],
    ["test-fraction", "testFraction"],
    ["hardest", "hardest"],
  ] as const) {
    const value = args.number(flag);
    if (value !== undefined) raw[key] = value;
  }
  raw.split = args.choice("split", ["test", "train", "all"] as const, "test");
  raw.sampler = args.choice("sampler", ["ddpm", "ddim"] as const, "ddim");
  let config;
  try {
    config = parseRunConfig("heal-eval", raw);
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new UsageError(err.message);
    throw err;
  }

  const { backend, device } = await initBackend();
  const teacher = await loadCheckpointDir(modelDir);
  try {
    const { size, channels } = teacher.meta;
    const options = healOptionsOf(config);
    if (options.t0 > teacher.schedule.T) throw new UsageError(`--t0 ${options.t0} exceeds the model's T = ${teacher.schedule.T}`);
    const dataset = await loadRunData(config.data, { size, channels, split: config.split, testFraction: config.testFraction, roots: "anywhere" });
    for (const s of dataset.skipped) console.error(`skipped ${s.path}: ${s.reason}`);
    if (dataset.samples.length === 0) throw new UsageError(`no images in the ${config.split} split of ${args.required("data")}`);
    console.error(
      `eval: ${dataset.samples.length} images, ${options.sampler.toUpperCase()}-${options.steps} from t0 = ${options.t0}, ` +
        `${options.seeds} seed(s), backend ${backend} (${device})`,
    );
    const eps = epsilonModel(teacher.model);
    const { summary, results } = await evaluateHealing(eps, teacher.schedule, dataset.samples, size, channels, options, {
      onProgress: (done, total) => console.error(`healed ${done}/${total}`),
    });
    const record = summaryRecord(summary, options, backend, teacher.model.parameterCount);

    const out = args.string("out") ?? path.join(modelDir, `eval-${config.split}-${options.sampler}${options.steps}-t${options.t0}`);
    const logger = new FileRunLogger(out, { echo: false });
    try {
      await logHardestCases(logger, eps, teacher, results, options, config.hardest);
      await writeFile(path.join(out, "results.json"), JSON.stringify({ summary: record, images: resultRows(results) }, null, 1) + "\n");
    } finally {
      logger.close();
    }
    console.error(`eval: per-image results and hardest cases in ${path.resolve(out)}`);
    return { ...record, skipped: dataset.skipped.length, out: path.resolve(out) };
  } finally {
    teacher.model.dispose();
  }
}) satisfies Command;
