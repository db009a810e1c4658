/** Heartbeats that do not depend on the training loop, and a worker that finds its run taken from it. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { RUN_RETRIES, RUN_TIMEOUT_MS, sweepCrashedRuns } from "../../db/liveness";
import { createBoss, enqueueRun } from "../../db/queue";
import { users } from "../../db/schema";
import { appRouter } from "../../server/routers";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { startWorker } from "../../workers/worker";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let conn: ReturnType<typeof createDb>;

before(async () => {
  database = await createTestDatabase();
  conn = createDb(database.url);
});
after(async () => {
  await conn?.close();
  await database?.drop();
});

async function launchSmoke(steps: number): Promise<string> {
  return transaction(conn.sql, async (tx) => {
    const [run] = await tx.sql<{ id: string }[]>`
      insert into runs (kind, name, config) values ('smoke', 'live', ${JSON.stringify({ steps })}::jsonb) returning id`;
    await enqueueRun(createBoss(database.url), tx.sql, run!.id);
    return run!.id;
  });
}

test("a run whose worker's main thread is busy past the crash timeout is not called crashed", { timeout: 120_000 }, async () => {
  const { sql } = conn;
  const boss = createBoss(database.url);
  const runId = await launchSmoke(2);
  const worker = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../fixtures/busy-worker.ts")], {
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: "ignore",
  });
  try {
    // Readers sweep all the while, as the run list does.
    const ended = await eventually(async () => {
      await sweepCrashedRuns(sql, boss);
      const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${runId}`;
      return row!.status === "running" || row!.status === "queued" ? undefined : row;
    }, "the run to end", 90_000);
    assert.equal(ended.status, "finished", ended.error ?? "");
  } finally {
    worker.kill("SIGKILL");
  }
});

test("a worker whose run is taken from it stops and says so, leaving the new owner's state alone", { timeout: 120_000 }, async () => {
  const { sql } = conn;
  const lines: string[] = [];
  const worker = await startWorker({ url: database.url, log: (l) => lines.push(l) });
  try {
    const runId = await launchSmoke(5000);
    await eventually(async () => {
      const [row] = await sql`select count(*)::int as n from metrics where run_id = ${runId}`;
      return row!.n > 0;
    }, "the run to log metrics");
    await sql`update runs set status = 'queued', worker_id = null where id = ${runId}`; // handed back to the queue
    const log = await eventually(async () => {
      const rows = await sql<{ line: string }[]>`select line from run_logs where run_id = ${runId}`;
      return rows.find((r) => r.line.includes("was taken from worker"));
    }, "the worker to say its run was taken");
    assert.match(log.line, /now queued/);
    await eventually(async () => lines.find((l) => l.includes("no longer this worker's")), "the worker to drop its result");
    const [row] = await sql<{ status: string; worker_id: string | null }[]>`select status, worker_id from runs where id = ${runId}`;
    assert.deepEqual({ ...row }, { status: "queued", worker_id: null });
  } finally {
    await worker.stop();
  }
});

test("a run page read on its own shows a silent worker's run as crashed (no retries left)", { timeout: 60_000 }, async () => {
  const { sql, db } = conn;
  const [run] = await sql<{ id: string }[]>`
    insert into runs (kind, name, config, status, worker_id, heartbeat_at, attempt)
    values ('smoke', 'orphan', '{}'::jsonb, 'running', 'gone-worker', now() - interval '1 hour', ${RUN_RETRIES}) returning id`;
  const [viewer] = await db.insert(users).values({ email: "page@lab.test", name: "p", role: "viewer", passwordHash: "x" }).returning();
  const caller = createCallerFactory(appRouter)(
    await createContextInner({ services: { db, sql, boss: createBoss(database.url) }, userId: viewer!.id }),
  );
  // Silence only counts once the database has been up for the crash timeout (a fresh test server may not have).
  const page = await eventually(async () => {
    const r = await caller.runs.get({ id: run!.id });
    return r.status === "crashed" ? r : undefined;
  }, "the run page to show the run as crashed", RUN_TIMEOUT_MS * 3);
  assert.match(page.error ?? "", /gone-worker stopped sending heartbeats/);
});
