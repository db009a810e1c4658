/** Two worker processes on one queue: every run is started exactly once, by one of them, and finishes. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { createBoss, enqueueRun } from "../../db/queue";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";
import { spawnWorker, stopWorker } from "../helpers/worker";

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

test("two workers never run the same job", { timeout: 180_000 }, async () => {
  const { sql } = conn;
  const boss = createBoss(database.url);
  const runIds = await transaction(sql, async (tx) => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const [run] = await tx.sql<{ id: string }[]>`
        insert into runs (kind, name, config) values ('smoke', ${`run ${i}`}, ${JSON.stringify({ steps: 10 })}::jsonb) returning id`;
      await enqueueRun(boss, tx.sql, run!.id);
      ids.push(run!.id);
    }
    return ids;
  });
  const output: string[] = [];
  const workers = [0, 1].map(() => {
    const worker = spawnWorker(database.url, "pipe");
    worker.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
    return worker;
  });
  try {
    await eventually(async () => {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from runs where status = 'finished'`;
      return row!.n === runIds.length ? true : undefined;
    }, "every run to finish", 150_000);
    const started = output.join("").split("\n").flatMap((line) => /\] run ([0-9a-f-]{36}) \(.*\) started$/.exec(line)?.[1] ?? []);
    assert.deepEqual([...started].sort(), [...runIds].sort(), "each run started exactly once");
    const owners = await sql<{ worker_id: string; attempt: number }[]>`select worker_id, attempt from runs`;
    assert.ok(owners.every((r) => r.worker_id && r.attempt === 0));
  } finally {
    await Promise.all(workers.map(stopWorker));
  }
});
