/**
 * What a run reports through. The worker hands the ML library a logger that writes to Postgres;
 * the CLI hands it one that writes files. The library never knows which.
 */
export interface RunLogger {
  /**
   * Scalar values at a step; sinks batch them, so call as often as is useful. The promise settles at once unless
   * the sink is backed up (a slow database): loops await it, so they slow down instead of filling memory.
   * A (key, step) is stored once: log each step's value once.
   */
  metrics(step: number, values: Record<string, number>): Promise<void>;
  /** A PNG image (a heatmap, a strip, a sample grid) at a step. */
  media(key: string, step: number, png: Uint8Array, caption?: string): Promise<void>;
  /** A binary artifact such as a checkpoint; `meta` is small JSON kept beside it. */
  artifact(name: string, kind: string, bytes: Uint8Array, meta?: Record<string, unknown>): Promise<void>;
  /** A human-readable line for the run's log. */
  log(line: string): void;
  /** Aborted when the run is cancelled; long loops check it between steps. */
  readonly signal: AbortSignal;
}

/** Thrown by a loop that saw its signal aborted; the worker ends the run as `killed`. */
export class RunCancelled extends Error {
  constructor() {
    super("run cancelled");
    this.name = "RunCancelled";
  }
}

export function throwIfCancelled(logger: Pick<RunLogger, "signal">): void {
  if (logger.signal.aborted) throw new RunCancelled();
}
