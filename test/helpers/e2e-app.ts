/**
 * For end-to-end tests: the real app (`server/start.ts`: migrations, `next build` when needed, web server, one
 * worker) on a throwaway database, and Debian's Chromium to drive it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { freePort } from "../../db/embedded";
import { createTestDatabase, type TestDatabase } from "./db";

const root = path.resolve(__dirname, "..", "..");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/**
 * Where the end-to-end tests save the README's screenshots: docs/screenshots when CRACKDIFF_SCREENSHOTS=1 (to
 * refresh them), else a temporary folder, so that `npm test` leaves the checkout as it found it.
 */
export const screenshotDir =
  process.env.CRACKDIFF_SCREENSHOTS === "1" ? path.join(root, "docs", "screenshots") : path.join(os.tmpdir(), "crackdiff-screenshots");
/** A reason to skip browser tests, or false. */
export const noChromium = existsSync(chromiumPath) ? false : `Chromium is not installed at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;

export const START_TIMEOUT_MS = 20 * 60_000; // a first `next build` on two busy cores is slow

export interface RunningApp {
  baseURL: string;
  database: TestDatabase;
  /** The app's last output lines, for failure messages. */
  log(): string;
  /** The first-visitor set-up link `npm start` printed (the lab starts with no account). */
  setupLink: Promise<string>;
  stop(): Promise<void>;
}

export async function startApp(): Promise<RunningApp> {
  const database = await createTestDatabase("crackdiff_e2e");
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "crackdiff-e2e-data-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.url,
    PORT: String(port),
    CRACKDIFF_DATA_DIR: dataDir,
    CRACKDIFF_WORKERS: "1",
    NEXTAUTH_URL: baseURL,
    NEXT_TELEMETRY_DISABLED: "1",
  };
  delete (env as Record<string, string | undefined>).NODE_ENV; // `next build`/`next start` choose their own
  delete env.NEXTAUTH_SECRET;

  // Its own process group, so stop() ends the web server and the worker with it.
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(root, "server", "start.ts")], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let lines: string[] = [];
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  let printedSetupLink!: (link: string) => void;
  const setupLink = new Promise<string>((resolve) => (printedSetupLink = resolve));
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > 400) lines = lines.slice(-300);
      if (/\[crackdiff\] ready:/.test(line)) ready();
      const setup = /create the admin at (\S+\/setup\?token=\S+)/.exec(line);
      if (setup) printedSetupLink(setup[1]!);
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const log = () => lines.slice(-60).join("\n");

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup("SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
      if (!stopped) {
        killGroup("SIGKILL");
        await exited;
      }
    }
    killGroup("SIGKILL"); // anything the group left behind (a worker mid-run)
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      readyPromise,
      exited.then(() => {
        throw new Error(`the app exited before it was ready:\n${log()}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the app was not ready after ${START_TIMEOUT_MS / 60000} min:\n${log()}`)), START_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { baseURL, database, log, setupLink, stop };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}
