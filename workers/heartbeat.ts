/**
 * A worker's heartbeat, on a thread of its own with its own database connection: a training step or a data
 * generation that holds the main thread for minutes is not silence, and a beat never waits behind a metrics
 * write. Each beat also sweeps the pool for runs whose workers did go silent.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { createDb, type Sql } from "../db/client";
import type PgBoss from "pg-boss";
import { HEARTBEAT_MS, sweepCrashedRuns } from "../db/liveness";
import { createBoss } from "../db/queue";

/** What the beating thread needs to know about the worker's current run. */
export interface BeatState {
  runId: string | null;
  backend: string | null;
  device: string | null;
}

export type HeartbeatEvent =
  | { type: "cancel"; runId: string }
  /** The run is no longer this worker's (re-queued, or claimed by another worker): stop working on it. */
  | { type: "taken"; runId: string; status: string; workerId: string | null }
  | { type: "log"; line: string };

export interface Heartbeat {
  set(state: Partial<BeatState>): void;
  stop(): Promise<void>;
}

export function startHeartbeat(url: string, workerId: string, onEvent: (e: HeartbeatEvent) => void): Heartbeat {
  // The thread runs this file through tsx, as the main thread does.
  const self = JSON.stringify(__filename);
  const thread = new Worker(`require(${JSON.stringify(require.resolve("tsx/cjs/api"))}).require(${self}, ${self})`, {
    eval: true,
    workerData: { heartbeat: { url, workerId } },
  });
  thread.on("message", onEvent);
  thread.on("error", (e) => onEvent({ type: "log", line: `heartbeat thread failed: ${e.message}` }));
  thread.unref();
  return {
    set: (state) => thread.postMessage({ type: "set", state }),
    stop: () =>
      new Promise<void>((resolve) => {
        thread.once("exit", () => resolve());
        thread.postMessage({ type: "stop" });
      }),
  };
}

async function beat(sql: Sql, boss: PgBoss, workerId: string, state: BeatState, post: (e: HeartbeatEvent) => void) {
  await sql`update workers set heartbeat_at = now(), current_run_id = ${state.runId},
    backend = ${state.backend}, device = ${state.device} where id = ${workerId}`;
  const runId = state.runId;
  if (runId) {
    const [live] = await sql<{ cancel_requested: boolean }[]>`
      update runs set heartbeat_at = now() where id = ${runId} and worker_id = ${workerId} and status = 'running'
      returning cancel_requested`;
    if (live?.cancel_requested) post({ type: "cancel", runId });
    if (!live) {
      // Marked crashed while this worker could not reach the database: the worker is alive, so is its run.
      const [revived] = await sql`
        update runs set status = 'running', finished_at = null, error = null, heartbeat_at = now()
        where id = ${runId} and worker_id = ${workerId} and status = 'crashed' returning id`;
      if (revived) {
        await sql`insert into run_logs (run_id, line)
          values (${runId}, ${`worker ${workerId} is back after its heartbeats could not be written; the run goes on`})`;
      } else {
        const [row] = await sql<{ status: string; worker_id: string | null }[]>`select status, worker_id from runs where id = ${runId}`;
        post({ type: "taken", runId, status: row?.status ?? "deleted", workerId: row?.worker_id ?? null });
      }
    }
  }
  await sweepCrashedRuns(sql, boss);
}

async function runThread(url: string, workerId: string) {
  const port = parentPort!;
  const { sql, close } = createDb(url, { max: 1 });
  const boss = createBoss(url); // only sends (re-queued crashed runs), inside our own transactions
  const state: BeatState = { runId: null, backend: null, device: null };
  let stopping = false;
  let wake = () => {};
  port.on("message", (m: { type: "set"; state: Partial<BeatState> } | { type: "stop" }) => {
    if (m.type === "set") {
      Object.assign(state, m.state);
      wake(); // a new run is announced at once, not a beat later
    } else {
      stopping = true;
      wake();
    }
  });
  const post = (e: HeartbeatEvent) => port.postMessage(e);
  let failing = false;
  while (!stopping) {
    try {
      await beat(sql, boss, workerId, { ...state }, post);
      if (failing) post({ type: "log", line: "heartbeats are written again" });
      failing = false;
    } catch (err) {
      // The database restarting: the next beat catches up. Said once per outage, not every beat.
      if (!failing) post({ type: "log", line: `heartbeat failed: ${(err as Error).message}` });
      failing = true;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, HEARTBEAT_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  await close().catch(() => {});
  port.close();
}

const config = !isMainThread && (workerData as { heartbeat?: { url: string; workerId: string } } | null)?.heartbeat;
if (config) void runThread(config.url, config.workerId);
