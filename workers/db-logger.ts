/**
 * The RunLogger the worker hands to the ML library: metrics and log lines are buffered and written in
 * batches; a failed write (the database restarting, say) keeps its rows and is retried, so nothing is lost.
 */
import { randomBytes } from "node:crypto";
import { retryWhileDown, type Sql } from "../db/client";
import type { RunLogger } from "./ml/logger";

const FLUSH_MS = 1000;
const MAX_BUFFER = 2000;

interface Point {
  run_id: string;
  key: string;
  step: number;
  value: number;
  wall_time: string;
}

export class DbRunLogger implements RunLogger {
  private points = new Map<string, Point>(); // keyed by (key, step): a resent point replaces the pending one
  private lines: { run_id: string; at: string; line: string; key: string }[] = [];
  private readonly lineKeyPrefix = randomBytes(8).toString("hex");
  private lineCount = 0;
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly runId: string,
    readonly signal: AbortSignal,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), FLUSH_MS);
  }

  metrics(step: number, values: Record<string, number>): void {
    // ISO text, not Date: Drizzle's driver setup makes postgres.js pass timestamps through unserialised.
    const wall_time = new Date().toISOString();
    for (const [key, value] of Object.entries(values)) {
      if (!Number.isFinite(value)) continue; // NaN/Inf are not plottable; the summary carries divergence
      this.points.set(`${key}\u0000${step}`, { run_id: this.runId, key, step, value, wall_time });
    }
    if (this.points.size >= MAX_BUFFER) void this.flush().catch(() => {});
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
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await retryWhileDown(() => this.sql`
      insert into artifacts (run_id, name, kind, bytes, size, meta)
      values (${this.runId}, ${name}, ${kind}, ${buf}, ${buf.length}, ${JSON.stringify(meta)}::jsonb)
      on conflict (run_id, name) do update set kind = excluded.kind, bytes = excluded.bytes, size = excluded.size,
        meta = excluded.meta, created_at = now()`);
  }

  /** Writes what is buffered; on failure the rows go back into the buffer for the next try. */
  flush(): Promise<void> {
    this.flushing = this.flushing.catch(() => {}).then(async () => {
      const points = [...this.points.values()];
      const lines = this.lines;
      if (!points.length && !lines.length) return;
      this.points = new Map();
      this.lines = [];
      try {
        if (points.length) {
          await this.sql`
            insert into metrics ${this.sql(points, "run_id", "key", "step", "value", "wall_time")}
            on conflict (run_id, key, step) do update set value = excluded.value, wall_time = excluded.wall_time`;
        }
        if (lines.length) {
          // A write whose reply was lost may have committed: its retry must not add the lines again.
          await this.sql`insert into run_logs ${this.sql(lines, "run_id", "at", "line", "key")} on conflict (key) do nothing`;
        }
      } catch (err) {
        for (const p of points) {
          const id = `${p.key}\u0000${p.step}`;
          if (!this.points.has(id)) this.points.set(id, p);
        }
        this.lines = lines.concat(this.lines);
        throw err;
      }
    });
    return this.flushing;
  }

  /** Final flush, waiting out a database restart. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await retryWhileDown(() => this.flush());
  }
}
