/**
 * The engine end to end: checkpoints round-trip exactly (bytes and folders), a tiny DDPM trained on synthetic
 * concrete heals cracks better than chance, the `ddpm-train` and `heal-eval` run kinds work through a
 * RunContext, and the CLI's train / eval / viz commands keep their JSON contract.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../workers/ml/backend";
import { decodeCheckpoint, encodeCheckpoint, loadCheckpointDir, saveCheckpointDir, type CheckpointMeta } from "../../workers/ml/checkpoint";
import { parseRunConfig } from "../../workers/ml/config";
import { generateSynthetic, writeSyntheticDataset } from "../../workers/ml/data/synthetic";
import { gaussian } from "../../workers/ml/random";
import { makeSchedule } from "../../workers/ml/diffusion/schedule";
import { evaluateHealing, hardestCases } from "../../workers/ml/evaluate";
import { defaultHealOptions } from "../../workers/ml/heal";
import { runners, type RunContext } from "../../workers/ml/kinds";
import { RunCancelled, type RunLogger } from "../../workers/ml/logger";
import { defaultTrainOptions, epsilonModel, learningRateAt, trainDdpm } from "../../workers/ml/train";
import { UNet } from "../../workers/ml/unet";
import { Args } from "../../workers/cli/args";

const ready = initBackend();
const scratch = mkdtempSync(path.join(os.tmpdir(), "crackdiff-engine-"));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const bits = async (t: tf.Tensor) => new Uint32Array(((await t.data()) as Float32Array).slice().buffer);

test("a checkpoint round-trips exactly, as bytes and as a folder (with attention and GroupNorm)", async () => {
  await ready;
  const net = new UNet({ channels: 1, width: 4, depth: 3, attention: true, norm: true }, 5);
  let i = 0;
  for (const v of net.variables.values()) v.assign(tf.tidy(() => gaussian(v.shape, 100 + i++).mul(0.1)));
  const meta: CheckpointMeta = {
    method: "ddpm",
    unet: net.config,
    schedule: { kind: "cosine", T: 500 },
    size: 16,
    channels: 1,
    training: { iters: 7, seed: 5 },
  };
  const x = gaussian([2, 16, 16, 1], 9) as tf.Tensor4D;
  const expected = await bits(net.apply(x, [3, 400]));

  const bytes = await encodeCheckpoint(meta, net.variables);
  const fromBytes = decodeCheckpoint(bytes);
  assert.deepEqual(fromBytes.meta, meta);
  assert.equal(fromBytes.schedule.kind, "cosine");
  assert.equal(fromBytes.schedule.T, 500);
  assert.equal(fromBytes.model.parameterCount, net.parameterCount);
  assert.deepEqual(await bits(fromBytes.model.apply(x, [3, 400])), expected);

  const dir = path.join(scratch, "ckpt");
  await saveCheckpointDir(dir, meta, net.variables);
  assert.ok(existsSync(path.join(dir, "model.json")) && existsSync(path.join(dir, "weights.bin")));
  const fromDir = await loadCheckpointDir(dir);
  assert.deepEqual(await bits(fromDir.model.apply(x, [3, 400])), expected);

  assert.throws(() => decodeCheckpoint(bytes.slice(0, 3)), /not a Crackdiff checkpoint/);
  assert.throws(() => decodeCheckpoint(bytes.slice(0, bytes.length - 8)), /truncated/);
  await assert.rejects(loadCheckpointDir(path.join(scratch, "missing")), /cannot read/);
  for (const m of [net, fromBytes.model, fromDir.model]) m.dispose();
  x.dispose();
});

test("the attention block starts as the identity: a fresh net with it computes what the same net without it does", async () => {
  await ready;
  const plain = new UNet({ channels: 1, width: 4, depth: 3 }, 6);
  const withAttention = new UNet({ ...plain.config, attention: true }, 6);
  // Random values everywhere but the attention block, so the comparison is not between two zero outputs.
  let i = 0;
  for (const [name, v] of plain.variables) {
    v.assign(tf.tidy(() => gaussian(v.shape, 200 + i++).mul(0.1)));
    withAttention.variables.get(name)!.assign(v);
  }
  assert.ok(withAttention.parameterCount > plain.parameterCount);
  const x = gaussian([2, 16, 16, 1], 10) as tf.Tensor4D;
  const a = plain.apply(x, [5, 600]);
  const b = withAttention.apply(x, [5, 600]);
  assert.ok(tf.max(tf.abs(a)).arraySync() as number > 0.01);
  assert.ok((tf.max(tf.abs(tf.sub(a, b))).arraySync() as number) < 1e-5);
  // Once its output projection is non-zero, it changes the output.
  withAttention.variables.get("mid.attn.out.w")!.assign(tf.onesLike(withAttention.variables.get("mid.attn.out.w")!).mul(0.1));
  const c = withAttention.apply(x, [5, 600]);
  assert.ok((tf.max(tf.abs(tf.sub(a, c))).arraySync() as number) > 1e-3);
  tf.dispose([x, a, b, c]);
  plain.dispose();
  withAttention.dispose();
});

test("learning rate: linear warm-up, then constant or a half cosine down to 0", () => {
  const o = { iters: 1100, lr: 1e-3, warmup: 100 };
  assert.equal(learningRateAt(50, { ...o, lrDecay: "none" }), 5e-4);
  assert.equal(learningRateAt(1100, { ...o, lrDecay: "none" }), 1e-3);
  assert.equal(learningRateAt(50, { ...o, lrDecay: "cosine" }), 5e-4);
  assert.equal(learningRateAt(100, { ...o, lrDecay: "cosine" }), 1e-3);
  assert.ok(Math.abs(learningRateAt(600, { ...o, lrDecay: "cosine" }) - 5e-4) < 1e-12);
  assert.ok(learningRateAt(1100, { ...o, lrDecay: "cosine" }) < 1e-12);
});

test("GroupNorm normalises: scaling what a ResBlock normalises leaves the output unchanged, unlike without it", async () => {
  await ready;
  const outputChange = async (norm: boolean) => {
    const net = new UNet({ channels: 1, width: 8, depth: 2, norm }, 7);
    let i = 0;
    for (const [name, v] of net.variables) if (!name.includes(".norm.")) v.assign(tf.tidy(() => gaussian(v.shape, 300 + i++).mul(0.1)));
    const x = gaussian([2, 8, 8, 1], 11) as tf.Tensor4D;
    const before = net.apply(x, [5, 600]);
    // conv1's output plus the time projection, times 3: what the norm sees, scaled.
    for (const name of ["down0.block.conv1.w", "down0.block.conv1.b", "down0.block.time.w", "down0.block.time.b"]) {
      const v = net.variables.get(name)!;
      v.assign(tf.tidy(() => v.mul(3)));
    }
    const after = net.apply(x, [5, 600]);
    const change = tf.max(tf.abs(tf.sub(before, after))).arraySync() as number;
    const scale = tf.max(tf.abs(before)).arraySync() as number;
    tf.dispose([x, before, after]);
    net.dispose();
    return change / scale;
  };
  assert.ok((await outputChange(true)) < 1e-4);
  assert.ok((await outputChange(false)) > 1e-2);
});

test("a tiny DDPM trained on synthetic normal concrete detects cracks better than chance", async () => {
  await ready;
  const size = 32;
  const samples = generateSynthetic({ count: 96, size, seed: 3, distractorRate: 0 });
  const negatives = samples.filter((s) => s.label === 0);
  const positives = samples.filter((s) => s.label === 1);
  const train = negatives.slice(0, 32);
  const test = [...negatives.slice(32), ...positives.slice(0, 16)];
  const schedule = makeSchedule("linear");
  const tensorsBefore = tf.memory().numTensors;
  const net = new UNet({ channels: 1, width: 8, depth: 3 }, 0);
  const result = await trainDdpm(net, schedule, train.map((s) => s.image), size, {
    ...defaultTrainOptions,
    iters: 300,
    batch: 8,
    lr: 2e-3,
    warmup: 20,
    emaDecay: 0.99,
    seed: 1,
  });
  // What training leaves behind is the weights and their EMA, nothing else.
  assert.equal(tf.memory().numTensors - tensorsBefore, 2 * net.variables.size);
  assert.ok(result.losses[0]! > 0.5, `first loss ${result.losses[0]}`);
  assert.ok(result.finalLoss < 0.25, `final loss ${result.finalLoss}`);
  const { summary, results } = await evaluateHealing(
    epsilonModel(net, result.ema.weights),
    schedule,
    test,
    size,
    1,
    // A briefly trained net heals best from a low t₀; thin synthetic cracks favour no smoothing, top 5 %.
    { ...defaultHealOptions, steps: 5, t0: 100, seeds: 1, smoothSigma: 0, topkPercent: 5, residual: "abs" },
  );
  result.ema.dispose();
  net.dispose();
  assert.equal(summary.n_pos, 16);
  assert.equal(summary.n_neg, 16);
  assert.equal(summary.calls_per_image, 5);
  assert.equal(results.length, 32);
  // Measured 0.89 image and 0.78 pixel AUROC; chance is 0.5.
  assert.ok(summary.image_auroc! > 0.7, `image AUROC ${summary.image_auroc}`);
  assert.ok(summary.pixel_auroc! > 0.65, `pixel AUROC ${summary.pixel_auroc}`);
  const { falsePositives, falseNegatives } = hardestCases(results, 2);
  assert.ok(falsePositives.every((r) => r.label === 0) && falseNegatives.every((r) => r.label === 1));
  assert.ok(falsePositives[0]!.score >= falsePositives[1]!.score);
});

/** A RunLogger that keeps everything in memory. */
function memoryLogger(signal = new AbortController().signal) {
  const metrics: { step: number; values: Record<string, number> }[] = [];
  const media: { key: string; png: Uint8Array }[] = [];
  const artifacts = new Map<string, Uint8Array>();
  const logger: RunLogger = {
    metrics: async (step, values) => void metrics.push({ step, values }),
    media: async (key, _step, png) => void media.push({ key, png }),
    artifact: async (name, _kind, bytes) => void artifacts.set(name, bytes),
    log: () => {},
    signal,
  };
  return { logger, metrics, media, artifacts };
}

