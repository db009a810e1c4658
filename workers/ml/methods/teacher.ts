/**
 * The diffusion teacher as a detector (healing with DDPM or DDIM, workers/ml/heal.ts), and its targets for
 * students: its soft heatmaps and scores over a training set (normal and unlabeled images alike; no label
 * is read), with the teacher and its sampler, steps, t₀ and seeds recorded. Targets are cached under a key of
 * those settings, the teacher's weights and the images, so several students reuse one pass.
 *
 * Targets as bytes: "CDTG", uint32 header length, JSON header (settings, key, ids, fingerprints, size),
 * padding to 4, then the float32 heatmaps (n × size × size) and the scores (n).
 */
import type { Teacher } from "../checkpoint";
import { imageFingerprint } from "../data/fingerprint";
import { healAndScore, netCallsPerImage, type HealOptions, type ResidualKind } from "../heal";
import { epsilonModel } from "../train";
import { stableHash32 } from "../data/split";
import { readTrainingRecord, type Detector } from "./detector";

export function teacherDetector(teacher: Teacher, options: HealOptions): Detector {
  const { validation, trainedOn } = readTrainingRecord(teacher.meta.training);
  const eps = epsilonModel(teacher.model);
  return {
    method: "ddpm",
    size: teacher.meta.size,
    channels: teacher.meta.channels,
    params: teacher.model.parameterCount,
    callsPerImage: netCallsPerImage(options),
    settings: { sampler: options.sampler, steps: options.steps, t0: options.t0, eta: options.eta, seeds: options.seeds, smooth: options.smoothSigma, topk: options.topkPercent, line: options.lineLength, background: options.background, residual: options.residual },
    trainedOn: trainedOn ? new Set(trainedOn) : null,
    validation,
    heatmaps: async (inputs, hooks) =>
      (await healAndScore(eps, teacher.schedule, inputs, teacher.meta.size, teacher.meta.channels, options, hooks)).map((r) => ({
        heatmap: r.heatmap,
        score: r.score,
        reconstruction: r.healed,
      })),
    dispose: () => teacher.model.dispose(),
  };
}

/** What produced a set of targets. */
export interface TargetSettings {
  /** The teacher: its run id (worker) or model folder (CLI). */
  teacher: string;
  /** Fingerprint of the teacher's weights, so a retrained teacher never reuses old targets. */
  teacherWeights: string;
  sampler: "ddpm" | "ddim";
  steps: number;
  t0: number;
  eta: number;
  seeds: number;
  seed: number;
  smooth: number;
  topk: number;
  line: number;
  background: number;
  residual: ResidualKind;
}

export interface TeacherTargets {
  settings: TargetSettings;
  key: string;
  size: number;
  ids: string[];
  /** Content fingerprints of the images, in order. */
  fingerprints: string[];
  /** n × size × size. */
  heatmaps: Float32Array;
  scores: Float32Array;
}

export async function targetSettings(teacherName: string, teacher: Teacher, options: HealOptions): Promise<TargetSettings> {
  const parts = await Promise.all([...teacher.model.variables.values()].map(async (v) => (await v.data()) as Float32Array));
  const weights = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (weights.set(p, offset), offset + p.length), 0);
  return {
    teacher: teacherName,
    teacherWeights: imageFingerprint(weights),
    sampler: options.sampler,
    steps: options.steps,
    t0: options.t0,
    eta: options.eta,
    seeds: options.seeds,
    seed: options.seed,
    smooth: options.smoothSigma,
    topk: options.topkPercent,
    line: options.lineLength,
    background: options.background,
    residual: options.residual,
  };
}

/** Changes whenever the same settings start to give other heatmaps, so targets of an older rule are not reused. */
const HEATMAP_RULE = "residual of the mean heal";

/** The cache key: the settings (teacher weights included), the heatmap rule and the images' fingerprints. */
export function targetsKey(settings: TargetSettings, fingerprints: string[]): string {
  const text = JSON.stringify({ ...settings, teacher: undefined, rule: HEATMAP_RULE, images: [...fingerprints].sort() });
  return [stableHash32(text), stableHash32(`targets:${text}`)].map((h) => h.toString(16).padStart(8, "0")).join("");
}

/** Runs the teacher over images (labels are never read) and keeps its heatmaps and scores. */
export async function computeTargets(
  teacher: Teacher,
  settings: TargetSettings,
  options: HealOptions,
  images: { id: string; image: Float32Array }[],
  hooks: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void } = {},
): Promise<TeacherTargets> {
  const size = teacher.meta.size;
  const results = await healAndScore(epsilonModel(teacher.model), teacher.schedule, images, size, teacher.meta.channels, options, hooks);
  const heatmaps = new Float32Array(images.length * size * size);
  results.forEach((r, i) => heatmaps.set(r.heatmap, i * size * size));
  const prints = images.map((i) => imageFingerprint(i.image));
  return {
    settings,
    key: targetsKey(settings, prints),
    size,
    ids: images.map((i) => i.id),
    fingerprints: prints,
    heatmaps,
    scores: Float32Array.from(results, (r) => r.score),
  };
}

const MAGIC = "CDTG";

export function encodeTargets(targets: TeacherTargets): Uint8Array {
  const { heatmaps, scores, ...header } = targets;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((8 + json.length) / 4) * 4;
  const bytes = new Uint8Array(start + (heatmaps.length + scores.length) * 4);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(4, json.length, true);
  bytes.set(json, 8);
  const floats = new Float32Array(bytes.buffer, start, heatmaps.length + scores.length);
  floats.set(heatmaps, 0);
  floats.set(scores, heatmaps.length);
  return bytes;
}

export function decodeTargets(bytes: Uint8Array): TeacherTargets {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw new Error("not a Crackdiff targets file (bad magic bytes)");
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Omit<TeacherTargets, "heatmaps" | "scores">;
  const start = Math.ceil((8 + length) / 4) * 4;
  const n = header.ids.length;
  const floats = new Float32Array(bytes.slice(start, start + (n * header.size * header.size + n) * 4).buffer);
  if (floats.length !== n * header.size * header.size + n) throw new Error("targets file is truncated");
  return { ...header, heatmaps: floats.subarray(0, n * header.size * header.size), scores: floats.subarray(n * header.size * header.size) };
}

/** The binary rule of `--targets binary`: a pixel is "crack" when its teacher heatmap value is ≥ this. */
export const BINARY_TARGET_QUANTILE = 0.99;

/** Thresholds soft targets at `threshold` (1 where ≥, else 0). */
export function binarise(heatmap: Float32Array, threshold: number): Float32Array {
  return Float32Array.from(heatmap, (v) => (v >= threshold ? 1 : 0));
}
