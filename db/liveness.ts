/**
 * Heartbeat rules shared by the web server (health, run lists) and the workers (sweeps).
 * A worker beats every HEARTBEAT_MS; one silent for WORKER_TIMEOUT_MS is gone, and a run whose worker
 * has been silent for RUN_TIMEOUT_MS is `crashed`.
 */
import type PgBoss from "pg-boss";
import type { Sql } from "./client";
import { requeueRun } from "./queue";

export const HEARTBEAT_MS = Number(process.env.CRACKDIFF_HEARTBEAT_MS ?? 5000);
export const WORKER_TIMEOUT_MS = HEARTBEAT_MS * 6;
export const RUN_TIMEOUT_MS = HEARTBEAT_MS * 18;
/** A crashed run goes back to the queue this many times, resuming from its last saved state. */
export const RUN_RETRIES = Number(process.env.CRACKDIFF_RUN_RETRIES ?? 2);

export async function liveWorkerCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from workers
    where stopped_at is null and heartbeat_at > now() - ${WORKER_TIMEOUT_MS} * interval '1 millisecond'`;
  return row?.n ?? 0;
}

/**
 * Marks running runs whose worker went silent as crashed, and puts those with retries left back in the queue;
 * returns their ids. Silence is counted from the database's own start at the earliest: while it was down or
 * restarting, no worker could write a heartbeat.
 */
export async function sweepCrashedRuns(sql: Sql, boss: PgBoss): Promise<string[]> {
  const rows = await sql<{ id: string; attempt: number; error: string }[]>`
    update runs set status = 'crashed', finished_at = now(),
      error = coalesce(error, 'the worker ' || coalesce(worker_id, '?') || ' stopped sending heartbeats')
    where status = 'running'
      and greatest(heartbeat_at, pg_postmaster_start_time()) < now() - ${RUN_TIMEOUT_MS} * interval '1 millisecond'
    returning id, attempt, error`;
  for (const run of rows) {
    await sql`insert into run_logs (run_id, line) values (${run.id}, ${`crashed: ${run.error}`})`;
    if (run.attempt < RUN_RETRIES) {
      const why = `resumed automatically after the crash (retry ${run.attempt + 1} of ${RUN_RETRIES})`;
      await requeueRun(boss, sql, run.id, { from: ["crashed"], why, retry: true });
    }
  }
  return rows.map((r) => r.id);
}
