/**
 * A run whose metrics the database refuses to store is not `finished`: the worker's final flush fails, and the
 * run ends `failed` with the reason, so a result with holes never reaches a leaderboard.
 */
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

test("a run whose metrics cannot be written ends failed, not finished", { timeout: 120_000 }, async () => {
  const { sql } = conn;
  const boss = createBoss(database.url);
  const runId = await transaction(sql, async (tx) => {
    const [run] = await tx.sql<{ id: string }[]>`
      insert into runs (kind, name, config) values ('smoke', 'refused', ${JSON.stringify({ steps: 20 })}::jsonb) returning id`;
    await enqueueRun(boss, tx.sql, run!.id);
    return run!.id;
  });
  // The database refuses this run's metric points (a statement error, not an outage: no retry helps).
  await sql.unsafe(`
    create function refuse_points() returns trigger language plpgsql as $$
    begin
      if exists (select from metric_series where id = new.series_id and run_id = '${runId}') then
        raise exception 'metric points refused for this test';
      end if;
      return new;
    end $$;
    create trigger refuse_points before insert on metric_chunks for each row execute function refuse_points();`);

  const worker = spawnWorker(database.url);
  try {
    const run = await eventually(async () => {
      const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${runId}`;
      return row && !["queued", "running"].includes(row.status) ? row : undefined;
    }, "the run to end", 90_000);
    assert.equal(run.status, "failed");
    assert.match(run.error ?? "", /metrics or logs could not be written: .*metric points refused/);
    const [points] = await sql<{ n: number }[]>`select count(*)::int as n from metrics where run_id = ${runId}`;
    assert.equal(points!.n, 0);
  } finally {
    await stopWorker(worker);
  }
});
