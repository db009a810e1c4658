/**
 * Students, the autoencoder baseline and the one eval path, on real (tiny) training: a DDPM teacher trained
 * on synthetic normal concrete makes targets deterministically under DDIM; students learn them and beat
 * chance on held-out images; binary targets really are thresholded; every method's eval reports the same
 * fields; images a model trained on are refused; and training never reads the test split.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { initBackend } from "../../workers/ml/backend";
import { decodeCheckpoint } from "../../workers/ml/checkpoint";
import { parseRunConfig } from "../../workers/ml/config";
import { splitOf } from "../../workers/ml/data/split";
import { writeSyntheticDataset } from "../../workers/ml/data/synthetic";
import { runners, type RunContext } from "../../workers/ml/kinds";
import type { RunLogger } from "../../workers/ml/logger";
import { bootstrapAuroc, quantile } from "../../workers/ml/metrics";
import { decodeDetector } from "../../workers/ml/methods/load";
import { BINARY_TARGET_QUANTILE, computeTargets, targetSettings } from "../../workers/ml/methods/teacher";
import { loadRunData } from "../../workers/ml/runners/data";
import { evaluateModel, OverlapError, samplerOptions, validationThreshold } from "../../workers/ml/runners/eval";
import { studentTargets, teacherTargets } from "../../workers/ml/runners/student-train";

const ready = initBackend();
const scratch = mkdtempSync(path.join(os.tmpdir(), "crackdiff-students-"));
test.after(() => rmSync(scratch, { recursive: true, force: true }));
const data = { folder: path.join(scratch, "synth") };
const SIZE = 32;

/** Runs share artifacts through this map, as the worker shares them through Postgres. */
const artifacts = new Map<string, Uint8Array>();
function context(runId: string, lines: string[] = []): RunContext {
  const logger: RunLogger = {
    metrics: async () => {},
    media: async () => {},
    artifact: async (name, _kind, bytes) => void artifacts.set(`${runId}/${name}`, bytes),
    log: (line) => void lines.push(line),
    signal: new AbortController().signal,
  };
  return {
    logger,
    dataRoots: "anywhere", // the test's own temporary folders
    loadArtifact: async (from, name) => {
      const bytes = artifacts.get(`${from}/${name}`);
      if (!bytes) throw new Error(`run ${from} has no artifact "${name}"`);
      return bytes;
    },
    saveArtifact: async (to, name, _kind, bytes) => void artifacts.set(`${to}/${name}`, bytes),
  };
}

const teacherReady = (async () => {
  await ready;
  await writeSyntheticDataset(data.folder, { count: 200, size: SIZE, seed: 3, distractorRate: 0 });
  const config = parseRunConfig("ddpm-train", { data, size: SIZE, iters: 300, batch: 8, lr: 2e-3, warmup: 20, width: 8, depth: 3, crop: 0, ema: 0.99, seed: 1 });
  return (await runners["ddpm-train"]())(config, context("teacher"));
})();

const sampler = { t0: 100, steps: 5, smooth: 0 };

test("teacher targets are deterministic under DDIM, whatever the batching", async () => {
  await teacherReady;
  const teacher = decodeCheckpoint(artifacts.get("teacher/checkpoint")!);
  const images = (await loadRunData(data, { size: SIZE, channels: 1, split: "train", testFraction: 0.3, valFraction: 0.1, roots: "anywhere" })).samples.slice(0, 12);
  const ddim = samplerOptions(parseRunConfig("student-train", { teacherRunId: "teacher", ...sampler }));
  const settings = await targetSettings("teacher", teacher, ddim);
  const a = await computeTargets(teacher, settings, { ...ddim, batchSize: 5 }, images);
  const b = await computeTargets(teacher, settings, { ...ddim, batchSize: 12 }, images);
  assert.deepEqual(new Uint32Array(a.heatmaps.buffer), new Uint32Array(b.heatmaps.buffer));
  assert.deepEqual(a.scores, b.scores);
  assert.equal(a.key, b.key);
  // The check can fail: DDPM's ancestral steps with other noise give other heatmaps.
  const ddpm = { ...ddim, sampler: "ddpm" as const, eta: 1 };
  const c = await computeTargets(teacher, settings, ddpm, images);
  const d = await computeTargets(teacher, settings, { ...ddpm, seed: 9 }, images);
  assert.notDeepEqual(c.heatmaps, d.heatmaps);
  teacher.model.dispose();
});

