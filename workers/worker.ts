/**
 * A worker: claims queued runs from the pg-boss queue one at a time, runs them through the ML library with a
 * database-backed logger, heartbeats while alive, and ends every run in exactly one terminal state.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { loadArtifactBytes } from "../db/artifacts";
import { createDb, retryWhileDown, type Sql } from "../db/client";
import { createBoss, requeueRun, RUN_QUEUE, type RunJob } from "../db/queue";
import type { RunStatus } from "../db/schema";
import { DbRunLogger, storeArtifact } from "./db-logger";
import { startHeartbeat } from "./heartbeat";
import { parseRunConfig, runKinds, type RunKind } from "./ml/config";
import { runners as defaultRunners, type RunContext, type Runner } from "./ml/kinds";
import { RunCancelled } from "./ml/logger";

/** How long a finished run's result waits for an unreachable database before the worker gives up on it. */
const FINAL_WRITE_PATIENCE_MS = 15 * 60_000;
/** How often a training saves the state it can resume from (the artifact RESUME_STATE of its run). */
const CHECKPOINT_MS = Number(process.env.CRACKDIFF_CHECKPOINT_SECONDS ?? 120) * 1000;
const RESUME_STATE = "resume-state";
/** At shutdown, how long the current run has to save its state before it is stopped anyway. */
const HAND_BACK_GRACE_MS = 15_000;

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

  let handingBack = false;

  const execute = async (runId: string) => {
    // A claim that fails for want of a database waits for it: a lost claim would leave the run queued forever.
    const [run] = await retryWhileDown(() => sql<{ kind: string; config: unknown; name: string }[]>`
      update runs set status = 'running', worker_id = ${id}, started_at = coalesce(started_at, now()), heartbeat_at = now()
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
    let savedStep: number | null = null;
    let lastSave = Date.now();
    log(`run ${runId} (${run.kind} "${run.name}") started`);
    try {
      const compute = (backend ??= await initBackend());
      heartbeat.set(compute);
      await retryWhileDown(() => sql`update runs set backend = ${compute.backend}, device = ${compute.device} where id = ${runId}`);
      if (!runKinds.includes(run.kind as RunKind)) throw new Error(`this worker cannot run kind "${run.kind}"`);
      const kind = run.kind as RunKind;
      const config = parseRunConfig(kind, run.config);
      const runner = (await runnerFor[kind]()) as Runner<RunKind>;
      const ctx: RunContext = {
        logger,
        loadArtifact: (fromRun, name) => loadArtifact(sql, fromRun, name),
        saveArtifact: (toRun, name, kind, bytes, meta) => storeArtifact(sql, toRun, name, kind, bytes, meta),
        resumeState: await loadArtifact(sql, runId, RESUME_STATE).catch(() => null),
        checkpoint: {
          due: () => handingBack || Date.now() - lastSave >= CHECKPOINT_MS,
          save: async (state, step) => {
            // Points up to `step` are stored before the state that skips them on resume.
            await retryWhileDown(() => logger.flush());
            await logger.artifact(RESUME_STATE, "train-state", state, { step });
            [lastSave, savedStep] = [Date.now(), step];
            if (handingBack) abort.abort();
          },
        },
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
    }
    const handBack = handingBack && status === "killed";
    if (error) logger.log(`error: ${error}`);
    await logger.close().catch((e) => {
      // A result whose record is incomplete is not a finished run.
      if (status === "finished") [status, error] = ["failed", `metrics or logs could not be written: ${e.message}`];
      log(`run ${runId}: some metrics could not be written: ${e.message}`);
    });
    // A run swept as crashed while this worker could not reach the database is still this worker's to end.
    const retrying = { patienceMs: FINAL_WRITE_PATIENCE_MS, onRetry: (e: Error) => log(`database unreachable, retrying: ${e.message}`) };
    const ended = handBack
      ? await retryWhileDown(() => requeueRun(boss, sql, runId, {
          from: ["running", "crashed"],
          owner: id,
          why: `worker ${id} shut down and handed the run back to the queue` +
            (savedStep === null ? " (no training state saved: it starts over)" : ` (training state saved at step ${savedStep})`),
          retry: false,
        }), retrying)
      : (await retryWhileDown(() => sql`
          with ended as (
            update runs set status = ${status}, finished_at = now(), summary = ${JSON.stringify(summary)}::jsonb, error = ${error}
            where id = ${runId} and worker_id = ${id} and status in ('running', 'crashed') returning id
          ), resume_state_dropped as (
            -- In the same statement: no reader ever sees a finished run that still holds a state to resume from.
            delete from artifacts where ${status === "finished"} and run_id in (select id from ended) and name = ${RESUME_STATE}
          )
          select id from ended`, retrying)).length > 0;
    current = null;
    heartbeat.set({ runId: null });
    if (!ended) log(`run ${runId} was no longer this worker's; its ${status} result was not recorded`);
    else log(`run ${runId} ${handBack ? "handed back to the queue" : status}${error ? `: ${error.split("\n")[0]}` : ""}`);
  };

  await boss.start();
  await boss.work<RunJob>(RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
    if (job) await execute(job.data.runId);
  });
  log("waiting for runs");

  return {
    id,
    async stop() {
      // The current run saves its training state at the end of its step and goes back to the queue; a run that
      // saves none within the grace period is stopped anyway (and starts over, or from its last saved state).
      handingBack = true;
      const run = current;
      const grace = setTimeout(() => run?.abort.abort(), HAND_BACK_GRACE_MS);
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      clearTimeout(grace);
      await heartbeat.stop();
      await sql`update workers set stopped_at = now(), current_run_id = null where id = ${id}`.catch(() => {});
      await close();
    },
  };
}

async function loadArtifact(sql: Sql, runId: string, name: string): Promise<Uint8Array> {
  const bytes = await retryWhileDown(() => loadArtifactBytes(sql, runId, name));
  if (!bytes) throw new Error(`run ${runId} has no artifact "${name}"`);
  return bytes;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}


