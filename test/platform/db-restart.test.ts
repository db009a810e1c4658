/** The database restarts in the middle of a run: the run still finishes, with every metric point. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { startEmbeddedPostgres } from "../../db/embedded";
import { migrateDatabase } from "../../db/migrate";
import { createBoss, enqueueRun } from "../../db/queue";
import { startWorker } from "../../workers/worker";
import { eventually } from "../helpers/db";

test("a run survives a database restart without losing metrics", { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "crackdiff-restart-"));
  let pg = await startEmbeddedPostgres({ dataDir, persistent: true });
  const port = Number(new URL(pg.url).port);
  const { sql, close } = createDb(pg.url, { max: 2 });
  const worker = await (async () => {
    await migrateDatabase(pg.url);
    return startWorker({ url: pg.url, log: () => {} });
  })();
  try {
    const steps = 400;
    const runId = await transaction(sql, async (tx) => {
      const [run] = await tx.sql<{ id: string }[]>`
        insert into runs (kind, name, config) values ('smoke', 'restart', ${JSON.stringify({ steps })}::jsonb) returning id`;
      await enqueueRun(createBoss(pg.url), tx.sql, run!.id);
      return run!.id;
    });
    await eventually(async () => {
      const [row] = await sql`select count(*)::int as n from metrics where run_id = ${runId}`;
      return row!.n > 0 ? true : undefined;
    }, "the first metrics");

    await pg.stop();
    await new Promise((r) => setTimeout(r, 2000));
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, port });

    const run = await eventually(async () => {
      const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${runId}`.catch(
        () => [undefined],
      );
      return row && row.status !== "running" ? row : undefined;
    }, "the run to end", 150_000);
    assert.equal(run.status, "finished", run.error ?? "");
    const [count] = await sql`select count(*)::int as n, min(step) as lo, max(step) as hi from metrics where run_id = ${runId}`;
    assert.deepEqual({ ...count }, { n: steps, lo: 1, hi: steps });
    const [media] = await sql`select count(*)::int as n from media where run_id = ${runId}`;
    assert.equal(media!.n, 1);
  } finally {
    await worker.stop().catch(() => {});
    await close();
    await pg.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
