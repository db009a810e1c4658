/**
 * Run-config schemas, one per run kind. Imported by the server (to validate launches) and the launch forms,
 * so this file must never import tfjs or anything heavy.
 */
import { z } from "zod";
import { defaultHealOptions, RESIDUALS } from "./heal-defaults";
import { defaultSimplexOptions, NOISE_KINDS } from "./noise";

export const smokeConfig = z
  .object({
    steps: z.number().int().min(1).max(5000).default(60),
    batchSize: z.number().int().min(1).max(256).default(16),
    learningRate: z.number().positive().max(1).default(0.01),
    size: z.number().int().min(8).max(128).default(16),
    seed: z.number().int().min(0).default(0),
  })
  .strict();

/** Where a run's images come from: the synthetic generator (rendered at the run's size) or a folder dataset. */
export const dataSource = z.union([
  z
    .object({
      synthetic: z
        .object({
          count: z.number().int().min(4).max(20000).default(400),
          /** Optional; must equal the run's size when given. */
          size: z.number().int().min(16).max(256).optional(),
          seed: z.number().int().min(0).default(0),
        })
        .strict(),
    })
    .strict(),
  z.object({ folder: z.string().min(1) }).strict(),
]);
export type DataSource = z.output<typeof dataSource>;

const syntheticDefault = { synthetic: { count: 400, seed: 0 } };

/**
 * How a dataset is split, by a hash of each file name (workers/ml/data/split.ts): the test share, then the
 * validation share, which no training uses and which every threshold and default is chosen on.
 */
const splitFractions = {
  /** Share of each class held out as the test split. */
  testFraction: z.number().min(0).max(0.9).default(0.3),
  /** Share held out as the validation split. */
  valFraction: z.number().min(0).max(0.5).default(0.1),
};
const fractionsFit = (c: { testFraction: number; valFraction: number }) => c.testFraction + c.valFraction < 1;
const fractionsMessage = { message: "testFraction + valFraction must be below 1", path: ["valFraction"] };

/** The teacher's sampler settings: used by students (to make targets) and by eval (to heal). */
const samplerFields = {
  sampler: z.enum(["ddpm", "ddim"]).default("ddim"),
  /** Network calls per heal; default 1 for DDIM and t0 (every step) for DDPM. */
  steps: z.number().int().min(1).max(4000).optional(),
  t0: z.number().int().min(1).max(4000).default(defaultHealOptions.t0),
  eta: z.number().min(0).max(1).default(0),
  /** Heals per image with independent noise, averaged before the residual; default 16 for one-step heals, else 1. */
  seeds: z.number().int().min(1).max(16).optional(),
  /** Seed of the healing noise. */
  noiseSeed: z.number().int().min(0).default(0),
  /** Image score: the top-k % of the heatmap's segment means (workers/ml/heal.ts, ImageScoring)… */
  topk: z.number().positive().max(100).default(defaultHealOptions.topkPercent),
  /** …along segments of this many pixels (1 = single pixels)… */
  line: z.number().int().min(1).max(64).default(defaultHealOptions.lineLength),
  /** …minus this many times the heatmap's mean. */
  background: z.number().min(0).max(10).default(defaultHealOptions.background),
  /** Gaussian smoothing of heatmaps, σ in pixels (0 = none). */
  smooth: z.number().min(0).max(10).default(defaultHealOptions.smoothSigma),
  /** Which differences count: where the image is darker than its healing (cracks are), or any. */
  residual: z.enum(RESIDUALS).default(defaultHealOptions.residual),
};
/** heal-eval names its noise seed `seed`. */
const { noiseSeed: _noiseSeed, ...healFields } = samplerFields;
const stepsFit = { message: "steps must be at most t0", path: ["steps"] };

/** Fields of every small network's training loop. */
const fitFields = (iters: number, lr: number) => ({
  iters: z.number().int().min(1).max(200000).default(iters),
  batch: z.number().int().min(1).max(256).default(16),
  lr: z.number().positive().max(0.1).default(lr),
  warmup: z.number().int().min(0).max(10000).default(50),
  /** Train on random crop × crop windows (0 = whole images). */
  crop: z.number().int().min(0).max(256).default(0),
  augment: z.boolean().default(true),
  seed: z.number().int().min(0).default(0),
  /** Every this many steps: evaluate on the validation split (0 = only at the end). */
  evalEvery: z.number().int().min(0).max(200000).default(0),
});
const channels = z.union([z.literal(1), z.literal(3)]);

