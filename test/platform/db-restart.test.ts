/**
 * The database goes away for longer than the crash timeout, mid-run: the run still finishes, with every metric
 * point. An outage is not the worker's silence: neither the worker's own sweep nor a reader's may call it a crash.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { startEmbeddedPostgres } from "../../db/embedded";
import { RUN_TIMEOUT_MS, sweepCrashedRuns } from "../../db/liveness";
import { migrateDatabase } from "../../db/migrate";
import { createBoss, enqueueRun } from "../../db/queue";
import { runners } from "../../workers/ml/kinds";
import type { RunLogger } from "../../workers/ml/logger";
import { startWorker } from "../../workers/worker";
import { eventually } from "../helpers/db";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a run survives a database outage longer than the crash timeout", { timeout: 240_000 }, async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "crackdiff-restart-"));
  const passwordFile = `${dataDir}.password`; // the restarted server keeps the password its clients hold
  let pg = await startEmbeddedPostgres({ dataDir, persistent: true, passwordFile });
  const port = Number(new URL(pg.url).port);
  await migrateDatabase(pg.url);
  const { sql, close } = createDb(pg.url, { max: 2 });

  // The real smoke runner, held at its last write (the result image) until the outage has lasted long enough:
  // the run then ends while the database is still down, the moment its liveness is hardest to keep.
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const worker = await startWorker({
    url: pg.url,
    log: () => {},
    runners: {
      ...runners,
      smoke: async () => {
        const runSmoke = await runners.smoke();
        return (config, ctx) => {
          const logger: RunLogger = Object.create(ctx.logger, {
            media: { value: async (...args: Parameters<RunLogger["media"]>) => (await released, ctx.logger.media(...args)) },
          });
          return runSmoke(config, { ...ctx, logger });
        };
      },
    },
  });
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
    await sleep(RUN_TIMEOUT_MS + 1000);
    release();
    await sleep(1000);
    pg = await startEmbeddedPostgres({ dataDir, persistent: true, port, passwordFile });

    // A web server sweeps as soon as the database answers; the worker may not have beaten yet.
    const swept = await eventually(() => sweepCrashedRuns(sql, createBoss(pg.url)), "the database to answer");
    assert.deepEqual(swept, []);

    const run = await eventually(async () => {
      const [row] = await sql<{ status: string; error: string | null }[]>`select status, error from runs where id = ${runId}`;
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
    rmSync(passwordFile, { force: true });
  }
});
