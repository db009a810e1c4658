/**
 * The RunLogger the worker hands to the ML library. Metrics are buffered and written in batches, one statement
 * per batch (db/metrics.ts); a failed write keeps its points and is retried, and a retried batch never
 * duplicates. The buffer is bounded: past HIGH_WATER points `metrics()` returns a promise that settles once
 * writes have caught up, so a slow database slows the training loop instead of filling memory.
 */
import { randomBytes } from "node:crypto";
import { saveArtifact } from "../db/artifacts";
import { isConnectionError, retryWhileDown, type Sql } from "../db/client";
import { writePoints, type MetricPoint } from "../db/metrics";
import type { RunLogger } from "./ml/logger";

const FLUSH_MS = 1000;
/** A flush starts once this many points wait; one statement writes at most BATCH points. */
const BATCH = 10_000;
const HIGH_WATER = 50_000;

const ready = Promise.resolve();

export class DbRunLogger implements RunLogger {
  /** In logging order. A point logged again before it is written replaces the pending one (see `deduplicate`). */
  private points: MetricPoint[] = [];
  /** The highest step logged so far, and whether a step came at or below it (so points may repeat). */
  private lastStep = -Infinity;
  private revisited = false;
  private lines: { run_id: string; at: string; line: string; key: string }[] = [];
  private readonly lineKeyPrefix = randomBytes(8).toString("hex");
  private lineCount = 0;
  private timer: NodeJS.Timeout;
  private writing: Promise<void> | null = null;
  private drained: { resolve: () => void; reject: (err: Error) => void }[] = [];
  /** A write the database refused (not a lost connection): retrying cannot help, so the run fails with it. */
  private refused: Error | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly runId: string,
    readonly signal: AbortSignal,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), FLUSH_MS);
  }

  /** Points waiting to be written. */
  get pending(): number {
    return this.points.length;
  }

  metrics(step: number, values: Record<string, number>): Promise<void> {
    const wallTime = Date.now();
    if (step <= this.lastStep) this.revisited = true;
    else this.lastStep = step;
    for (const key in values) {
      const value = values[key]!;
      if (!Number.isFinite(value)) continue; // NaN/Inf are not plottable; the summary carries divergence
      this.points.push({ key, step, value, wallTime });
    }
    if (this.points.length >= BATCH && !this.writing) void this.flush().catch(() => {});
    if (this.refused) return Promise.reject(this.refused);
    if (this.points.length < HIGH_WATER) return ready;
    return new Promise((resolve, reject) => this.drained.push({ resolve, reject }));
  }

  /**
   * Keeps one point per (key, step), the one logged last, where a step was logged again. A training loop's steps
   * only grow, usually: then this costs nothing.
   */
  private deduplicate(): void {
    if (!this.revisited) return;
    const latest = new Map<string, MetricPoint>();
    for (const p of this.points) latest.set(`${p.key}\u0000${p.step}`, p);
    this.points = [...latest.values()];
    this.revisited = false;
  }

  log(line: string): void {
    const key = `${this.lineKeyPrefix}:${this.lineCount++}`;
    this.lines.push({ run_id: this.runId, at: new Date().toISOString(), line, key });
  }

  async media(key: string, step: number, png: Uint8Array, caption?: string): Promise<void> {
    const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
    await retryWhileDown(() => this.sql`
      insert into media (run_id, key, step, png, caption) values (${this.runId}, ${key}, ${step}, ${bytes}, ${caption ?? null})
      on conflict (run_id, key, step) do update set png = excluded.png, caption = excluded.caption`);
  }

  async artifact(name: string, kind: string, bytes: Uint8Array, meta: Record<string, unknown> = {}): Promise<void> {
    await storeArtifact(this.sql, this.runId, name, kind, bytes, meta);
  }

  /**
   * Writes everything buffered, batch after batch; on failure the unwritten points stay in the buffer and the
   * error is thrown (the timer retries). Concurrent calls share one writer.
   */
  flush(): Promise<void> {
    this.writing ??= this.drain().finally(() => {
      this.writing = null;
    });
    return this.writing;
  }

  private async drain(): Promise<void> {
    while (this.points.length > 0 || this.lines.length > 0) {
      this.deduplicate();
      const batch = this.points.splice(0, BATCH);
      const lines = this.lines;
      this.lines = [];
      try {
        await writePoints(this.sql, this.runId, batch);
        if (lines.length) {
          // A write whose reply was lost may have committed: its retry must not add the lines again.
          await this.sql`insert into run_logs ${this.sql(lines, "run_id", "at", "line", "key")} on conflict (key) do nothing`;
        }
      } catch (err) {
        // Back in the buffer, ahead of what the loop logged meanwhile (which wins over it where it repeats a point).
        if (this.points.length > 0) this.revisited = true;
        this.points = batch.concat(this.points);
        this.lines = lines.concat(this.lines);
        throw err;
      }
      this.release();
    }
  }

  /** Wakes the loops waiting on a full buffer once it is below the high-water mark. */
  private release(): void {
    if (this.points.length >= HIGH_WATER) return;
    const waiting = this.drained;
    this.drained = [];
    for (const w of waiting) w.resolve();
  }

  private refuse(err: Error): void {
    this.refused = err;
    const waiting = this.drained;
    this.drained = [];
    for (const w of waiting) w.reject(err);
  }

  /** Final flush, waiting out a database restart. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await retryWhileDown(() => this.flush(), { patienceMs: 60_000 });
    this.release();
  }
}

/** Stores (or replaces) a run's artifact, waiting out a database restart; also caches a teacher's targets on its run. */
export async function storeArtifact(
  sql: Sql,
  runId: string,
  name: string,
  kind: string,
  bytes: Uint8Array,
  meta: Record<string, unknown> = {},
): Promise<void> {
  await retryWhileDown(() => saveArtifact(sql, { runId, name, kind, meta }, bytes));
}
