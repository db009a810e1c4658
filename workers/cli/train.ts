/**
 * `npm run cli -- train --method ddpm --data DIR --out MODEL_DIR [--size 64] [--iters N] [--batch B]
 *  [--split train|all] [--seed K] [--lr LR] [--width W] [--depth D] [--schedule linear|cosine] [--ema DECAY]
 *  [--crop C] [--channels 1|3] [--test-fraction F] [--eval-every N] [--no-augment] --json`
 * Trains the DDPM teacher on the Negative images of the split; progress on stderr; writes MODEL_DIR/model.json
 * + weights.bin and the run's log (metrics.jsonl, media/*.png) under MODEL_DIR/train-log.
 * JSON `{method, iters, seconds, img_per_s, final_loss, backend, ...}`.
 */
import path from "node:path";
import { initBackend } from "../ml/backend";
import { saveCheckpointDir } from "../ml/checkpoint";
import { InvalidConfigError, parseRunConfig, type RunConfig } from "../ml/config";
import { loadRunData } from "../ml/runners/data";
import { trainTeacher } from "../ml/runners/ddpm-train";
import { UsageError, type Args, type Command } from "./args";
import { FileRunLogger } from "./file-logger";

export default (async (args) => {
  args.choice("method", ["ddpm"] as const, "ddpm");
  const config = trainConfigFromArgs(args);
  const out = args.required("out");
  const { backend, device } = await initBackend();
  console.error(`train: backend ${backend} (${device})`);

  const load = (split: "train" | "test" | "all") =>
    loadRunData(config.data, {
      size: config.size,
      channels: config.channels,
      split,
      testFraction: config.testFraction,
      roots: "anywhere", // the command line reads whatever its user can
      onProgress: (done, total) => {
        if (done === total || done % 100 === 0) console.error(`loading ${split} split: ${done}/${total}`);
      },
    });
  const dataset = await load(config.split);
  for (const s of dataset.skipped) console.error(`skipped ${s.path}: ${s.reason}`);
  const train = dataset.samples.filter((s) => s.label === 0);
  if (train.length === 0) throw new UsageError(`no Negative images in the ${config.split} split of ${args.required("data")}`);
  const evalSamples = config.evalEvery > 0 && config.split === "train" ? (await load("test")).samples : [];

  const logger = new FileRunLogger(path.join(out, "train-log"));
  try {
    const { teacher, result, lastEval } = await trainTeacher(config, train, logger, evalSamples);
    await saveCheckpointDir(out, teacher.meta, teacher.model.variables);
    console.error(`train: saved ${path.resolve(out)}/model.json and weights.bin`);
    const params = teacher.model.parameterCount;
    teacher.model.dispose();
    return {
      method: "ddpm",
      iters: result.iters,
      seconds: result.seconds,
      img_per_s: result.imgPerS,
      final_loss: result.finalLoss,
      backend,
      params,
      n_train: train.length,
      skipped: dataset.skipped.length,
      ...(lastEval ? { quick_image_auroc: lastEval.image_auroc, quick_pixel_auroc: lastEval.pixel_auroc } : {}),
      model: path.resolve(out),
    };
  } finally {
    logger.close();
  }
}) satisfies Command;

/** The `ddpm-train` run config from flags (unset flags take the schema's defaults). */
export function trainConfigFromArgs(args: Args): RunConfig<"ddpm-train"> {
  const raw: Record<string, unknown> = { data: { folder: args.required("data") } };
  const numbers: [flag: string, key: string][] = [
    ["size", "size"],
    ["iters", "iters"],
    ["batch", "batch"],
    ["seed", "seed"],
    ["lr", "lr"],
    ["warmup", "warmup"],
    ["width", "width"],
    ["depth", "depth"],
    ["ema", "ema"],
    ["crop", "crop"],
    ["channels", "channels"],
    ["timesteps", "T"],
    ["test-fraction", "testFraction"],
    ["eval-every", "evalEvery"],
  ];
  for (const [flag, key] of numbers) {
    const value = args.number(flag);
    if (value !== undefined) raw[key] = value;
  }
  if (args.has("split")) raw.split = args.choice("split", ["train", "all"] as const, "train");
  if (args.has("schedule")) raw.schedule = args.choice("schedule", ["linear", "cosine"] as const, "linear");
  if (args.has("no-augment")) raw.augment = false;
  try {
    return parseRunConfig("ddpm-train", raw);
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new UsageError(err.message);
    throw err;
  }
}
