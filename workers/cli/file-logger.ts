/**
 * The CLI's RunLogger: what a worker would put in Postgres goes to files in one folder.
 *   DIR/metrics.jsonl   one {"step", ...values} object per line
 *   DIR/media/KEY-STEP.png and DIR/media.jsonl (key, step, file, caption)
 *   DIR/artifacts/NAME.bin and NAME.json (kind, meta)
 *   DIR/log.txt         the log lines, also echoed to stderr
 * Ctrl-C aborts the signal, so a training loop stops cleanly between steps (a second Ctrl-C kills).
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { RunLogger } from "../ml/logger";

export class FileRunLogger implements RunLogger {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly onSigint = () => {
    process.stderr.write("\ninterrupted: stopping after this step (Ctrl-C again to kill)\n");
    this.controller.abort();
  };

  constructor(
    readonly dir: string,
    private readonly options: { echo?: boolean } = {},
  ) {
    mkdirSync(path.join(dir, "media"), { recursive: true });
    this.signal = this.controller.signal;
    process.once("SIGINT", this.onSigint);
  }

  async metrics(step: number, values: Record<string, number>): Promise<void> {
    appendFileSync(path.join(this.dir, "metrics.jsonl"), JSON.stringify({ step, ...values }) + "\n");
  }

  async media(key: string, step: number, png: Uint8Array, caption?: string): Promise<void> {
    const file = `${safeName(key)}-${String(step).padStart(6, "0")}.png`;
    writeFileSync(path.join(this.dir, "media", file), png);
    appendFileSync(path.join(this.dir, "media.jsonl"), JSON.stringify({ key, step, file: `media/${file}`, caption }) + "\n");
  }

  async artifact(name: string, kind: string, bytes: Uint8Array, meta?: Record<string, unknown>): Promise<void> {
    const dir = path.join(this.dir, "artifacts");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${safeName(name)}.bin`), bytes);
    writeFileSync(path.join(dir, `${safeName(name)}.json`), JSON.stringify({ name, kind, meta }, null, 2) + "\n");
  }

  log(line: string): void {
    if (this.options.echo ?? true) process.stderr.write(line + "\n");
    appendFileSync(path.join(this.dir, "log.txt"), `${new Date().toISOString()} ${line}\n`);
  }

  /** Stops listening for Ctrl-C. */
  close(): void {
    process.off("SIGINT", this.onSigint);
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_");
}