test("the ddpm-train and heal-eval run kinds: checkpoint stored, loaded back, summary returned", async () => {
  await ready;
  const trainConfig = parseRunConfig("ddpm-train", {
    data: { synthetic: { count: 40, seed: 2 } },
    size: 32,
    iters: 12,
    batch: 4,
    width: 4,
    depth: 2,
    crop: 0,
    evalEvery: 6,
  });
  const trainRun = memoryLogger();
  const noArtifacts = async () => { throw new Error("unexpected loadArtifact"); };
  const trained = await (await runners["ddpm-train"]())(trainConfig, { logger: trainRun.logger, loadArtifact: noArtifacts });
  assert.equal(trained.iters, 12);
  assert.equal(typeof trained.final_loss, "number");
  assert.ok(trainRun.artifacts.has("checkpoint"));
  assert.equal(trainRun.metrics.filter((m) => "train/loss" in m.values).length, 12);
  assert.ok(trainRun.metrics.some((m) => "val/image_auroc" in m.values));
  assert.ok(trainRun.media.some((m) => m.key === "samples") && trainRun.media.some((m) => m.key === "forward"));

  const evalRun = memoryLogger();
  const ctx: RunContext = {
    logger: evalRun.logger,
    loadArtifact: async (runId, name) => {
      assert.equal(runId, "teacher-run");
      return trainRun.artifacts.get(name)!;
    },
  };
  const evalConfig = parseRunConfig("heal-eval", {
    teacherRunId: "teacher-run",
    data: { synthetic: { count: 40, seed: 2 } },
    steps: 3,
    t0: 50,
    hardest: 2,
  });
  const summary = await (await runners["heal-eval"]())(evalConfig, ctx);
  for (const key of ["image_auroc", "image_ap", "image_f1", "image_f1_oracle", "pixel_auroc", "pixel_ap", "pixel_pro", "ms_per_image", "calls_per_image"]) {
    assert.equal(typeof summary[key], "number", key);
  }
  assert.equal(summary.sampler, "ddim");
  assert.equal(summary.calls_per_image, 3);
  assert.ok(evalRun.media.some((m) => m.key === "hardest_false_negatives"));
  assert.ok(evalRun.media.some((m) => m.key === "trajectory"));

  // Bad configs are refused with the field named; a cancelled run stops with RunCancelled.
  assert.throws(() => parseRunConfig("ddpm-train", { size: 20, depth: 4 }), /size/);
  assert.throws(() => parseRunConfig("heal-eval", { teacherRunId: "x", steps: 300, t0: 250 }), /steps/);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(
    (await runners["ddpm-train"]())(trainConfig, { logger: memoryLogger(aborted.signal).logger, loadArtifact: noArtifacts }),
    RunCancelled,
  );
});

