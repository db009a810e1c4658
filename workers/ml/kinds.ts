/** The run kinds the worker can execute, each loaded only when a run of that kind arrives. */
import type { RunConfig, RunKind } from "./config";
import type { RunLogger } from "./logger";

export interface RunContext {
  logger: RunLogger;
  /** Bytes of an artifact stored by an earlier run (a teacher's checkpoint, say). */
  loadArtifact(runId: string, name: string): Promise<Uint8Array>;
  /** Where folder datasets may be read: the data roots unless given ("anywhere" for the command line's user). */
  dataRoots?: readonly string[] | "anywhere";
  /** Training state saved by an earlier attempt of this run (its worker crashed or shut down), to resume from. */
  resumeState?: Uint8Array | null;
  /** Where long trainings save that state: `due` says when (periodically, and at once before a shutdown). */
  checkpoint?: { due(): boolean; save(state: Uint8Array, step: number): Promise<void> };
  /** Stores an artifact on another run (a teacher's cached targets); absent where nothing can be stored. */
  saveArtifact?(runId: string, name: string, kind: string, bytes: Uint8Array, meta?: Record<string, unknown>): Promise<void>;
}

/** Executes one run; resolves to its summary metrics (shown in run lists and leaderboards). */
export type Runner<K extends RunKind> = (
  config: RunConfig<K>,
  ctx: RunContext,
) => Promise<Record<string, number | string | null>>;

export const runners: { [K in RunKind]: () => Promise<Runner<K>> } = {
  smoke: async () => (await import("./smoke")).runSmoke,
  "ddpm-train": async () => (await import("./runners/ddpm-train")).runDdpmTrain,
  "heal-eval": async () => (await import("./runners/heal-eval")).runHealEval,
  "ae-train": async () => (await import("./runners/ae-train")).runAeTrain,
  "student-train": async () => (await import("./runners/student-train")).runStudentTrain,
  eval: async () => (await import("./runners/eval")).runEval,
};
