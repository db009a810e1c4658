/**
 * The leaderboard's reading of evaluation summaries, for the shapes run kinds report: method, sampler and
 * steps from the summary or only the config, other names for a metric, several datasets, and the sweep grid.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { toCsv } from "../../server/csv";
import { buildLeaderboard, casesOf, datasetOf, datasetsOf, familyOf, methodOf, stat, type EvalRun } from "../../server/leaderboard";
import { describeAssignment, expandGrid } from "../../server/sweep-grid";

let next = 0;
const run = (config: Record<string, unknown>, summary: Record<string, unknown>, kind = "eval"): EvalRun => ({
  id: `r${++next}`,
  name: `run ${next}`,
  kind,
  config,
  summary,
});

test("method families from summaries or configs", () => {
  assert.equal(familyOf(run({ sampler: "ddim", steps: 10 }, { method: "ddpm" }, "heal-eval")), "DDIM");
  assert.equal(methodOf(run({ sampler: "ddpm" }, { method: "ddpm", steps: 250 }, "heal-eval")), "DDPM-250");
  assert.equal(methodOf(run({ modelRunId: "x" }, { method: "student-single" })), "Single-step student");
  assert.equal(methodOf(run({}, { method: "coarse-to-fine" })), "Coarse-to-fine student");
  assert.equal(methodOf(run({}, { method: "student-c2f" })), "Coarse-to-fine student");
  assert.equal(methodOf(run({ method: "ae" }, {})), "AE");
  assert.equal(methodOf(run({}, { method: "autoencoder" })), "AE");
  assert.equal(methodOf(run({}, {}, "eval")), "eval", "an unknown method keeps the run's kind as its name");
});

test("datasets: a summary's name wins, else the data source; with the split", () => {
  assert.equal(datasetOf(run({ data: { folder: "/data/road" }, split: "test" }, {})), "folder /data/road · test split");
  assert.equal(datasetOf(run({ data: { synthetic: { count: 50, seed: 2 } }, split: "all" }, {})), "synthetic count=50 seed=2 · all split");
  assert.equal(datasetOf(run({ data: { folder: "/x" } }, { dataset: "road-crack-sample", split: "val" })), "road-crack-sample · val split");
  // A heal-eval (source from its config) and an eval (source named in its summary) of the same data meet on one board.
  assert.equal(
    datasetOf(run({ data: { synthetic: { count: 400, seed: 0 } } }, {}, "heal-eval")),
    datasetOf(run({ modelRunId: "m" }, { dataset: "synthetic count=400 seed=0", split: "test" })),
  );
  const runs = [run({}, { dataset: "a" }), run({}, { dataset: "b" }), run({}, { dataset: "b" })];
  assert.deepEqual(datasetsOf(runs), [
    { dataset: "b · test split", runs: 2 },
    { dataset: "a · test split", runs: 1 },
  ]);
});

test("rows group seeds and teachers, show what tells them apart, and mark the best per column", () => {
  const heal = (teacherRunId: string, seed: number, t0: number, auroc: number, ms: number) =>
    run({ teacherRunId, seed, t0, sampler: "ddim", steps: 10, batch: 32 }, { method: "ddpm", image_auroc: auroc, ms_per_image: ms, net_calls_per_image: 10 }, "heal-eval");
  const board = buildLeaderboard("d", [
    heal("t1", 0, 100, 0.9, 80),
    heal("t2", 1, 100, 0.8, 60),
    heal("t1", 0, 250, 0.95, 90),
    run({}, { method: "student-single", image_auroc: 0.85, ms_per_image: 1, calls_per_image: 1, params: 5000 }),
  ]);
  assert.deepEqual(
    board.rows.map((r) => [r.method, r.settingsText, r.runIds.length]),
    [
      ["DDIM-10", "t0=100", 2],
      ["DDIM-10", "t0=250", 1],
      ["Single-step student", "", 1],
    ],
  );
  const [first] = board.rows;
  assert.ok(Math.abs(first!.metrics.image_auroc!.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(first!.metrics.image_auroc!.std! - Math.sqrt(0.005)) < 1e-12);
  assert.equal(first!.metrics.calls_per_image!.mean, 10, "net_calls_per_image counts as calls/image");
  assert.equal(board.rows[1]!.metrics.image_auroc!.std, null, "one run has no spread");
  assert.equal(first!.metrics.params, null, "a metric no run reports is empty");
  assert.deepEqual(board.best.image_auroc, [board.rows[1]!.id], "higher AUROC is better");
  assert.deepEqual(board.best.ms_per_image, [board.rows[2]!.id], "fewer ms per image is better");
  assert.deepEqual(board.best.params, [board.rows[2]!.id]);
  assert.deepEqual(board.best.calls_per_image, [board.rows[2]!.id]);
  const tie = buildLeaderboard("d", [run({}, { method: "ae", image_f1: 0.5 }), run({}, { method: "student-single", image_f1: 0.5 })]);
  assert.equal(tie.best.image_f1!.length, 2, "a tie marks every row sharing the best value");
});

test("an eval run's method settings come from its summary", () => {
  const student = (width: number, auroc: number) =>
    run({ modelRunId: `m${auroc}`, split: "test" }, { method: "student-c2f", width, stages: 2, image_auroc: auroc, n_pos: 10, backend: "wasm" });
  const board = buildLeaderboard("d", [student(8, 0.9), student(8, 0.8), student(16, 0.95)]);
  assert.deepEqual(
    board.rows.map((r) => [r.method, r.settingsText, r.runIds.length]),
    [
      ["Coarse-to-fine student", "width=16", 1],
      ["Coarse-to-fine student", "width=8", 2],
    ],
  );
});

test("stat: mean and sample standard deviation", () => {
  assert.equal(stat([]), null);
  assert.deepEqual(stat([2]), { mean: 2, std: null, n: 1 });
  const s = stat([1, 2, 3, 4])!;
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std! - Math.sqrt(5 / 3)) < 1e-12);
});

test("CSV quotes what needs quoting", () => {
  assert.equal(toCsv([["a", "b,c", 'say "hi"', null, 1.5]]), 'a,"b,c","say ""hi""",,1.5\r\n');
});

test("a sweep grid: every combination, first axis slowest, nested fields by dotted path", () => {
  const points = expandGrid({ t0: 100, data: { synthetic: { count: 40 } } }, [
    { field: "sampler", values: ["ddim", "ddpm"] },
    { field: "data.synthetic.seed", values: [0, 1, 2] },
  ]);
  assert.equal(points.length, 6);
  assert.deepEqual(points[1]!.config, { t0: 100, data: { synthetic: { count: 40, seed: 1 } }, sampler: "ddim" });
  assert.deepEqual(points[3]!.assignment, { sampler: "ddpm", "data.synthetic.seed": 0 });
  assert.equal(describeAssignment(points[5]!.assignment), "sampler=ddpm, data.synthetic.seed=2");
});

test("the hardest cases a panel's caption lists", () => {
  const caption = "highest-scored normal images, rows: image | healed | heatmap; neg-0012 (0.0841), IMG 7.jpg (1.5e-3)";
  assert.deepEqual(casesOf(caption), [
    { id: "neg-0012", score: 0.0841 },
    { id: "IMG 7.jpg", score: 0.0015 },
  ]);
  assert.deepEqual(casesOf(null), []);
});