test("binary targets are the teacher's heatmaps thresholded at their 99th percentile", async () => {
  await teacherReady;
  const images = (await loadRunData(data, { size: SIZE, channels: 1, split: "train", testFraction: 0.3, valFraction: 0.1, roots: "anywhere" })).samples;
  const config = parseRunConfig("student-train", { teacherRunId: "teacher", data, ...sampler });
  const { targets } = await teacherTargets(config, context("binary-probe"), images);
  const soft = studentTargets(targets, "soft");
  const binary = studentTargets(targets, "binary");
  const level = quantile(targets.heatmaps, BINARY_TARGET_QUANTILE);
  assert.equal(binary.threshold, level);
  let ones = 0;
  binary.images.forEach((mask, i) => {
    mask.forEach((v, k) => {
      assert.ok(v === 0 || v === 1, `binary target value ${v}`);
      assert.equal(v, soft.images[i]![k]! >= level ? 1 : 0);
      ones += v;
    });
  });
  const share = ones / (binary.images.length * SIZE * SIZE);
  assert.ok(share > 0.005 && share < 0.02, `share of positive pixels ${share}`);
  assert.equal(soft.threshold, null);
  assert.ok(soft.images.some((h) => h.some((v) => v > 0 && v < level)), "soft targets keep graded values");
});

test("students learn the teacher's heatmaps and beat chance; every method's eval has the same fields", async () => {
  const teacherSummary = await teacherReady;
  assert.ok(Number.isFinite(teacherSummary.final_loss as number));
  const studentTrain = await runners["student-train"]();
  const trainStudent = (runId: string, method: string, targets = "soft") =>
    studentTrain(parseRunConfig("student-train", { teacherRunId: "teacher", method, targets, data, ...sampler, iters: 250, batch: 8, levels: 3, stages: 2 }), context(runId));
  const single = await trainStudent("single", "student-single");
  const c2f = await trainStudent("c2f", "student-c2f");
  assert.equal(c2f.targets_cached, 1, "the second student reuses the first one's teacher pass");
  assert.equal(single.binary_threshold, null);
  assert.ok([...artifacts.keys()].some((k) => k.startsWith("teacher/targets/")), "targets are cached on the teacher run");
  const ae = await (await runners["ae-train"]())(parseRunConfig("ae-train", { data, size: SIZE, depth: 3, iters: 150, batch: 8 }), context("ae"));
  assert.equal(ae.method, "ae");

  const evaluate = await runners.eval();
  const records: Record<string, Record<string, unknown>> = {};
  for (const runId of ["teacher", "single", "c2f", "ae"]) {
    records[runId] = await evaluate(parseRunConfig("eval", { modelRunId: runId, data, ...sampler, hardest: 1 }), context(`eval-${runId}`));
  }
  const fields = ["method", "dataset", "split", "n_pos", "n_neg", "image_auroc", "image_auroc_lo", "image_auroc_hi", "image_ap", "image_f1",
    "image_f1_threshold", "image_f1_rule", "image_f1_oracle", "pixel_auroc", "pixel_ap", "pixel_pro", "ms_per_image", "img_per_s", "calls_per_image", "params", "overlap"];
  for (const [runId, record] of Object.entries(records)) {
    for (const field of fields) assert.ok(field in record && record[field] !== null, `${runId}: ${field}`);
    assert.equal(record.overlap, 0);
    assert.match(String(record.image_f1_rule), /percentile of \d+ validation-normal scores/);
    const auroc = record.image_auroc as number;
    assert.ok((record.image_auroc_lo as number) <= auroc && auroc <= (record.image_auroc_hi as number), `${runId}: AUROC inside its interval`);
  }
  assert.deepEqual(Object.values(records).map((r) => r.method), ["ddpm", "student-single", "student-c2f", "ae"]);
  assert.equal(records.teacher!.calls_per_image, 5);
  assert.equal(records.single!.calls_per_image, 1);
  // Chance is 0.5; a few hundred steps on 32×32 images learn far more than that.
  for (const runId of ["single", "c2f"]) {
    assert.ok((records[runId]!.image_auroc as number) > 0.65, `${runId} image AUROC ${records[runId]!.image_auroc}`);
    assert.ok((records[runId]!.pixel_auroc as number) > 0.65, `${runId} pixel AUROC ${records[runId]!.pixel_auroc}`);
  }
});

