/**
 * A worker: claims queued runs from the pg-boss queue one at a time, runs them through the ML library with a
 * database-backed logger, heartbeats while alive, and ends every run in exactly one terminal state.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { createDb, retryWhileDown, type Sql } from "../db/client";
import { HEARTBEAT_MS, sweepCrashedRuns } from "../db/liveness";
import { createBoss, RUN_QUEUE, type RunJob } from "../db/queue";
import type { RunStatus } from "../db/schema";
import { DbRunLogger, storeArtifact } from "./db-logger";
import { parseRunConfig, runKinds, type RunKind } from "./ml/config";
import { runners as defaultRunners, type RunContext, type Runner } from "./ml/kinds";
import { RunCancelled } from "./ml/logger";

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

  let current: { runId: string; abort: AbortController } | null = null;
  let backend: { backend: string; device: string } | null = null;

  await sql`insert into workers (id, host, pid) values (${id}, ${os.hostname()}, ${process.pid})`;

  const beat = async () => {
    await sql`update workers set heartbeat_at = now(), current_run_id = ${current?.runId ?? null},
      backend = ${backend?.backend ?? null}, device = ${backend?.device ?? null} where id = ${id}`;
    if (current) {
      const [row] = await sql<{ cancel_requested: boolean }[]>`
        update runs set heartbeat_at = now() where id = ${current.runId} returning cancel_requested`;
      if (row?.cancel_requested) current.abort.abort();
    }
    await sweepCrashedRuns(sql);
  };
  // A missed beat (the database restarting) is not fatal: the next one catches up.
  const heartbeat = setInterval(() => void beat().catch((e) => log(`heartbeat failed: ${e.message}`)), HEARTBEAT_MS);

  const execute = async (runId: string) => {
    const [run] = await sql<{ kind: string; config: unknown; name: string }[]>`
      update runs set status = 'running', worker_id = ${id}, started_at = now(), heartbeat_at = now()
      where id = ${runId} and status = 'queued' returning kind, config, name`;
    if (!run) return; // cancelled while queued, or already taken
    const abort = new AbortController();
    current = { runId, abort };
    const logger = new DbRunLogger(sql, runId, abort.signal);
    let status: RunStatus = "finished";
    let summary: Record<string, unknown> = {};
    let error: string | null = null;
    log(`run ${runId} (${run.kind} "${run.name}") started`);
    try {
      const compute = (backend ??= await initBackend());
      await retryWhileDown(() => sql`update runs set backend = ${compute.backend}, device = ${compute.device} where id = ${runId}`);
      if (!runKinds.includes(run.kind as RunKind)) throw new Error(`this worker cannot run kind "${run.kind}"`);
      const kind = run.kind as RunKind;
      const config = parseRunConfig(kind, run.config);
      const runner = (await runnerFor[kind]()) as Runner<RunKind>;
      const ctx: RunContext = {
        logger,
        loadArtifact: (fromRun, name) => loadArtifact(sql, fromRun, name),
        saveArtifact: (toRun, name, kind, bytes, meta) => storeArtifact(sql, toRun, name, kind, bytes, meta),
      };
      summary = await runner(config, ctx);
    } catch (err) {
      if (err instanceof RunCancelled || abort.signal.aborted) {
        status = "killed";
        if (!(err instanceof RunCancelled)) error = errorText(err);
      } else {
        status = "failed";
        error = errorText(err);
      }
    } finally {
      current = null;
    }
    if (error) logger.log(`error: ${error}`);
    await logger.close().catch((e) => log(`run ${runId}: some metrics could not be written: ${e.message}`));
    await retryWhileDown(() => sql`
      update runs set status = ${status}, finished_at = now(), summary = ${JSON.stringify(summary)}::jsonb, error = ${error}
      where id = ${runId} and status = 'running'`, { onRetry: (e) => log(`database unreachable, retrying: ${e.message}`) });
    log(`run ${runId} ${status}${error ? `: ${error.split("\n")[0]}` : ""}`);
  };

  await boss.start();
  await boss.work<RunJob>(RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
    if (job) await execute(job.data.runId);
  });
  await beat();
  log("waiting for runs");

  return {
    id,
    async stop() {
      clearInterval(heartbeat);
      current?.abort.abort(); // the run ends as killed and its rows are flushed before the pool closes
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
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


