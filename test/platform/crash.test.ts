/**
 * A worker process killed mid-run: its run is declared `crashed` and, with retries left, put back in the queue;
 * the pool notices the worker is gone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { liveWorkerCount, RUN_TIMEOUT_MS } from "../../db/liveness";
import { createBoss, enqueueRun } from "../../db/queue";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";
import { appRouter } from "../../server/routers";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { users } from "../../db/schema";

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

test("a killed worker's run is declared crashed and re-queued", { timeout: 120_000 }, async () => {
  const { sql, db } = conn;
  const boss = createBoss(database.url);
  const runId = await transaction(sql, async (tx) => {
    const [run] = await tx.sql<{ id: string }[]>`
      insert into runs (kind, name, config) values ('smoke', 'doomed', ${JSON.stringify({ steps: 5000 })}::jsonb) returning id`;
    await enqueueRun(boss, tx.sql, run!.id);
    return run!.id;
  });

  const worker = spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../../workers/main.ts")], {
    env: { ...process.env, DATABASE_URL: database.url },
    stdio: "ignore",
  });
  await eventually(async () => {
    const [row] = await sql`select count(*)::int as n from metrics where run_id = ${runId}`;
    return row!.n > 0 ? true : undefined;
  }, "the run to log metrics");
  assert.equal(await liveWorkerCount(sql), 1);
  worker.kill("SIGKILL");

  // Any reader of the run list sweeps for silent workers.
  const [viewer] = await db.insert(users).values({ email: "v@lab.test", name: "v", role: "viewer", passwordHash: "x" }).returning();
  const caller = createCallerFactory(appRouter)(
    await createContextInner({ services: { db, sql, boss }, userId: viewer!.id }),
  );
  const requeued = await eventually(async () => {
    const { runs } = await caller.runs.list();
    const run = runs.find((r) => r.id === runId);
    return run?.status === "queued" ? run : undefined;
  }, "the run to be declared crashed and re-queued", RUN_TIMEOUT_MS * 3);
  const [row] = await sql<{ attempt: number }[]>`select attempt from runs where id = ${runId}`;
  assert.equal(row!.attempt, 1);
  assert.equal(requeued.finishedAt, null);
  const logs = await sql<{ line: string }[]>`select line from run_logs where run_id = ${runId} order by id`;
  assert.ok(logs.some((l) => /^crashed: the worker .* stopped sending heartbeats/.test(l.line)), JSON.stringify(logs));
  assert.ok(logs.some((l) => /resumed automatically after the crash \(retry 1 of \d\)/.test(l.line)));
  assert.equal(await liveWorkerCount(sql), 0);
});
