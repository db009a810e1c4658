/**
 * `npm run cli -- eval --model MODEL_DIR --data DIR [--split test|val|train|all] [--sampler ddpm|ddim] [--steps S]
 *  [--t0 T] [--seeds K] [--seed N] [--eta E] [--topk PCT] [--line PX] [--background W] [--smooth SIGMA] [--residual dark|abs] [--batch B]
 *  [--test-fraction F] [--val-fraction F] [--threshold-quantile Q] [--val-images N] [--allow-overlap] [--hardest N]
 *  [--out DIR] --json`
 * Evaluates any trained model (DDPM teacher, student, autoencoder) on the split with the same metrics for all;
 * sampler flags apply to a teacher, --residual, --smooth, --topk, --line and --background to a teacher and an autoencoder. Refuses
 * images the model or its teacher trained on unless --allow-overlap. image_f1 uses a threshold fixed on the validation normals of the model's training data
 * (the --threshold-quantile, 0.95, of their scores); image_f1_oracle is the best F1 over thresholds chosen on
 * the evaluated images themselves. Writes OUT/results.json and panels of the hardest cases under OUT/media
 * (OUT defaults to MODEL_DIR/eval-SPLIT[-SAMPLER-STEPS-tT0]).
 * JSON `{method, dataset, split, n_pos, n_neg, image_auroc, image_auroc_lo, image_auroc_hi, image_ap, image_f1,
 *  image_f1_threshold, image_f1_rule, image_f1_oracle, pixel_auroc, pixel_ap, pixel_pro, ms_per_image, img_per_s,
 *  calls_per_image, params, overlap, backend, …}` (pixel fields null without masks).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { initBackend } from "../ml/backend";
import { resultRows } from "../ml/evaluate";
import { defaultSteps } from "../ml/heal-defaults";
import { folderContext } from "../ml/runners/context";
import { evaluateModel, logHardest, OverlapError } from "../ml/runners/eval";
import { UsageError, type Command } from "./args";
import { configFromArgs, samplerFlags, splitFlags } from "./config-args";
import { FileRunLogger } from "./file-logger";

export default (async (args) => {
  const modelDir = args.required("model");
  const config = configFromArgs("eval", args, { modelRunId: modelDir, data: { folder: args.required("data") } }, {
    numbers: [
      ...samplerFlags.numbers!,
      ["seed", "noiseSeed"],
      ["batch", "batch"],
      ["threshold-quantile", "thresholdQuantile"],
      ["val-images", "valImages"],
      ["hardest", "hardest"],
      ...splitFlags,
    ],
    choices: [...samplerFlags.choices!, ["split", "split", ["test", "val", "train", "all"]]],
    switches: [["allow-overlap", "allowOverlap", true]],
  });
  const { backend, device } = await initBackend();
  console.error(`eval: backend ${backend} (${device})`);
  const out = args.string("out") ?? path.join(modelDir, `eval-${config.split}${await teacherSuffix(modelDir, config)}`);
  const logger = new FileRunLogger(out);
  try {
    const { detector, results, record } = await evaluateModel(config, folderContext(logger)).catch((err: unknown) => {
      throw err instanceof OverlapError ? new UsageError(err.message) : err;
    });
    try {
      await logHardest(logger, detector, results, config.hardest);
      await writeFile(path.join(out, "results.json"), JSON.stringify({ summary: record, images: resultRows(results) }, null, 1) + "\n");
    } finally {
      detector.dispose();
    }
    console.error(`eval: per-image results and hardest cases in ${path.resolve(out)}`);
    const result: Record<string, unknown> = { ...record, out: path.resolve(out) };
    return result;
  } finally {
    logger.close();
  }
}) satisfies Command;

/** "-ddim10-t100" for a diffusion teacher (its results depend on the sampler), "" for the other methods. */
async function teacherSuffix(modelDir: string, config: { sampler: "ddpm" | "ddim"; steps?: number; t0: number }): Promise<string> {
  const header = JSON.parse(await readFile(path.join(modelDir, "model.json"), "utf8").catch(() => "{}")) as { format?: string };
  if (header.format !== "crackdiff-ddpm") return "";
  const steps = config.steps ?? defaultSteps(config.sampler, config.t0);
  return `-${config.sampler}${steps}-t${config.t0}`;
}
