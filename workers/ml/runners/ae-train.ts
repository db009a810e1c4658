/**
 * The `ae-train` run kind (and the CLI's `train --method ae`): the autoencoder baseline trained on the
 * Negative images of its split, validated on the validation split, stored as the "checkpoint" artifact.
 */
import { describeBackend } from "../backend";
import type { RunConfig } from "../config";
import { fingerprints } from "../data/fingerprint";
import type { RunContext } from "../kinds";
import { throwIfCancelled } from "../logger";
import { Autoencoder, aeDetector } from "../methods/ae";
import type { ValidationResult } from "./validation";
import { fit, type FitResult } from "../methods/fit";
import { encodeModel, type ModelMeta } from "../methods/modelfile";
import { describeSource, loadRunData, logSkipped, trainingSplit } from "./data";
import { loadValidation, validate } from "./validation";

export type AeTrainConfig = RunConfig<"ae-train">;

export interface TrainedModel<M> {
  model: M;
  meta: ModelMeta;
  result: FitResult;
  validation: ValidationResult | null;
  params: number;
  nTrain: number;
}

export async function trainAe(config: AeTrainConfig, { logger, dataRoots }: RunContext): Promise<TrainedModel<Autoencoder>> {
  const { size, channels } = config;
  const fractions = { testFraction: config.testFraction, valFraction: config.valFraction, roots: dataRoots };
  const dataset = await loadRunData(config.data, { size, channels, split: trainingSplit(config.split), ...fractions });
  logSkipped((line) => logger.log(line), dataset);
  const train = dataset.samples.filter((s) => s.label === 0);
  if (train.length === 0) throw new Error(`no Negative (normal) images in the ${config.split} split of ${describeSource(config.data)}`);
  const valSamples = await loadValidation(config.data, { size, channels }, fractions, logger);
  throwIfCancelled(logger);

  const ae = new Autoencoder({ channels, width: config.width, depth: config.depth, latent: config.latent }, config.seed);
  const detector = aeDetector(ae, size, { trainedOn: null, validation: null });
  logger.log(`ae-train: ${train.length} normal images ${size}×${size}×${channels}, ${ae.params.parameterCount} parameters, ${config.iters} iters × batch ${config.batch}`);
  let last: ValidationResult | null = null;
  const images = train.map((s) => s.image);
  let result: FitResult;
  try {
    result = await fit(
      [...ae.params.variables.values()],
      images,
      images,
      { size, inChannels: channels, targetChannels: channels },
      (x) => ae.loss(x),
      config,
      {
        checkCancelled: () => throwIfCancelled(logger),
        onStep: async (step, loss) => {
          await logger.metrics(step, { "train/loss": loss });
          if (step % Math.max(1, Math.round(config.iters / 20)) === 0) logger.log(`step ${step}/${config.iters} loss ${loss.toFixed(5)}`);
          if ((config.evalEvery > 0 && step % config.evalEvery === 0) || step === config.iters) last = await validate(detector, valSamples, logger, step);
        },
      },
    );
  } catch (err) {
    ae.params.dispose();
    throw err;
  }
  const meta: ModelMeta = {
    method: "ae",
    size,
    channels,
    config: { width: config.width, depth: config.depth, latent: config.latent },
    training: {
      dataSource: config.data,
      data: describeSource(config.data),
      split: config.split,
      ...fractions,
      trainImages: fingerprints(images),
      iters: config.iters,
      batch: config.batch,
      lr: config.lr,
      seed: config.seed,
      finalLoss: result.finalLoss,
      seconds: result.seconds,
    },
  };
  return { model: ae, meta, result, validation: last, params: ae.params.parameterCount, nTrain: train.length };
}

/** The summary of a trained small network (run lists, the CLI's JSON). */
export function trainSummary(method: string, trained: TrainedModel<unknown>, backend: string, extra: Record<string, string | number | null> = {}) {
  return {
    method,
    backend,
    iters: trained.result.iters,
    seconds: trained.result.seconds,
    img_per_s: trained.result.imgPerS,
    final_loss: trained.result.finalLoss,
    params: trained.params,
    n_train: trained.nTrain,
    val_image_auroc: trained.validation?.val_image_auroc ?? null,
    val_pixel_auroc: trained.validation?.val_pixel_auroc ?? null,
    ...extra,
  };
}

export async function runAeTrain(config: AeTrainConfig, ctx: RunContext) {
  const { backend } = await describeBackend();
  const trained = await trainAe(config, ctx);
  try {
    await ctx.logger.artifact("checkpoint", "model", await encodeModel(trained.meta, trained.model.params.variables), {
      method: "ae",
      size: config.size,
      channels: config.channels,
    });
    return trainSummary("ae", trained, backend, { dataset: describeSource(config.data) });
  } finally {
    trained.model.params.dispose();
  }
}
