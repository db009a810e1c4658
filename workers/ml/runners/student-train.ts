/**
 * The `student-train` run kind (and the CLI's `train --method student-single|student-c2f`): the teacher's
 * targets over the training images (every image of the split; labels are never read), from the teacher's
 * cache when an identical pass exists, else computed and cached on the teacher; then a student fitted to
 * them (soft heatmaps, or binary: thresholded at their 99th percentile), validated on the validation split
 * and stored as the "checkpoint" artifact.
 */
import { describeBackend } from "../backend";
import { decodeCheckpoint } from "../checkpoint";
import type { RunConfig } from "../config";
import { fingerprints } from "../data/fingerprint";
import type { RunContext } from "../kinds";
import { throwIfCancelled } from "../logger";
import { quantile } from "../metrics";
import { readTrainingRecord } from "../methods/detector";
import { fit } from "../methods/fit";
import { encodeModel, MODEL_FORMAT, readHeader, type ModelMeta } from "../methods/modelfile";
import { Student, studentDetector, type StudentConfig } from "../methods/student";
import {
  BINARY_TARGET_QUANTILE,
  binarise,
  computeTargets,
  decodeTargets,
  encodeTargets,
  targetSettings,
  targetsKey,
  type TeacherTargets,
} from "../methods/teacher";
import { trainSummary, type TrainedModel } from "./ae-train";
import { describeSource, loadRunData, logSkipped, trainingSplit } from "./data";
import { samplerOptions } from "./eval";
import { loadValidation, validate, type ValidationResult } from "./validation";

export type StudentTrainConfig = RunConfig<"student-train">;

/** The teacher's targets for `images`: from the cache on the teacher run when present, else computed and cached. */
export async function teacherTargets(
  config: StudentTrainConfig,
  ctx: RunContext,
  images: { id: string; image: Float32Array }[],
): Promise<{ targets: TeacherTargets; cached: boolean; teacherTrainedOn: string[] | null; size: number; channels: 1 | 3 }> {
  const bytes = await ctx.loadArtifact(config.teacherRunId, "checkpoint");
  if (readHeader(bytes).header.format === MODEL_FORMAT) throw new Error(`teacherRunId ${config.teacherRunId} is not a diffusion teacher (a ddpm-train run)`);
  const teacher = decodeCheckpoint(bytes);
  try {
    const options = samplerOptions(config);
    if (options.t0 > teacher.schedule.T) throw new Error(`t0 ${options.t0} exceeds the teacher's T = ${teacher.schedule.T}`);
    const settings = await targetSettings(config.teacherRunId, teacher, options);
    const key = targetsKey(settings, images.map((i) => fingerprints([i.image])[0]!));
    const name = `targets/${key}`;
    const found = await ctx.loadArtifact(config.teacherRunId, name).then(decodeTargets, () => null);
    const teacherTrainedOn = readTrainingRecord(teacher.meta.training).trainedOn;
    const shape = { size: teacher.meta.size, channels: teacher.meta.channels };
    if (found && found.key === key) {
      ctx.logger.log(`teacher targets: reusing the cached pass ${key} (${found.ids.length} images)`);
      return { targets: reorder(found, images.map((i) => i.id)), cached: true, teacherTrainedOn, ...shape };
    }
    ctx.logger.log(`teacher targets: healing ${images.length} images, ${options.sampler.toUpperCase()}-${options.steps} from t0 = ${options.t0} (cached as ${key})`);
    const targets = await computeTargets(teacher, settings, options, images, {
      checkCancelled: () => throwIfCancelled(ctx.logger),
      onProgress: (done, total) => void ctx.logger.metrics(done, { "targets/progress": done / total }),
    });
    await ctx.saveArtifact?.(config.teacherRunId, name, "targets", encodeTargets(targets), { ...settings, images: images.length });
    return { targets, cached: false, teacherTrainedOn, ...shape };
  } finally {
    teacher.model.dispose();
  }
}

/** Targets in the order of `ids` (a cached pass may list the same images in another order). */
function reorder(targets: TeacherTargets, ids: string[]): TeacherTargets {
  const at = new Map(targets.ids.map((id, i) => [id, i]));
  const px = targets.size * targets.size;
  const heatmaps = new Float32Array(ids.length * px);
  const scores = new Float32Array(ids.length);
  ids.forEach((id, i) => {
    const j = at.get(id);
    if (j === undefined) throw new Error(`cached targets lack image ${id}`);
    heatmaps.set(targets.heatmaps.subarray(j * px, (j + 1) * px), i * px);
    scores[i] = targets.scores[j]!;
  });
  return { ...targets, ids, heatmaps, scores };
}

/**
 * What a student is fitted to, per image: the teacher's soft heatmaps (scaled so their 99th percentile over
 * the training images is 1), or binary ones: 1 where the heatmap is ≥ that 99th percentile, else 0.
 */