/** `ddpm-train`: trains the DDPM teacher on the Negative images of a split; stores the checkpoint. */
export const ddpmTrainConfig = z
  .object({
    data: dataSource.default(syntheticDefault),
    split: z.enum(["train", "all"]).default("train"),
    ...splitFractions,
    size: z.number().int().min(16).max(256).default(64),
    channels: channels.default(1),
    iters: z.number().int().min(1).max(200000).default(1500),
    batch: z.number().int().min(1).max(256).default(16),
    lr: z.number().positive().max(0.1).default(1e-3),
    warmup: z.number().int().min(0).max(10000).default(100),
    /** After the warm-up: a constant learning rate, or a half-cosine decay to 0 at the last step. */
    lrDecay: z.enum(["none", "cosine"]).default("none"),
    schedule: z.enum(["linear", "cosine"]).default("linear"),
    T: z.number().int().min(10).max(4000).default(1000),
    /** The noise ε of training, and so of healing: Gaussian, or multi-scale simplex noise (AnoDDPM). */
    noise: z.enum(NOISE_KINDS).default("gaussian"),
    /** Simplex noise: period of the coarsest octave in pixels… */
    noisePeriod: z.number().min(1).max(1024).default(defaultSimplexOptions.period),
    /** …octaves, each at half the previous period… */
    noiseOctaves: z.number().int().min(1).max(8).default(defaultSimplexOptions.octaves),
    /** …each at this fraction of the previous amplitude… */
    noisePersistence: z.number().gt(0).max(1).default(defaultSimplexOptions.persistence),
    /** …and this share of ε's variance (the rest Gaussian). */
    noiseMix: z.number().min(0).max(1).default(defaultSimplexOptions.mix),
    /** UNet channels at full resolution and number of resolution levels. */
    width: z.number().int().min(4).max(128).default(16),
    depth: z.number().int().min(1).max(6).default(4),
    /** A self-attention block at the lowest resolution. */
    attention: z.boolean().default(false),
    /** GroupNorm inside every ResBlock. */
    norm: z.boolean().default(true),
    ema: z.number().min(0).max(0.99999).default(0.995),
    /** Train on random crop × crop windows (0 = whole images). */
    crop: z.number().int().min(0).max(256).default(32),
    augment: z.boolean().default(true),
    seed: z.number().int().min(0).default(0),
    /** Every this many steps: sample images and a quick heal evaluation on the validation split (0 = only at the end). */
    evalEvery: z.number().int().min(0).max(200000).default(0),
  })
  .strict()
  .refine((c) => !("synthetic" in c.data) || c.data.synthetic.size === undefined || c.data.synthetic.size === c.size, {
    message: "data.synthetic.size must equal size (synthetic images are rendered at the run's size)",
    path: ["data", "synthetic", "size"],
  })
  .refine((c) => c.size % 2 ** (c.depth - 1) === 0, {
    message: "size must be divisible by 2^(depth − 1)",
    path: ["size"],
  })
  .refine((c) => c.crop === 0 || (c.crop <= c.size && c.crop % 2 ** (c.depth - 1) === 0), {
    message: "crop must be 0 or at most size and divisible by 2^(depth − 1)",
    path: ["crop"],
  })
  .refine(fractionsFit, fractionsMessage);

/**
 * `heal-eval`: heals a split with a trained teacher's checkpoint and scores it (DDPM or DDIM). The defaults
 * are defaultHealOptions (workers/ml/heal-defaults.ts); see the measurements there.
 */
export const healEvalConfig = z
  .object({
    /** The `ddpm-train` run whose "checkpoint" artifact is the teacher. */
    teacherRunId: z.string().min(1),
    data: dataSource.default(syntheticDefault),
    split: z.enum(["test", "train", "all"]).default("test"),
    ...splitFractions,
    ...healFields,
    seed: z.number().int().min(0).default(0),
    batch: z.number().int().min(1).max(256).default(32),
    /** How many hardest false positives and false negatives to log as images. */
    hardest: z.number().int().min(0).max(32).default(4),
  })
  .strict()
  .refine((c) => c.steps === undefined || c.steps <= c.t0, { message: "steps must be at most t0", path: ["steps"] })
  .refine(fractionsFit, fractionsMessage);

/** `ae-train`: the convolutional autoencoder baseline, trained on the Negative images of a split. */
export const aeTrainConfig = z
  .object({
    data: dataSource.default(syntheticDefault),
    split: z.enum(["train", "all"]).default("train"),
    ...splitFractions,
    size: z.number().int().min(16).max(256).default(64),
    channels: channels.default(1),
    width: z.number().int().min(4).max(128).default(16),
    /** Resolution levels; the bottleneck is size / 2^(depth − 1) wide. */
    depth: z.number().int().min(1).max(6).default(4),
    /** Channels of the bottleneck code. */
    latent: z.number().int().min(1).max(512).default(16),
    ...fitFields(1500, 1e-3),
  })
  .strict()
  .refine((c) => !("synthetic" in c.data) || c.data.synthetic.size === undefined || c.data.synthetic.size === c.size, {
    message: "data.synthetic.size must equal size (synthetic images are rendered at the run's size)",
    path: ["data", "synthetic", "size"],
  })
  .refine((c) => c.size % 2 ** (c.depth - 1) === 0, { message: "size must be divisible by 2^(depth − 1)", path: ["size"] })
  .refine((c) => c.crop === 0 || (c.crop <= c.size && c.crop % 2 ** (c.depth - 1) === 0), {
    message: "crop must be 0 or at most size and divisible by 2^(depth − 1)",
    path: ["crop"],
  })
  .refine(fractionsFit, fractionsMessage);