test("CLI train, eval and viz keep their JSON contract and write their files", async () => {
  await ready;
  const data = path.join(scratch, "synth");
  await writeSyntheticDataset(data, { count: 24, size: 32, seed: 4 });
  const model = path.join(scratch, "model");
  const train = (await import("../../workers/cli/train")).default;
  const trained = await train(
    new Args(["--method", "ddpm", "--data", data, "--out", model, "--size", "32", "--iters", "4", "--batch", "4", "--width", "4", "--depth", "2", "--crop", "0"]),
  );
  for (const key of ["method", "iters", "seconds", "img_per_s", "final_loss", "backend"]) assert.ok(key in trained, key);
  assert.equal(trained.iters, 4);
  assert.ok(existsSync(path.join(model, "model.json")));
  assert.ok(readFileSync(path.join(model, "train-log", "metrics.jsonl"), "utf8").includes("train/loss"));

  const evaluate = (await import("../../workers/cli/eval")).default;
  const out = path.join(scratch, "eval");
  // Every image of "all" includes the teacher's training images: refused, unless the overlap is allowed.
  await assert.rejects(evaluate(new Args(["--model", model, "--data", data, "--split", "all", "--steps", "2", "--t0", "30", "--out", out])), /were used to train/);
  const evaluated = await evaluate(new Args(["--model", model, "--data", data, "--split", "all", "--allow-overlap", "--steps", "2", "--t0", "30", "--out", out]));
  assert.ok((evaluated.overlap as number) > 0 && evaluated.overlap_allowed === 1);
  for (const key of ["method", "sampler", "steps", "t0", "n_pos", "n_neg", "image_auroc", "image_ap", "image_f1", "image_f1_oracle", "pixel_auroc", "pixel_ap", "pixel_pro", "ms_per_image", "calls_per_image", "backend"]) {
    assert.ok(key in evaluated, key);
  }
  assert.equal(evaluated.n_pos, 12);
  assert.equal(evaluated.n_neg, 12);
  assert.equal(typeof evaluated.pixel_auroc, "number");
  const saved = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8"));
  assert.equal(saved.images.length, 24);

  const viz = (await import("../../workers/cli/viz")).default;
  const vizOut = path.join(scratch, "viz");
  const image = path.join(data, "Positive", "pos-0000.png");
  const shown = await viz(new Args(["--model", model, "--image", image, "--out", vizOut, "--data", data, "--count", "2", "--sample-steps", "3", "--steps", "2", "--t0", "30"]));
  for (const file of ["forward.png", "trajectory.png", "samples.png"]) assert.ok(existsSync(path.join(vizOut, file)), file);
  assert.equal((shown.nearest_rms as number[]).length, 2);

  await assert.rejects(evaluate(new Args(["--model", model, "--data", data, "--t0", "5000"])), /t0/);
  await assert.rejects(train(new Args(["--data", data, "--out", model, "--size", "17"])), /size/);
});
