/**
 * A worker: claims queued runs from the pg-boss queue one at a time, runs them through the ML library with a
 * database-backed logger, heartbeats while alive, and ends every run in exactly one terminal state.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { createDb, retryWhileDown, type Sql } from "../db/client";
import { createBoss, RUN_QUEUE, type RunJob } from "../db/queue";
import type { RunStatus } from "../db/schema";
import { DbRunLogger } from "./db-logger";
import { startHeartbeat } from "./heartbeat";
import { parseRunConfig, runKinds, type RunKind } from "./ml/config";
import { runners as defaultRunners, type RunContext, type Runner } from "./ml/kinds";
import { RunCancelled } from "./ml/logger";

/** How long a finished run's result waits for an unreachable database before the worker gives up on it. */
const FINAL_WRITE_PATIENCE_MS = 15 * 60_000;

export type RunnerRegistry = { [K in RunKind]: () => Promise<Runner<K>> };

export interface WorkerOptions {
  url: string;
  /** Which runner executes each kind; tests substitute their own. */
  runners?: RunnerRegistry;
  /** Chooses the compute backend before the first run; returns what the run records. */
  initBackend?: () => Promise<{ backend: string; device: string }>;
  log?: (line: string) => void;
}

export interface Worker {
  id: string;
  stop(): Promise<void>;
}

export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const id = `${os.hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;
  const log = opts.log ?? ((line: string) => console.log(`[worker ${id}] ${line}`));
  const runnerFor = opts.runners ?? defaultRunners;
  const initBackend =
    opts.initBackend ?? (async () => (await import("./ml/backend")).initBackend());
  const { sql, close } = createDb(opts.url, { max: 4 });
  const boss = createBoss(opts.url, { maintenance: true });

  let current: { runId: string; abort: AbortController; logger: DbRunLogger } | null = null;
  let backend: { backend: string; device: string } | null = null;

  await sql`insert into workers (id, host, pid) values (${id}, ${os.hostname()}, ${process.pid})`;

  const heartbeat = startHeartbeat(opts.url, id, (event) => {
    if (event.type === "log") return log(event.line);
    if (event.runId !== current?.runId) return;
    if (event.type === "cancel") return current.abort.abort();
    const why = `the run was taken from worker ${id} (now ${event.status}${event.workerId && event.workerId !== id ? ` on worker ${event.workerId}` : ""}); its work here stops`;
    log(`run ${event.runId}: ${why}`);
    current.logger.log(why);
    current.abort.abort();
  });

  const execute = async (runId: string) => {
    // A claim that fails for want of a database waits for it: a lost claim would leave the run queued forever.
    const [run] = await retryWhileDown(() => sql<{ kind: string; config: unknown; name: string }[]>`
      update runs set status = 'running', worker_id = ${id}, started_at = now(), heartbeat_at = now()
      where id = ${runId} and status = 'queued' returning kind, config, name`);
    if (!run) return; // cancelled while queued, or already taken
    const abort = new AbortController();
    const logger = new DbRunLogger(sql, runId, abort.signal);
    // The run stays this worker's (and heartbeats keep it alive) until its final state is written.
    current = { runId, abort, logger };
    heartbeat.set({ runId });
    let status: RunStatus = "finished";
    let summary: Record<string, unknown> = {};
    let error: string | null = null;
    log(`run ${runId} (${run.kind} "${run.name}") started`);
    try {
      const compute = (backend ??= await initBackend());
      heartbeat.set(compute);
      await retryWhileDown(() => sql`update runs set backend = ${compute.backend}, device = ${compute.device} where id = ${runId}`);
      if (!runKinds.includes(run.kind as RunKind)) throw new Error(`this worker cannot run kind "${run.kind}"`);
      const kind = run.kind as RunKind;
      const config = parseRunConfig(kind, run.config);
      const runner = (await runnerFor[kind]()) as Runner<RunKind>;
      const ctx: RunContext = { logger, loadArtifact: (fromRun, name) => loadArtifact(sql, fromRun, name) };
      summary = await runner(config, ctx);
    } catch (err) {
      if (err instanceof RunCancelled || abort.signal.aborted) {
        status = "killed";
        if (!(err instanceof RunCancelled)) error = errorText(err);
      } else {
        status = "failed";
        error = errorText(err);
      }
    }
    if (error) logger.log(`error: ${error}`);
    await logger.close().catch((e) => {
      // A result whose record is incomplete is not a finished run.
      if (status === "finished") [status, error] = ["failed", `metrics or logs could not be written: ${e.message}`];
      log(`run ${runId}: some metrics could not be written: ${e.message}`);
    });
    // A run swept as crashed while this worker could not reach the database is still this worker's to end.
    const ended = await retryWhileDown(() => sql`
      update runs set status = ${status}, finished_at = now(), summary = ${JSON.stringify(summary)}::jsonb, error = ${error}
      where id = ${runId} and worker_id = ${id} and status in ('running', 'crashed') returning id`,
      { patienceMs: FINAL_WRITE_PATIENCE_MS, onRetry: (e) => log(`database unreachable, retrying: ${e.message}`) });
    current = null;
    heartbeat.set({ runId: null });
    if (ended.length) log(`run ${runId} ${status}${error ? `: ${error.split("\n")[0]}` : ""}`);
    else log(`run ${runId} was no longer this worker's; its ${status} result was not recorded`);
  };

  await boss.start();
  await boss.work<RunJob>(RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
    if (job) await execute(job.data.runId);
  });
  log("waiting for runs");

  return {
    id,
    async stop() {
      current?.abort.abort(); // the run ends as killed and its rows are flushed before the pool closes
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      await heartbeat.stop();
      await sql`update workers set stopped_at = now(), current_run_id = null where id = ${id}`.catch(() => {});
      await close();
    },
  };
}

async function loadArtifact(sql: Sql, runId: string, name: string): Promise<Uint8Array> {
  const [row] = await retryWhileDown(() => sql<{ bytes: Buffer }[]>`select bytes from artifacts where run_id = ${runId} and name = ${name}`);
  if (!row) throw new Error(`run ${runId} has no artifact "${name}"`);
  return new Uint8Array(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength);
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}


