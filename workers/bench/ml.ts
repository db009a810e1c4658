/**
 * `npm run bench -- ml [--json]`: the engine's speed on equal, framework-neutral work.
 *
 * reference_unet (ISSUE 3, exactly): input 64×64×1; conv3×3(16)+ReLU → maxpool 2 → conv3×3(32)+ReLU →
 * conv3×3(32)+ReLU → nearest upsample ×2 → concat with the first conv's output → conv3×3(16)+ReLU →
 * conv3×3(1); 'same' padding; Adam 1e-3; MSE; batch 16; random inputs. Throughput is the median of
 * `--unet-rounds` timed rounds of `--unet-steps` steps each, after `--unet-warmup` untimed steps.
 *
 * teacher_train: the default teacher (workers/ml/unet.ts's default UNet, trained by workers/ml/train.ts's
 * trainDdpm with its default options: batch 16, Adam, gradient clipping, EMA) on 64×64 synthetic images,
 * timed the same way (warm-up steps, then the median of rounds of steps).
 *
 * Options (heal.ts reads its own, e.g. --steps for its DDIM steps):
 *   --unet-rounds N --unet-steps N --unet-warmup N   timing on the default backend (5, 5, 3)
 *   --compare-wasm    the same on the wasm backend with its native kernels switched off (when the
 *                     default has them), and the speed-up they bring
 *   --compare-cpu     the same on the pure-JS cpu backend, and the speed-up; slow (minutes per step), so
 *                     it has its own --cpu-rounds N --cpu-steps N --cpu-warmup N (1, 1, 1)
 *   --compare-torch   workers/bench/reference_unet.py on this CPU (PyTorch, --torch-threads N, 2) with the
 *                     same timing, when a python3 here imports torch (or --python PATH); else null:
 *                     torch_reference_unet and fraction_of_torch {train, infer} (ours ÷ PyTorch's img/s);
 *                     and workers/bench/teacher_unet.py, the teacher's net and trainDdpm step in PyTorch
 *                     (same shapes, 597,329 parameters): torch_teacher_train and teacher_fraction_of_torch
 *                     (teacher_train's img/s ÷ PyTorch's); --torch-device cuda runs both on the GPU instead.
 *                     Ours and PyTorch's take turns round by round (each of our timed rounds, then the
 *                     same round of PyTorch's), --pairs N times (3) in all: a pair's ratio is the median
 *                     of its rounds' ratios (fraction_of_torch_pairs has each), each ratio the median over
 *                     the pairs, each img/s the median of the pairs' medians
 *   --profile         teacher_profile (workers/bench/profile.ts): one more round of the teacher's steps with
 *                     every native kernel call timed, per kernel and convolution shape, against the step
 * Plus `heal` (workers/bench/heal.ts: DDIM and DDPM healing) and `students` (workers/bench/students.ts): each
 * student's and the autoencoder's speed, default image score included, and speed-up over that healing.
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import * as tf from "@tensorflow/tfjs";
import { UsageError, type Args, type Command } from "../cli/args";
import { initBackend, type BackendInfo } from "../ml/backend";
import { makeSchedule } from "../ml/diffusion/schedule";
import { defaultTrainOptions, trainDdpm } from "../ml/train";
import { defaultUNetConfig, UNet } from "../ml/unet";
import { adam } from "../ml/kernels/adam";
import { nativeStatus, setNativeKernels } from "../ml/kernels/native";
import { benchHeal } from "./heal";
import { formatProfile, kernelProfiler, type StepProfile } from "./profile";
import { benchStudents } from "./students";

const BATCH = 16;
const SIZE = 64;

export function buildReferenceUnet(seed = 0): tf.LayersModel {
  let n = 0;
  const conv = (filters: number, activation: "relu" | "linear") =>
    tf.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: "same",
      activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + n++ }),
    });
  const input = tf.input({ shape: [SIZE, SIZE, 1] });
  const skip = conv(16, "relu").apply(input) as tf.SymbolicTensor;
  let h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(skip) as tf.SymbolicTensor;
  h = conv(32, "relu").apply(h) as tf.SymbolicTensor;
  h = conv(32, "relu").apply(h) as tf.SymbolicTensor;
  h = tf.layers.upSampling2d({ size: [2, 2], interpolation: "nearest" }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.concatenate({ axis: -1 }).apply([h, skip]) as tf.SymbolicTensor;
  h = conv(16, "relu").apply(h) as tf.SymbolicTensor;
  const output = conv(1, "linear").apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: "reference_unet" });
}

export interface Timing {
  warmup: number;
  rounds: number;
  steps: number;
}

export interface ReferenceResult {
  train_img_per_s: number;
  infer_img_per_s: number;
  train_rounds: number[];
  infer_rounds: number[];
  batch: number;
  size: number;
  params: number;
  final_loss: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/**
 * Run after the warm-up and after each timed round, outside the timing: a PyTorch counterpart's next warm-up
 * or round (torchRunner), or the profiler switching its timers (./profile.ts).
 */
