/**
 * Runs that lose their worker resume where they stopped: a worker told to shut down (SIGTERM) saves the
 * training state and hands the run back to the queue; a worker killed outright (SIGKILL) has its run declared
 * crashed and re-queued, and the next worker continues from the last periodic save. Either way every step's
 * metric point is stored exactly once. Real worker processes, real signals.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { sweepCrashedRuns } from "../../db/liveness";
import { createBoss, enqueueRun } from "../../db/queue";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let conn: ReturnType<typeof createDb>;
const children: ChildProcess[] = [];

before(async () => {
  database = await createTestDatabase();
  conn = createDb(database.url);
});
after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await conn?.close();
  await database?.drop();
});

const iters = 600;

function spawnWorker(env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../../workers/main.ts")], {
    env: { ...process.env, DATABASE_URL: database.url, CRACKDIFF_THREADS: "1", ...env },
    stdio: "ignore",
  });
  children.push(child);
  return child;
}

async function launchTraining(name: string): Promise<string> {
  const config = { data: { synthetic: { count: 12, seed: 2 } }, size: 16, crop: 0, iters, batch: 2, width: 4, depth: 2, split: "all", warmup: 5 };
  return transaction(conn.sql, async (tx) => {
    const [run] = await tx.sql<{ id: string }[]>`
      insert into runs (kind, name, config) values ('ddpm-train', ${name}, ${JSON.stringify(config)}::jsonb) returning id`;
    await enqueueRun(createBoss(database.url), tx.sql, run!.id);
    return run!.id;
  });
}

const lastStep = async (runId: string) => {
  const [row] = await conn.sql<{ hi: number | null }[]>`select max(step) as hi from metrics where run_id = ${runId} and key = 'train/loss'`;
  return row!.hi ?? 0;
};

async function assertFinishedWithEveryStep(runId: string) {
  const { sql } = conn;
  const run = await eventually(async () => {
    const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${runId}`;
    return ["finished", "failed", "killed", "crashed"].includes(row!.status) ? row : undefined;
  }, "the resumed run to end", 300_000);
  assert.equal(run.status, "finished", run.error ?? "");
  const [loss] = await sql`select count(*)::int as n, min(step) as lo, max(step) as hi from metrics where run_id = ${runId} and key = 'train/loss'`;
  assert.deepEqual({ ...loss }, { n: iters, lo: 1, hi: iters });
  const logs = await sql<{ line: string }[]>`select line from run_logs where run_id = ${runId} order by id`;
  assert.ok(logs.some((l) => /resuming from the training state saved at step \d+/.test(l.line)), "the next worker resumed from the saved state");
  const [left] = await sql`select count(*)::int as n from artifacts where run_id = ${runId} and name = 'resume-state'`;
  assert.equal(left!.n, 0, "a finished run keeps no resume state");
}

test("SIGTERM: the worker saves the training state and hands the run back; the next worker resumes it", { timeout: 420_000 }, async () => {
  const { sql } = conn;
  const runId = await launchTraining("handed back");
  const first = spawnWorker({ CRACKDIFF_CHECKPOINT_SECONDS: "3600" }); // only the shutdown saves
  await eventually(async () => (await lastStep(runId)) >= 20, "the training to pass step 20", 120_000);
  const exited = new Promise<number | null>((r) => first.once("exit", (code) => r(code)));
  first.kill("SIGTERM");
  assert.equal(await exited, 0);

  const [row] = await sql<{ status: string; attempt: number }[]>`select status, attempt from runs where id = ${runId}`;
  assert.deepEqual({ ...row }, { status: "queued", attempt: 0 }, "handed back, not killed, and no crash retry used");
  const [state] = await sql<{ meta: { step: number } }[]>`select meta from artifacts where run_id = ${runId} and name = 'resume-state'`;
  assert.ok(state && state.meta.step >= 20, "the state was saved at shutdown");

  const second = spawnWorker();
  await assertFinishedWithEveryStep(runId);
  second.kill("SIGKILL");
});

test("SIGKILL: the crashed run is re-queued and resumes from its last periodic save", { timeout: 420_000 }, async () => {
  const { sql } = conn;
  const boss = createBoss(database.url);
  const runId = await launchTraining("crashed");
  const first = spawnWorker({ CRACKDIFF_CHECKPOINT_SECONDS: "1" });
  await eventually(async () => {
    const [row] = await sql`select count(*)::int as n from artifacts where run_id = ${runId} and name = 'resume-state'`;
    return row!.n > 0 && (await lastStep(runId)) < iters - 50;
  }, "a periodic save", 120_000);
  first.kill("SIGKILL");

  const requeued = await eventually(async () => {
    await sweepCrashedRuns(sql, boss);
    const [row] = await sql<{ status: string; attempt: number }[]>`select status, attempt from runs where id = ${runId}`;
    return row!.status === "queued" ? row : undefined;
  }, "the run to be declared crashed and re-queued");
  assert.equal(requeued.attempt, 1);
  const logs = await sql<{ line: string }[]>`select line from run_logs where run_id = ${runId}`;
  assert.ok(logs.some((l) => /^crashed: the worker .* stopped sending heartbeats/.test(l.line)));

  spawnWorker();
  await assertFinishedWithEveryStep(runId);
});