export function studentTargets(targets: TeacherTargets, kind: "soft" | "binary"): { images: Float32Array[]; threshold: number | null; scale: number } {
  const px = targets.size * targets.size;
  const soft = targets.ids.map((_, i) => targets.heatmaps.slice(i * px, (i + 1) * px));
  const level = quantile(targets.heatmaps, BINARY_TARGET_QUANTILE);
  if (kind === "soft") return { images: soft, threshold: null, scale: Math.max(level, 1e-6) };
  return { images: soft.map((h) => binarise(h, level)), threshold: level, scale: 1 };
}

export async function trainStudent(config: StudentTrainConfig, ctx: RunContext): Promise<TrainedModel<Student> & { cached: boolean; binaryThreshold: number | null }> {
  const { logger } = ctx;
  const fractions = { testFraction: config.testFraction, valFraction: config.valFraction, roots: ctx.dataRoots };
  // The teacher fixes size and channels; read them before loading the images at that resolution.
  const teacherHeader = readHeader(await ctx.loadArtifact(config.teacherRunId, "checkpoint")).header as { size?: number; channels?: 1 | 3 };
  const size = teacherHeader.size!;
  const channels = teacherHeader.channels!;
  const dataset = await loadRunData(config.data, { size, channels, split: trainingSplit(config.split), ...fractions });
  logSkipped((line) => logger.log(line), dataset);
  const train = dataset.samples; // every image of the split: the teacher labels them, not the dataset
  if (train.length === 0) throw new Error(`no images in the ${config.split} split of ${describeSource(config.data)}`);
  const valSamples = await loadValidation(config.data, { size, channels }, fractions, logger);
  const { targets, cached, teacherTrainedOn } = await teacherTargets(config, ctx, train);
  throwIfCancelled(logger);

  const { images: targetImages, threshold: binaryThreshold, scale } = studentTargets(targets, config.targets);
  const kind = config.method === "student-single" ? "single" : "c2f";
  const studentConfig: StudentConfig = {
    kind,
    channels,
    width: config.width,
    levels: config.levels,
    stages: kind === "single" ? 1 : config.stages,
    targetScale: scale,
    topk: config.topk,
    line: config.line,
    background: config.background,
  };
  const student = new Student(studentConfig, config.seed);
  const detector = studentDetector(student, size, { trainedOn: null, validation: null, settings: {} });
  logger.log(
    `${config.method}: ${train.length} images ${size}×${size}×${channels}, ${config.targets} targets` +
      (binaryThreshold !== null ? ` (teacher heatmap ≥ ${binaryThreshold.toExponential(3)}, its ${BINARY_TARGET_QUANTILE * 100}th percentile)` : "") +
      `, ${student.params.parameterCount} parameters, ${config.iters} iters × batch ${config.batch}`,
  );
  let last: ValidationResult | null = null;
  let result;
  try {
    result = await fit(
      [...student.params.variables.values()],
      train.map((s) => s.image),
      targetImages,
      { size, inChannels: channels, targetChannels: 1 },
      (x, y) => student.loss(x, y),
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
    student.params.dispose();
    throw err;
  }
  const s = targets.settings;
  const meta: ModelMeta = {
    method: config.method,
    size,
    channels,
    config: { ...studentConfig },
    training: {
      dataSource: config.data,
      data: describeSource(config.data),
      split: config.split,
      ...fractions,
      trainImages: fingerprints(train.map((t) => t.image)),
      teacherTrainImages: teacherTrainedOn,
      targets: {
        targets: config.targets,
        rule: binaryThreshold === null ? "soft teacher heatmaps" : `teacher heatmap ≥ its ${BINARY_TARGET_QUANTILE * 100}th percentile over the training images (${binaryThreshold})`,
        key: targets.key,
        teacher: s.teacher,
        sampler: s.sampler,
        steps: s.steps,
        t0: s.t0,
        seeds: s.seeds,
        smooth: s.smooth,
      },
      iters: config.iters,
      batch: config.batch,
      lr: config.lr,
      seed: config.seed,
      finalLoss: result.finalLoss,
      seconds: result.seconds,
    },
  };
  return { model: student, meta, result, validation: last, params: student.params.parameterCount, nTrain: train.length, cached, binaryThreshold };
}

export async function runStudentTrain(config: StudentTrainConfig, ctx: RunContext) {
  const { backend } = await describeBackend();
  const trained = await trainStudent(config, ctx);
  try {
    await ctx.logger.artifact("checkpoint", "model", await encodeModel(trained.meta, trained.model.params.variables), {
      method: config.method,
      size: trained.meta.size,
      channels: trained.meta.channels,
      targets: config.targets,
    });
    return trainSummary(config.method, trained, backend, {
      dataset: describeSource(config.data),
      targets: config.targets,
      targets_cached: trained.cached ? 1 : 0,
      binary_threshold: trained.binaryThreshold,
    });
  } finally {
    trained.model.params.dispose();
  }
}