export type BetweenRounds = () => Promise<void>;

/** Images/s of each timed round; `step` must finish its work before it resolves. */
async function roundsPerSecond(
  step: () => Promise<void>, { warmup, rounds, steps }: Timing, label: string, between?: BetweenRounds,
) {
  for (let i = 0; i < warmup; i++) await step();
  await between?.();
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    for (let i = 0; i < steps; i++) await step();
    rates.push((BATCH * steps) / ((performance.now() - started) / 1000));
    console.error(`  ${label} round ${r + 1}/${rounds}: ${rates[r]!.toFixed(2)} img/s`);
    await between?.();
  }
  return rates;
}

/** Trains and runs the reference UNet on the current backend. */
export async function benchReferenceUnet(timing: Timing, between?: BetweenRounds): Promise<ReferenceResult> {
  const model = buildReferenceUnet();
  const optimizer = adam(1e-3);
  const x = tf.randomNormal([BATCH, SIZE, SIZE, 1], 0, 1, "float32", 1);
  const y = tf.randomNormal([BATCH, SIZE, SIZE, 1], 0, 1, "float32", 2);
  let finalLoss = Number.NaN;
  const trainStep = async () => {
    const loss = optimizer.minimize(
      () => tf.losses.meanSquaredError(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    finalLoss = (await loss.data())[0]!;
    loss.dispose();
  };
  const inferStep = async () => {
    const out = model.predict(x, { batchSize: BATCH }) as tf.Tensor;
    await out.data();
    out.dispose();
  };
  try {
    const train = await roundsPerSecond(trainStep, timing, `${tf.getBackend()} train`, between);
    const infer = await roundsPerSecond(inferStep, timing, `${tf.getBackend()} infer`, between);
    return {
      train_img_per_s: median(train),
      infer_img_per_s: median(infer),
      train_rounds: train,
      infer_rounds: infer,
      batch: BATCH,
      size: SIZE,
      params: model.countParams(),
      final_loss: finalLoss,
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

export interface TeacherTrainResult {
  train_img_per_s: number;
  train_rounds: number[];
  batch: number;
  size: number;
  params: number;
}

/** Training throughput of the default teacher: trainDdpm's own steps (optimizer, clipping, EMA included). */
export async function benchTeacherTrain(
  { warmup, rounds, steps }: Timing, between?: BetweenRounds,
): Promise<TeacherTrainResult> {
  const net = new UNet(defaultUNetConfig, 0);
  const images = Array.from({ length: 32 }, (_, i) =>
    Float32Array.from({ length: SIZE * SIZE }, (_, k) => 0.5 + 0.3 * Math.sin(k * 0.37 + i)),
  );
  const batch = defaultTrainOptions.batch;
  const rates: number[] = [];
  try {
    if (warmup === 0) await between?.();
    let roundStarted = performance.now();
    // After the warm-up and after each round, within the step's hook: `between`, then the next round.
    const onStep = async ({ step }: { step: number }) => {
      if (step < warmup || (step - warmup) % steps !== 0) return;
      if (step > warmup) {
        rates.push((batch * steps) / ((performance.now() - roundStarted) / 1000));
        console.error(`  teacher train round ${rates.length}/${rounds}: ${rates.at(-1)!.toFixed(2)} img/s`);
      }
      await between?.();
      roundStarted = performance.now();
    };
    const result = await trainDdpm(net, makeSchedule("linear"), images, SIZE, {
      ...defaultTrainOptions,
      iters: warmup + rounds * steps,
    }, { onStep });
    result.ema.dispose();
    return { train_img_per_s: median(rates), train_rounds: rates, batch, size: SIZE, params: net.parameterCount };
  } finally {
    net.dispose();
  }
}

/** A PyTorch counterpart taking turns with us, and its JSON once it has run every round. */
interface TorchPartner {
  /** Lets it run its next warm-up or timed round, resolving when it has (at once if it has failed). */
  turn: BetweenRounds;
  /** Its JSON, or null (with a note) when it failed. */
  result(): Promise<Record<string, unknown> | null>;
}

/**
 * Starts one of the PyTorch counterparts on this CPU (reference_unet.py: the reference UNet; teacher_unet.py:
 * the teacher's trainDdpm step) with --lockstep, resolving once it is set up (or has failed, its turns then
 * passing at once); null when no python3 here can import torch. Each of its rounds runs right after ours,
 * the two never at once: the host's speed drifts by ±15 % within minutes, and a pair seconds apart shares
 * the drift.
 */
function torchRunner(args: Args, timing: Timing, notes: string[]): ((script: string) => Promise<TorchPartner>) | null {
  // Debian's python3-torch lives in the system interpreter, which a pyenv python3 on PATH can hide.
  const candidates = args.has("python") ? [args.required("python")] : ["python3", "/usr/bin/python3"];
  const python = candidates.find(
    (p) => spawnSync(p, ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 }).status === 0,
  );
  if (!python) {
    notes.push(`no python3 that can import torch (tried ${candidates.join(", ")})`);
    return null;
  }
  const threads = String(args.number("torch-threads", 2));
  const device = args.choice("torch-device", ["cpu", "cuda"] as const, "cpu");
  const timingArgs = (["warmup", "rounds", "steps"] as const).flatMap((k) => [`--${k}`, String(timing[k])]);
  return async (name) => {
    const script = path.join(__dirname, name);
    console.error(`${name} on PyTorch (${python}, ${device}, ${threads} threads), round by round with ours…`);
    const child = spawn(python, [script, "--threads", threads, "--device", device, ...timingArgs, "--lockstep"], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const timeout = setTimeout(() => child.kill(), 30 * 60_000).unref();
    const exited = new Promise<number | null>((resolve) => {
      child.on("close", (code) => resolve(code));
      child.on("error", () => resolve(null));
    });
    const lines = createInterface({ input: child.stdout });
    const iterator = lines[Symbol.asyncIterator]();
    const nextLine = async () => {
      const next = await iterator.next();
      return next.done ? null : (next.value as string);
    };
    let last: string | null = null;
    let alive = (await nextLine()) === "ready";
    child.stdin.on("error", () => {}); // it may exit before reading what we write; exited tells
    return {
      turn: async () => {
        if (!alive) return;
        child.stdin.write("go\n");
        alive = (last = await nextLine()) !== null;
      },
      result: async () => {
        child.stdin.end();
        for (let line; (line = await nextLine()) !== null; ) last = line;
        const code = await exited;
        clearTimeout(timeout);
        if (code !== 0 || !last?.startsWith("{")) {
          notes.push(`${script} failed (exit ${code})`);
          return null;
        }
        return JSON.parse(last) as Record<string, unknown>;
      },
    };
  };
}

/**
 * Several timings of one network as one: each `…_img_per_s` the median of theirs, each `…_rounds` all of
 * their rounds, anything else the first's.
 */
function mergeTimings<T extends object>(runs: T[]): T {
  const merged = { ...runs[0] } as Record<string, unknown>;
  for (const key of Object.keys(merged)) {
    const values = runs.map((r) => (r as Record<string, unknown>)[key]);
    if (key.endsWith("_img_per_s")) merged[key] = median(values as number[]);
    if (key.endsWith("_rounds")) merged[key] = (values as number[][]).flat();
  }
  return merged as unknown as T;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

export default (async (args) => {
  const timing: Timing = {
    warmup: args.number("unet-warmup", 3),
    rounds: args.number("unet-rounds", 5),
    steps: args.number("unet-steps", 5),
  };
  for (const [k, v] of Object.entries(timing)) {
    const least = k === "warmup" ? 0 : 1;
    if (!Number.isInteger(v) || v < least) throw new UsageError(`--unet-${k} must be a whole number ≥ ${least}`);
  }
  const info: BackendInfo = await initBackend();
  // With PyTorch, each network is timed in turns with its counterpart (torchRunner), `--pairs` times.
  const compareTorch = args.has("compare-torch");
  const pairs = args.number("pairs", compareTorch ? 3 : 1);
  if (!Number.isInteger(pairs) || pairs < 1) throw new UsageError("--pairs must be a whole number ≥ 1");
  const torchNotes: string[] = [];
  const torch = compareTorch ? torchRunner(args, timing, torchNotes) : null;
  const runs: { reference: ReferenceResult; teacher: TeacherTrainResult; torchReference: Record<string, unknown> | null; torchTeacher: Record<string, unknown> | null }[] = [];
  for (let p = 1; p <= pairs; p++) {
    const of = pairs > 1 ? ` (${p}/${pairs})` : "";
    console.error(`reference UNet on ${info.backend} (${info.device})${of}…`);
    const torchRef = await torch?.("reference_unet.py");
    const reference = await benchReferenceUnet(timing, torchRef?.turn);
    const torchReference = (await torchRef?.result()) ?? null;
    console.error(`teacher training${of}…`);
    const torchTeach = await torch?.("teacher_unet.py");
    const teacher = await benchTeacherTrain(timing, torchTeach?.turn);
    const torchTeacher = (await torchTeach?.result()) ?? null;
    runs.push({ reference, teacher, torchReference, torchTeacher });
  }
  const reference = mergeTimings(runs.map((r) => r.reference));
  const teacherTrain = mergeTimings(runs.map((r) => r.teacher));
  const torchRuns = runs.filter((r) => r.torchReference && r.torchTeacher);
  const torchReference = torchRuns.length ? mergeTimings(torchRuns.map((r) => r.torchReference!)) : null;
  const torchTeacher = torchRuns.length ? mergeTimings(torchRuns.map((r) => r.torchTeacher!)) : null;
  // Ours ÷ PyTorch's img/s round by round (each pair of rounds ran back to back), the median over a run's
  // rounds, then over the runs.
  const roundRatios = (ours: number[], theirs: unknown) => median(ours.map((x, i) => x / (theirs as number[])[i]!));
  const pairRatios = torchRuns.map((r) => ({
    train: roundRatios(r.reference.train_rounds, r.torchReference!.train_rounds),
    infer: roundRatios(r.reference.infer_rounds, r.torchReference!.infer_rounds),
    teacher: roundRatios(r.teacher.train_rounds, r.torchTeacher!.train_rounds),
  }));

  let teacherProfile: StepProfile | null = null;
  const profiler = args.has("profile") ? kernelProfiler() : null;
  if (profiler) {
    console.error("teacher training, native kernels timed…");
    const steps = timing.rounds * timing.steps;
    const profiled = await benchTeacherTrain({ warmup: timing.warmup, rounds: 1, steps }, profiler.toggle);
    teacherProfile = profiler.finish(steps, (profiled.batch * 1000) / profiled.train_img_per_s);
    console.error(formatProfile(teacherProfile));
  } else if (args.has("profile")) {
    console.error(`--profile: nothing to time, the native kernels are not active (${nativeStatus().reason})`);
  }

  console.error("heal…");
  const heal = await benchHeal(args);
  console.error("students…");
  const students = await benchStudents(args, heal);

  let wasmOnly: ReferenceResult | null = null;
  if (args.has("compare-wasm") && info.backend === "wasm" && nativeStatus().active) {
    console.error("reference UNet on wasm without the native kernels…");
    const was = setNativeKernels(false);
    try {
      wasmOnly = await benchReferenceUnet(timing);
    } finally {
      setNativeKernels(was);
    }
  }

  let cpu: (ReferenceResult & BackendInfo) | null = null;
  if (args.has("compare-cpu")) {
    const cpuInfo = await initBackend("cpu");
    console.error("reference UNet on the pure-JS cpu backend (slow)…");
    const cpuTiming: Timing = {
      warmup: args.number("cpu-warmup", 1),
      rounds: args.number("cpu-rounds", 1),
      steps: args.number("cpu-steps", 1),
    };
    if (cpuTiming.rounds < 1 || cpuTiming.steps < 1) throw new UsageError("--cpu-rounds and --cpu-steps must be ≥ 1");
    cpu = { ...cpuInfo, ...(await benchReferenceUnet(cpuTiming)) };
    await initBackend(); // back to the default for whatever runs after us in this process
  }

  return {
    backend: info.backend,
    device: info.device,
    reference_unet: reference,
    teacher_train: teacherTrain,
    teacher_profile: teacherProfile,
    heal,
    students,
    wasm_kernels_reference_unet: wasmOnly,
    speedup_vs_wasm_kernels: wasmOnly
      ? {
          train: ratio(reference.train_img_per_s, wasmOnly.train_img_per_s),
          infer: ratio(reference.infer_img_per_s, wasmOnly.infer_img_per_s),
        }
      : null,
    cpu_reference_unet: cpu,
    speedup_vs_cpu: cpu
      ? {
          train: ratio(reference.train_img_per_s, cpu.train_img_per_s),
          infer: ratio(reference.infer_img_per_s, cpu.infer_img_per_s),
        }
      : null,
    torch_reference_unet: torchReference,
    torch_teacher_train: torchTeacher,
    ...(torchNotes.length ? { torch_note: torchNotes.join("; ") } : {}),
    fraction_of_torch: pairRatios.length
      ? { train: median(pairRatios.map((r) => r.train)), infer: median(pairRatios.map((r) => r.infer)) }
      : null,
    teacher_fraction_of_torch: pairRatios.length ? median(pairRatios.map((r) => r.teacher)) : null,
    fraction_of_torch_pairs: pairRatios,
  };
}) satisfies Command;
