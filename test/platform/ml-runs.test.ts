/**
 * The diffusion run kinds through the real worker and queue: a tiny `ddpm-train` stores its checkpoint in
 * Postgres, and a `heal-eval` loads it from there by the teacher's run id.
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
