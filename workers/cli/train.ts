/**
 * `npm run cli -- train --method ddpm|ae|student-single|student-c2f --data DIR --out MODEL_DIR [options] --json`
 *
 *   ddpm     [--size 64] [--iters N] [--batch B] [--split train|all] [--seed K] [--lr LR] [--width W] [--depth D]
 *            [--schedule linear|cosine] [--lr-decay none|cosine] [--attention] [--no-norm] [--ema DECAY] [--crop C] [--channels 1|3] [--eval-every N] [--no-augment]
 *            [--noise gaussian|simplex] [--noise-period PX] [--noise-octaves N] [--noise-persistence P] [--noise-mix M]
 *   ae       [--size 64] [--channels 1|3] [--width W] [--depth D] [--latent L] [--iters N] [--batch B] [--lr LR] …
 *   student-single | student-c2f  --teacher TEACHER_DIR [--targets soft|binary] [--sampler ddim|ddpm] [--steps S]
 *            [--t0 T] [--seeds K] [--width W] [--levels L] [--stages S] [--iters N] [--batch B] [--lr LR] …
 *   every method: [--split train|all] [--test-fraction F] [--val-fraction F] [--seed K]
 *
 * Trains on the split (never its validation share); the teacher and the autoencoder on its Negative images,
 * students on every image with the teacher's heatmaps as targets (cached in TEACHER_DIR/targets/). Progress
 * on stderr; writes MODEL_DIR/model.json + weights.bin (with the fingerprints of the training images) and the
 * log (metrics.jsonl, media/*.png) under MODEL_DIR/train-log.
 * JSON `{method, iters, seconds, img_per_s, final_loss, params, n_train, val_image_auroc, …, model}`.
 */
import path from "node:path";
import { initBackend } from "../ml/backend";
import { saveCheckpointDir } from "../ml/checkpoint";
import type { RunConfig } from "../ml/config";
import { saveModelDir } from "../ml/methods/modelfile";
import { trainAe, trainSummary } from "../ml/runners/ae-train";
import { folderContext } from "../ml/runners/context";
import { describeSource, loadRunData, trainingSplit } from "../ml/runners/data";
import { trainTeacher } from "../ml/runners/ddpm-train";
import { trainStudent } from "../ml/runners/student-train";
import { NOISE_KINDS } from "../ml/noise";
import { UsageError, type Args, type Command } from "./args";
import { configFromArgs, fitFlags, samplerFlags, splitFlags } from "./config-args";
import { FileRunLogger } from "./file-logger";

const METHODS = ["ddpm", "ae", "student-single", "student-c2f"] as const;

export default (async (args) => {
  const method = args.choice("method", METHODS, "ddpm");
  const out = args.required("out");
  const data = { folder: args.required("data") };
  const split = { choices: [["split", "split", ["train", "all"]]] as [string, string, readonly string[]][] };
  let run: () => Promise<Record<string, unknown>>;
  if (method === "ddpm") {
    const config = trainConfigFromArgs(args);
    run = () => trainDdpmCli(config, out);
  } else if (method === "ae") {
    const config = configFromArgs("ae-train", args, { data }, {
      numbers: [["size", "size"], ["channels", "channels"], ["width", "width"], ["depth", "depth"], ["latent", "latent"], ...fitFlags, ...splitFlags],
      ...split,
      switches: [["no-augment", "augment", false]],
    });
    run = async () => {
      const logger = new FileRunLogger(path.join(out, "train-log"));
      try {
        const trained = await trainAe(config, folderContext(logger));
        await saveModelDir(out, trained.meta, trained.model.params.variables);
        trained.model.params.dispose();
        return { ...trainSummary("ae", trained, (await initBackend()).backend, { dataset: describeSource(config.data) }), model: path.resolve(out) };
      } finally {
        logger.close();
      }
    };
  } else {
    const config = configFromArgs("student-train", args, { data, method, teacherRunId: args.required("teacher") }, {
      numbers: [...samplerFlags.numbers!, ["width", "width"], ["levels", "levels"], ["stages", "stages"], ...fitFlags, ...splitFlags],
      choices: [...samplerFlags.choices!, ...split.choices, ["targets", "targets", ["soft", "binary"]]],
      switches: [["no-augment", "augment", false]],
    });
    run = async () => {
      const logger = new FileRunLogger(path.join(out, "train-log"));
      try {
        const trained = await trainStudent(config, folderContext(logger));
        await saveModelDir(out, trained.meta, trained.model.params.variables);
        trained.model.params.dispose();
        return {
          ...trainSummary(method, trained, (await initBackend()).backend, { dataset: describeSource(config.data), targets: config.targets }),
          targets_cached: trained.cached,
          binary_threshold: trained.binaryThreshold,
          teacher: path.resolve(config.teacherRunId),
          model: path.resolve(out),
        };
      } finally {
        logger.close();
      }
    };
  }
  const { backend, device } = await initBackend();
  console.error(`train: ${method} on backend ${backend} (${device})`);
  const result = await run();
  console.error(`train: saved ${path.resolve(out)}/model.json and weights.bin`);
  return result;
}) satisfies Command;

async function trainDdpmCli(config: RunConfig<"ddpm-train">, out: string): Promise<Record<string, unknown>> {
  const { backend } = await initBackend();
  const load = (split: "train" | "train+test" | "val") =>
    loadRunData(config.data, {
      size: config.size,
      channels: config.channels,
      split,
      testFraction: config.testFraction,
      valFraction: config.valFraction,
      roots: "anywhere", // the command line reads whatever its user can
      onProgress: (done, total) => {
        if (done === total || done % 100 === 0) console.error(`loading ${split} split: ${done}/${total}`);
      },
    });
  const dataset = await load(trainingSplit(config.split) as "train" | "train+test");
  for (const s of dataset.skipped) console.error(`skipped ${s.path}: ${s.reason}`);
  const train = dataset.samples.filter((s) => s.label === 0);
  if (train.length === 0) throw new UsageError(`no Negative images in the ${config.split} split of ${describeSource(config.data)}`);
  const evalSamples = config.evalEvery > 0 ? (await load("val")).samples : [];

  const logger = new FileRunLogger(path.join(out, "train-log"));
  try {
    const { teacher, result, lastEval } = await trainTeacher(config, train, logger, evalSamples);
    await saveCheckpointDir(out, teacher.meta, teacher.model.variables);
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
      ...(lastEval ? { val_image_auroc: lastEval.image_auroc, val_pixel_auroc: lastEval.pixel_auroc } : {}),
      model: path.resolve(out),
    };
  } finally {
    logger.close();
  }
}

/** The `ddpm-train` run config from flags (unset flags take the schema's defaults). */
export function trainConfigFromArgs(args: Args): RunConfig<"ddpm-train"> {
  return configFromArgs("ddpm-train", args, { data: { folder: args.required("data") } }, {
    numbers: [
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
      ["eval-every", "evalEvery"],
      ["noise-period", "noisePeriod"],
      ["noise-octaves", "noiseOctaves"],
      ["noise-persistence", "noisePersistence"],
      ["noise-mix", "noiseMix"],
      ...splitFlags,
    ],
    choices: [
      ["split", "split", ["train", "all"]],
      ["schedule", "schedule", ["linear", "cosine"]],
      ["lr-decay", "lrDecay", ["none", "cosine"]],
      ["noise", "noise", NOISE_KINDS],
    ],
    switches: [["no-augment", "augment", false], ["attention", "attention", true], ["no-norm", "norm", false]],
  });
}
