/**
 * The `ddpm-train` run kind: trains the DDPM teacher on the Negative images of a split, logs the loss curve,
 * samples from pure noise beside their nearest training images, optionally a quick heal evaluation on the
 * validation split as it goes (never the test split), and stores the checkpoint (the EMA weights) as the
 * "checkpoint" artifact, with the fingerprints of its training images (so `eval` can refuse them).
 * The CLI's `train` command runs the same `trainTeacher` with a file logger.
 */
import { describeBackend } from "../backend";
import { encodeCheckpoint, type CheckpointMeta, type Teacher } from "../checkpoint";
import type { RunConfig } from "../config";
import { fingerprints } from "../data/fingerprint";
import type { Sample, Split } from "../data/types";
import { makeSchedule } from "../diffusion/schedule";
import { evaluateHealing } from "../evaluate";
import { describeNoise, noiseSpecFrom } from "../noise";
import { defaultHealOptions } from "../heal";
import type { RunContext } from "../kinds";
import { throwIfCancelled, type RunLogger } from "../logger";
import { trainDdpm, epsilonModel, type TrainResult } from "../train";
import { decodeTrainState, disposeTrainState, encodeTrainState } from "../train-state";
import { UNet, type Weights } from "../unet";
import { forwardStrip, samplesVsNearest } from "../viz";
import { describeSource, loadRunData, logSkipped, trainingSplit } from "./data";

export type DdpmTrainConfig = RunConfig<"ddpm-train">;

/** Images a quick evaluation during training heals (at most), half of them cracked when possible. */
const QUICK_EVAL_IMAGES = 64;

export interface TrainedTeacher {
  teacher: Teacher;
  result: TrainResult;
  /** Image and pixel AUROC of the last quick evaluation, when there was one. */
  lastEval: { image_auroc: number | null; pixel_auroc: number | null } | null;
}

/**
 * Trains a teacher on `train` (normal images) and logs as it goes. `evalSamples` (labelled: the validation
 * split) feed the quick evaluations every `config.evalEvery` steps.
 */
export async function trainTeacher(
  config: DdpmTrainConfig,
  train: Sample[],
  logger: RunLogger,
  evalSamples: Sample[] = [],
  resumable: Pick<RunContext, "resumeState" | "checkpoint"> = {},
): Promise<TrainedTeacher> {
  const { size, channels } = config;
  const schedule = makeSchedule(config.schedule, { T: config.T, noise: noiseSpecFrom(config) });
  const model = new UNet({ channels, width: config.width, depth: config.depth, attention: config.attention, norm: config.norm }, config.seed);
  const images = train.map((s) => s.image);
  const quickEvalSet = pickQuickEvalSet(evalSamples);
  logger.log(
    `ddpm-train: ${train.length} normal images ${size}×${size}×${channels}, UNet width ${config.width} depth ${config.depth}${config.attention ? " with attention" : ""}${config.norm ? " with GroupNorm" : ""} ` +
      `(${model.parameterCount} parameters), ${config.iters} iters × batch ${config.batch}` +
      (config.crop ? ` on ${config.crop}×${config.crop} crops` : "") +
      (schedule.noise.kind === "gaussian" ? "" : `, ${describeNoise(schedule.noise)} noise`),
  );

  let lastEval: TrainedTeacher["lastEval"] = null;
  const reportEvery = Math.max(1, Math.round(config.iters / 20));
  const logSamples = async (step: number, weights: Weights) => {
    const eps = epsilonModel(model, weights);
    const samples = await samplesVsNearest(eps, schedule, images, size, channels, { count: 8, steps: 25, seed: config.seed });
    await logger.media("samples", step, samples.png, "top: DDIM-25 samples from noise; bottom: nearest training image");
    const mean = samples.distances.reduce((a, b) => a + b, 0) / samples.distances.length;
    await logger.metrics(step, { "samples/nearest_rms": mean, "samples/train_nearest_rms": samples.trainNearestRms });
    if (quickEvalSet.length > 0) {
      const { summary } = await evaluateHealing(eps, schedule, quickEvalSet, size, channels, defaultHealOptions, {
        checkCancelled: () => throwIfCancelled(logger),
      });
      lastEval = { image_auroc: summary.image_auroc, pixel_auroc: summary.pixel_auroc };
      const values: Record<string, number> = {};
      if (summary.image_auroc !== null) values["val/image_auroc"] = summary.image_auroc;
      if (summary.pixel_auroc !== null) values["val/pixel_auroc"] = summary.pixel_auroc;
      await logger.metrics(step, values);
      logger.log(`step ${step}: quick DDIM-10 validation on ${quickEvalSet.length} images: image AUROC ${fmt(summary.image_auroc)}, pixel AUROC ${fmt(summary.pixel_auroc)}`);
    }
  };

  const resume = resumable.resumeState ? decodeTrainState(resumable.resumeState) : undefined;
  if (resume) logger.log(`resuming from the training state saved at step ${resume.step}`);
  const checkpoint = resumable.checkpoint;
  let result: Awaited<ReturnType<typeof trainDdpm>>;
  try {
    result = await trainDdpm(
      model,
      schedule,
      images,
      size,
      {
        iters: config.iters,
        batch: config.batch,
        lr: config.lr,
        warmup: config.warmup,
        lrDecay: config.lrDecay,
        emaDecay: config.ema,
        gradClip: 1,
        augment: config.augment,
        crop: config.crop,
        seed: config.seed,
      },
      {
        checkCancelled: () => throwIfCancelled(logger),
        checkpoint: checkpoint && {
          due: () => checkpoint.due(),
          save: async (state) => checkpoint.save(await encodeTrainState(state), state.step),
        },
        onStep: async ({ step, loss, lr, imgPerS, emaWeights }) => {
          await logger.metrics(step, { "train/loss": loss });
          if (step % 10 === 0 || step === config.iters) await logger.metrics(step, { "train/lr": lr, "train/img_per_s": imgPerS });
          if (step % reportEvery === 0 || step === config.iters) {
            logger.log(`step ${step}/${config.iters} loss ${loss.toFixed(4)} ${imgPerS.toFixed(1)} img/s`);
          }
          if (config.evalEvery > 0 && (step % config.evalEvery === 0 || step === config.iters)) {
            await logSamples(step, emaWeights);
          }
        },
      },
      resume,
    );
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    if (resume) disposeTrainState(resume);
  }

  // The teacher samples with the EMA weights (Ho et al. 2020 App. B); they are what the checkpoint keeps.
  model.assign(result.ema.weights);
  result.ema.dispose();
  if (config.evalEvery === 0) await logSamples(config.iters, model.variables);
  if (images.length > 0) {
    const strip = await forwardStrip(schedule, images[0]!, size, channels, undefined, config.seed);
    await logger.media("forward", config.iters, strip.png, `q(x_t | x_0) at t = ${strip.timesteps.join(", ")}`);
  }
  const meta: CheckpointMeta = {
    method: "ddpm",
    unet: model.config,
    schedule: { kind: schedule.kind, T: schedule.T, noise: schedule.noise },
    size,
    channels,
    training: {
      dataSource: config.data,
      data: describeSource(config.data),
      split: config.split,
      testFraction: config.testFraction,
      valFraction: config.valFraction,
      nTrain: train.length,
      trainImages: fingerprints(images),
      iters: config.iters,
      batch: config.batch,
      lr: config.lr,
      lrDecay: config.lrDecay,
      ema: config.ema,
      crop: config.crop,
      seed: config.seed,
      finalLoss: result.finalLoss,
      seconds: result.seconds,
    },
  };
  const { ema: _ema, ...plain } = result;
  return { teacher: { model, schedule, meta }, result: plain, lastEval };
}

