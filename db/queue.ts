/**
 * The run queue, on pg-boss (Postgres-backed, SKIP LOCKED). Shared by the server (enqueue, cancel) and the
 * workers (claim), so it lives here in db/.
 */
import PgBoss from "pg-boss";
import { transaction, type Sql } from "./client";
import type { RunStatus } from "./schema";

export const RUN_QUEUE = "runs";
export interface RunJob {
  runId: string;
}

/** A run may train for hours; pg-boss caps a job's expiry below 24 h. Runs are never retried blindly. */
const jobOptions = { retryLimit: 0, expireInSeconds: 23 * 3600 } as const;

export function createBoss(url: string, opts: { maintenance?: boolean } = {}): PgBoss {
  const boss = new PgBoss({
    connectionString: url,
    max: 3,
    // Only workers need pg-boss's supervisor and schedules; the web server only sends.
    supervise: opts.maintenance ?? false,
    schedule: false,
    migrate: false,
  });
  boss.on("error", (err) => console.error("[queue]", err.message));
  return boss;
}

/** Creates pg-boss's schema and the run queue; idempotent. */
export async function setupQueue(url: string): Promise<void> {
  const boss = new PgBoss({ connectionString: url, max: 1, supervise: false, schedule: false, migrate: true });
  await boss.start();
  try {
    if (!(await boss.getQueue(RUN_QUEUE))) await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, ...jobOptions });
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

/** pg-boss runs its SQL through this, so a job is inserted inside the caller's transaction. */
function inTransaction(tx: Sql) {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      // Match node-postgres, which pg-boss is written for: undefined is NULL, objects are JSON.
      const params = values.map((v) =>
        v === undefined
          ? null
          : v !== null && typeof v === "object" && !(v instanceof Date) && !Array.isArray(v)
            ? JSON.stringify(v)
            : v,
      );
      return { rows: await tx.unsafe(text, params as never[]) };
    },
  };
}

/** Enqueues a run inside `tx`: if the transaction rolls back, no job exists either. */
export async function enqueueRun(boss: PgBoss, tx: Sql, runId: string): Promise<string> {
  const id = await boss.send(RUN_QUEUE, { runId } satisfies RunJob, { ...jobOptions, db: inTransaction(tx) });
  if (!id) throw new Error(`queue refused the job for run ${runId}`);
  return id;
}

/**
 * Puts a run that is `from` one of the given states back in the queue, where its next worker resumes it from its
 * last saved state, and says why in its log. `retry` counts it against the run's crash retries.
 */
export async function requeueRun(
  boss: PgBoss,
  sql: Sql,
  runId: string,
  opts: { from: RunStatus[]; why: string; retry: boolean; owner?: string },
): Promise<boolean> {
  return transaction(sql, async ({ sql: tx }) => {
    const [run] = await tx`
      update runs set status = 'queued', attempt = attempt + ${opts.retry ? 1 : 0}, worker_id = null, heartbeat_at = null,
        finished_at = null, error = null, cancel_requested = false
      where id = ${runId} and status in ${tx(opts.from)} ${opts.owner ? tx`and worker_id = ${opts.owner}` : tx``}
      returning id`;
    if (!run) return false;
    await tx`insert into run_logs (run_id, line) values (${runId}, ${opts.why})`;
    await enqueueRun(boss, tx, runId);
    return true;
  });
}
