/**
 * The ML run kinds through the real worker and queue: a tiny `ddpm-train` stores its checkpoint in Postgres,
 * and a `heal-eval` loads it from there by the teacher's run id; an `ae-train` is evaluated by `eval`; a
 * `student-train` caches its teacher's targets on the teacher's run.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDb, transaction, type Sql } from "../../db/client";
import { createBoss, enqueueRun } from "../../db/queue";
import { startWorker, type Worker } from "../../workers/worker";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let conn: ReturnType<typeof createDb>;
let worker: Worker;

before(async () => {
  database = await createTestDatabase();
  conn = createDb(database.url);
  worker = await startWorker({ url: database.url, log: () => {} });
});
after(async () => {
  await worker?.stop();
  await conn?.close();
  await database?.drop();
});

async function launch(sql: Sql, kind: string, config: object): Promise<string> {
  const boss = createBoss(database.url);
  return transaction(sql, async (tx) => {
    const [run] = await tx.sql<{ id: string }[]>`
      insert into runs (kind, name, config) values (${kind}, ${kind}, ${JSON.stringify(config)}::jsonb) returning id`;
    await enqueueRun(boss, tx.sql, run!.id);
    return run!.id;
  });
}

async function finished(sql: Sql, runId: string) {
  const run = await eventually(async () => {
    const [row] = await sql<{ status: string; error: string | null; summary: Record<string, unknown> }[]>`
      select status, error, summary from runs where id = ${runId}`;
    return row && !["queued", "running"].includes(row.status) ? row : undefined;
  }, `run ${runId} to end`, 300_000);
  assert.equal(run.status, "finished", run.error ?? "");
  return run;
}

test("ddpm-train stores a checkpoint that heal-eval loads by run id", { timeout: 600_000 }, async () => {
  const { sql } = conn;
  const data = { synthetic: { count: 24, seed: 3 } };
  const teacherId = await launch(sql, "ddpm-train", {
    data, size: 16, crop: 0, iters: 30, batch: 4, width: 8, depth: 2, split: "all", warmup: 5,
  });
  const teacher = await finished(sql, teacherId);
  assert.ok(Number.isFinite(Number(teacher.summary.final_loss)), JSON.stringify(teacher.summary));
  const [ckpt] = await sql`select size from artifacts where run_id = ${teacherId} and name = 'checkpoint'`;
  assert.ok(ckpt && ckpt.size > 1000, "the checkpoint is stored in Postgres");
  const [loss] = await sql`select count(*)::int as n from metrics where run_id = ${teacherId} and key = 'train/loss'`;
  assert.ok(loss!.n > 0, "the loss curve is stored");

  const evalId = await launch(sql, "heal-eval", { teacherRunId: teacherId, data, split: "all", t0: 50, steps: 3, hardest: 1 });
  const evaluation = await finished(sql, evalId);
  const auroc = Number(evaluation.summary.image_auroc);
  assert.ok(auroc >= 0 && auroc <= 1, JSON.stringify(evaluation.summary));
  const [media] = await sql`select count(*)::int as n from media where run_id = ${evalId}`;
  assert.ok(media!.n > 0, "heatmaps of the hardest cases are stored");

  const missingId = await launch(sql, "heal-eval", { teacherRunId: evalId, data, split: "all", t0: 50, steps: 3 });
  const missing = await eventually(async () => {
    const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${missingId}`;
    return row?.status === "failed" ? row : undefined;
  }, "a heal-eval without a checkpoint to fail", 120_000);
  assert.match(missing.error ?? "", /has no artifact "checkpoint"/);
});

test("ae-train then eval; student-train caches its targets on the teacher run", { timeout: 600_000 }, async () => {
  const { sql } = conn;
  const data = { synthetic: { count: 40, seed: 5 } };
  const aeId = await launch(sql, "ae-train", { data, size: 32, depth: 2, iters: 20, batch: 4 }); // at 16 px hairline masks vanish
  const ae = await finished(sql, aeId);
  assert.equal(ae.summary.method, "ae");
  const evalId = await launch(sql, "eval", { modelRunId: aeId, data, hardest: 1 });
  const evaluation = await finished(sql, evalId);
  assert.equal(evaluation.summary.method, "ae");
  assert.equal(evaluation.summary.dataset, "synthetic count=40 seed=5");
  for (const key of ["image_auroc", "image_ap", "image_f1", "image_f1_oracle", "pixel_auroc", "ms_per_image", "calls_per_image", "params"]) {
    assert.equal(typeof evaluation.summary[key], "number", key);
  }
  assert.equal(evaluation.summary.overlap, 0);

  // All images of the set include the ones the autoencoder trained on: refused, with the reason.
  const refusedId = await launch(sql, "eval", { modelRunId: aeId, data, split: "all" });
  const refused = await eventually(async () => {
    const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${refusedId}`;
    return row?.status === "failed" ? row : undefined;
  }, "an eval on training images to fail", 120_000);
  assert.match(refused.error ?? "", /were used to train this model/);

  const teacherId = await launch(sql, "ddpm-train", { data, size: 16, crop: 0, iters: 10, batch: 4, width: 4, depth: 2, warmup: 2 });
  await finished(sql, teacherId);
  const studentId = await launch(sql, "student-train", { teacherRunId: teacherId, data, t0: 20, steps: 2, iters: 10, batch: 4, levels: 2, stages: 2 });
  const student = await finished(sql, studentId);
  assert.equal(student.summary.method, "student-c2f");
  const [targets] = await sql`select count(*)::int as n from artifacts where run_id = ${teacherId} and name like 'targets/%'`;
  assert.equal(targets!.n, 1, "the teacher pass is stored on the teacher's run");
  const studentEval = await finished(sql, await launch(sql, "eval", { modelRunId: studentId, data }));
  assert.equal(studentEval.summary.calls_per_image, 1);
});
