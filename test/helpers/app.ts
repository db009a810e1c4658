/**
 * The real app for end-to-end tests: `server/start.ts` (migrations, `next build` when needed, web server, one
 * worker) on a throwaway database, and Chromium driving it. Needs DATABASE_URL (a server where it may CREATE
 * DATABASE) and Chromium at /usr/bin/chromium (or CHROMIUM_PATH).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { freePort } from "../../db/embedded";
import { createTestDatabase, type TestDatabase } from "./db";

export const root = path.resolve(__dirname, "..", "..");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** A reason to skip browser tests, or false. */
export const noChromium = existsSync(chromiumPath) ? false : `Chromium is not installed at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;

export const START_TIMEOUT_MS = 20 * 60_000; // a first `next build` on two busy cores is slow
export const UI_TIMEOUT_MS = 30_000;

export interface RunningApp {
  baseURL: string;
  browser: Browser;
  page: Page;
  /** The app's last lines of output. */
  log: string[];
  stop(): Promise<void>;
}

export async function startApp(prefix: string): Promise<RunningApp> {
  const database: TestDatabase = await createTestDatabase(prefix);
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-data-`));
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
  const app: ChildProcess = spawn(process.execPath, ["--import", "tsx", path.join(root, "server", "start.ts")], {
    cwd: root,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => app.once("exit", () => resolve()));
  const log: string[] = [];
  let ready!: () => void;
  const readyPromise = new Promise<void>((resolve) => (ready = resolve));
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line.trim()) continue;
      log.push(line);
      if (log.length > 400) log.splice(0, 100);
      if (/\[crackdiff\] ready:/.test(line)) ready();
    }
  };
  app.stdout!.on("data", collect);
  app.stderr!.on("data", collect);

  const kill = (signal: NodeJS.Signals) => {
    try {
      if (app.pid) process.kill(-app.pid, signal);
    } catch {
      // already gone
    }
  };
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close().catch(() => {});
    if (app.exitCode === null && app.signalCode === null) {
      kill("SIGTERM");
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
      if (!stopped) {
        kill("SIGKILL");
        await exited;
      }
    }
    kill("SIGKILL"); // anything the group left behind (a worker mid-run)
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      readyPromise,
      exited.then(() => {
        throw new Error(`the app exited before it was ready:\n${log.slice(-60).join("\n")}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the app was not ready after ${START_TIMEOUT_MS / 60000} min:\n${log.slice(-60).join("\n")}`)), START_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
    });
    const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(60_000);
    const page = await context.newPage();
    page.on("pageerror", (err) => log.push(`[browser] page error: ${err.message}`));
    return { baseURL, browser, page, log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs a test step; on failure adds a screenshot and the app's last lines to the error. */
export async function withEvidence(app: RunningApp | undefined, name: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    let shot = "(no screenshot)";
    if (app) {
      try {
        const dir = path.join(os.tmpdir(), "crackdiff-e2e-evidence");
        mkdirSync(dir, { recursive: true });
        shot = path.join(dir, `${name}-${Date.now()}.png`);
        await app.page.screenshot({ path: shot, fullPage: true });
      } catch {
        shot = "(no screenshot)";
      }
    }
    const detail = `${err instanceof Error ? err.message : String(err)}\npage: ${app?.page.url()}\nscreenshot: ${shot}\n--- app log (last lines) ---\n${app?.log.slice(-40).join("\n")}`;
    throw Object.assign(new Error(detail), { cause: err });
  }
}

export const pathIs = (p: string | RegExp) => (url: URL) => (typeof p === "string" ? url.pathname === p : p.test(url.pathname));