/**
 * `student-train`: runs a trained teacher over a split (every image, its label unread) for soft heatmap
 * targets, or reuses them from the teacher's cache, and trains a single-step or coarse-to-fine student.
 */
export const studentTrainConfig = z
  .object({
    /** The `ddpm-train` run whose "checkpoint" artifact is the teacher. */
    teacherRunId: z.string().min(1),
    method: z.enum(["student-single", "student-c2f"]).default("student-c2f"),
    /** soft: the teacher's heatmaps; binary: the same thresholded at their 99th percentile over the training images. */
    targets: z.enum(["soft", "binary"]).default("soft"),
    data: dataSource.default(syntheticDefault),
    split: z.enum(["train", "all"]).default("train"),
    ...splitFractions,
    ...samplerFields,
    width: z.number().int().min(4).max(128).default(16),
    /** Encoder levels; the image side must be divisible by 2^(levels − 1). */
    levels: z.number().int().min(1).max(5).default(3),
    /** Coarse-to-fine stages (1 ≤ stages ≤ levels; single-step students use 1). */
    stages: z.number().int().min(1).max(5).default(3),
    ...fitFields(1500, 2e-3),
  })
  .strict()
  .refine((c) => c.steps === undefined || c.steps <= c.t0, stepsFit)
  .refine((c) => c.stages <= c.levels, { message: "stages must be at most levels", path: ["stages"] })
  .refine(fractionsFit, fractionsMessage);

/**
 * `eval`: evaluates any trained model (a `ddpm-train`, `ae-train` or `student-train` run) on a split, with
 * the same metrics for every method; the F1 threshold is fixed on validation normals of the model's own
 * training data. Refuses images the model or its teacher trained on unless allowOverlap.
 */
export const evalConfig = z
  .object({
    /** The training run whose "checkpoint" artifact is evaluated. */
    modelRunId: z.string().min(1),
    data: dataSource.default(syntheticDefault),
    split: z.enum(["test", "val", "train", "all"]).default("test"),
    ...splitFractions,
    /** Sampler settings, used when the model is a diffusion teacher. */
    ...samplerFields,
    batch: z.number().int().min(1).max(256).default(32),
    /** The F1 threshold is this quantile of the validation normals' scores. */
    thresholdQuantile: z.number().min(0.5).max(1).default(0.95),
    /** At most this many validation normals are scored for the threshold. */
    valImages: z.number().int().min(1).max(10000).default(200),
    /** Report metrics even on images the model or its teacher trained on (the summary says so). */
    allowOverlap: z.boolean().default(false),
    hardest: z.number().int().min(0).max(32).default(4),
  })
  .strict()
  .refine((c) => c.steps === undefined || c.steps <= c.t0, stepsFit)
  .refine(fractionsFit, fractionsMessage);

/** Every run kind and its config schema; the worker has one runner per key. */
export const runConfigs = {
  smoke: smokeConfig,
  "ddpm-train": ddpmTrainConfig,
  "heal-eval": healEvalConfig,
  "ae-train": aeTrainConfig,
  "student-train": studentTrainConfig,
  eval: evalConfig,
} as const;

export type RunKind = keyof typeof runConfigs;

/** Config fields that name another run, and the kinds that run may be: its "checkpoint" artifact is what is read. */
export const runReferences: Record<string, readonly RunKind[]> = {
  teacherRunId: ["ddpm-train"],
  modelRunId: ["ddpm-train", "ae-train", "student-train"],
};
export const runKinds = Object.keys(runConfigs) as RunKind[];
export type RunConfig<K extends RunKind> = z.output<(typeof runConfigs)[K]>;

/** Validates a config for a kind; the error message names each bad field. */
export function parseRunConfig<K extends RunKind>(kind: K, config: unknown): RunConfig<K> {
  const schema = runConfigs[kind];
  const result = schema.safeParse(config ?? {});
  if (!result.success) {
    const detail = result.error.issues
      .map((i) => `${i.path.length ? i.path.join(".") : "config"}: ${i.message}`)
      .join("; ");
    throw new InvalidConfigError(`invalid ${kind} config: ${detail}`);
  }
  return result.data as RunConfig<K>;
}

export class InvalidConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidConfigError";
  }
}