export async function runDdpmTrain(config: DdpmTrainConfig, { logger, dataRoots, ...resumable }: RunContext) {
  const { backend } = await describeBackend();
  const load = (split: Split) =>
    loadRunData(config.data, { size: config.size, channels: config.channels, split, testFraction: config.testFraction, valFraction: config.valFraction, roots: dataRoots });
  const dataset = await load(trainingSplit(config.split));
  logSkipped((line) => logger.log(line), dataset);
  const train = dataset.samples.filter((s) => s.label === 0);
  if (train.length === 0) throw new Error(`no Negative (normal) images in the ${config.split} split of ${describeSource(config.data)}`);
  const validation = config.evalEvery > 0 ? await load("val") : null;
  if (validation) logSkipped((line) => logger.log(line), validation);
  const evalSamples = validation?.samples ?? [];
  throwIfCancelled(logger);

  const { teacher, result, lastEval } = await trainTeacher(config, train, logger, evalSamples, resumable);
  try {
    const bytes = await encodeCheckpoint(teacher.meta, teacher.model.variables);
    await logger.artifact("checkpoint", "checkpoint", bytes, {
      method: "ddpm",
      unet: teacher.meta.unet,
      size: teacher.meta.size,
      channels: teacher.meta.channels,
      iters: config.iters,
    });
    return {
      method: "ddpm",
      backend,
      iters: result.iters,
      seconds: result.seconds,
      img_per_s: result.imgPerS,
      final_loss: result.finalLoss,
      params: teacher.model.parameterCount,
      n_train: train.length,
      dataset: describeSource(config.data),
      val_image_auroc: lastEval?.image_auroc ?? null,
      val_pixel_auroc: lastEval?.pixel_auroc ?? null,
    };
  } finally {
    teacher.model.dispose();
  }
}

/** Up to QUICK_EVAL_IMAGES labelled images, balanced between the classes, in a fixed order. */
function pickQuickEvalSet(samples: Sample[]): Sample[] {
  const half = QUICK_EVAL_IMAGES / 2;
  const positives = samples.filter((s) => s.label === 1);
  const negatives = samples.filter((s) => s.label === 0);
  if (positives.length === 0 || negatives.length === 0) return [];
  return [...negatives.slice(0, half), ...positives.slice(0, half)];
}

function fmt(value: number | null): string {
  return value === null ? "n/a" : value.toFixed(3);
}