test("eval refuses images the model or its teacher trained on, unless allowed, and fixes F1 on validation normals", async () => {
  await teacherReady;
  const config = (extra: object) => parseRunConfig("eval", { modelRunId: "teacher", data, split: "all", ...sampler, ...extra });
  await assert.rejects(evaluateModel(config({}), context("overlap")), (err: Error) => err instanceof OverlapError && /were used to train/.test(err.message));
  const allowed = await (await runners.eval())(config({ allowOverlap: true, hardest: 0 }), context("overlap-allowed"));
  assert.ok((allowed.overlap as number) > 0);
  assert.equal(allowed.overlap_allowed, 1);

  // The threshold is the 95th percentile of the validation normals' scores, and nothing else.
  const detector = decodeDetector(artifacts.get("teacher/checkpoint")!, samplerOptions(config({})));
  const threshold = await validationThreshold(detector, 0.95, 1000, { roots: "anywhere" });
  const val = (await loadRunData(data, { size: SIZE, channels: 1, split: "val", testFraction: 0.3, valFraction: 0.1, roots: "anywhere" })).samples.filter((s) => s.label === 0);
  assert.ok(val.length > 5 && val.every((s) => splitOf(s.id, 0.3, 0.1) === "val"));
  const scores = (await detector.heatmaps(val)).map((o) => o.score);
  assert.equal(threshold!.value, quantile(scores, 0.95));
  detector.dispose();
});

test("training and its in-training evaluation never read the test split", async () => {
  await teacherReady;
  // A copy whose test-split images are corrupt: any load that touched them would report them as skipped.
  const root = path.join(scratch, "no-test");
  cpSync(data.folder, root, { recursive: true });
  let corrupted = 0;
  for (const cls of ["Negative", "Positive"]) {
    for (const file of readdirSync(path.join(root, cls))) {
      if (splitOf(`${cls}/${path.parse(file).name}`, 0.3, 0.1) === "test") {
        writeFileSync(path.join(root, cls, file), "not an image");
        corrupted++;
      }
    }
  }
  assert.ok(corrupted > 20);
  const source = { folder: root };
  const lines: string[] = [];
  const ae = await (await runners["ae-train"]())(parseRunConfig("ae-train", { data: source, size: SIZE, depth: 3, iters: 5, batch: 4, evalEvery: 2 }), context("ae-no-test", lines));
  const student = await (await runners["student-train"]())(
    parseRunConfig("student-train", { teacherRunId: "teacher", data: source, ...sampler, iters: 5, batch: 4, evalEvery: 2 }),
    context("student-no-test", lines),
  );
  const ddpm = await (await runners["ddpm-train"]())(
    parseRunConfig("ddpm-train", { data: source, size: SIZE, iters: 4, batch: 4, width: 4, depth: 2, crop: 0, evalEvery: 2 }),
    context("ddpm-no-test", lines),
  );
  assert.deepEqual(lines.filter((l) => /skipped/.test(l)), []);
  for (const summary of [ae, student, ddpm]) assert.equal(typeof summary.val_image_auroc, "number");
  // The probe works: evaluating the test split does meet the corrupt files.
  const evalLines: string[] = [];
  await assert.rejects((await runners.eval())(parseRunConfig("eval", { modelRunId: "ae-no-test", data: source }), context("eval-no-test", evalLines)), /no images/);
  assert.ok(evalLines.some((l) => /skipped \d+ unreadable/.test(l)));
});

test("the bootstrap AUROC interval is seeded and brackets the AUROC", () => {
  const scores = Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) + (i % 2) * 0.8);
  const labels = Array.from({ length: 60 }, (_, i) => i % 2);
  const a = bootstrapAuroc(scores, labels, { seed: 1 });
  assert.deepEqual(a, bootstrapAuroc(scores, labels, { seed: 1 }));
  assert.notDeepEqual(a, bootstrapAuroc(scores, labels, { seed: 2 }));
  assert.ok(a[0] < a[1] && a[0] > 0.5 && a[1] <= 1);
  assert.deepEqual(bootstrapAuroc([1, 2], [1, 1]).map(Number.isNaN), [true, true]);
});
