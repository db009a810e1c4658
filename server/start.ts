/**
 * `npm start`: the whole lab on one machine. Starts the database (embedded unless DATABASE_URL is set),
 * applies migrations, builds the web app when its sources changed, then runs the web server and the
 * workers, restarting a worker that dies. Ctrl-C stops everything, the database last.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createDb } from "../db/client";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded";
import { migrateDatabase } from "../db/migrate";
import { newToken } from "./auth/tokens";
import { workerEnvironment } from "./worker-env";

const root = path.resolve(__dirname, "..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
const say = (line: string) => console.log(`[crackdiff] ${line}`);

/** A fingerprint of everything `next build` reads, so an unchanged tree is never rebuilt. */
function sourceStamp(): string {
  const hash = createHash("sha1");
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const entry of readdirSync(p).sort()) if (entry !== "node_modules") walk(path.join(p, entry));
    } else hash.update(`${path.relative(root, p)}:${st.size}:${st.mtimeMs}\n`);
  };
  for (const p of ["app", "server", "db", "workers/ml/config.ts", "next.config.ts", "package-lock.json", "tsconfig.json"]) {
    walk(path.join(root, p));
  }
  return hash.digest("hex");
}

function ensureBuild(): void {
  const stampFile = path.join(root, ".next", "crackdiff-build-stamp");
  const stamp = sourceStamp();
  if (existsSync(path.join(root, ".next", "BUILD_ID")) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return;
  say("building the web app (first start, or the sources changed)…");
  const result = spawnSync(bin("next"), ["build"], { cwd: root, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) throw new Error("next build failed (see above)");
  writeFileSync(stampFile, stamp);
}

function secretIn(dataDir: string): string {
  if (process.env.NEXTAUTH_SECRET) return process.env.NEXTAUTH_SECRET;
  const file = path.join(dataDir, "auth-secret");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/**
 * While the lab has no account, the token that opens first-visitor set-up: kept in the data folder until set-up
 * is done (so a restart prints the same link), then deleted. Null once accounts exist.
 */
async function setupToken(dataDir: string, url: string): Promise<string | null> {
  const file = path.join(dataDir, "setup-token");
  const { sql, close } = createDb(url, { max: 1 });
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from users`.finally(close);
  if ((row?.n ?? 0) > 0) {
    rmSync(file, { force: true });
    return null;
  }
  if (process.env.CRACKDIFF_SETUP_TOKEN) return process.env.CRACKDIFF_SETUP_TOKEN;
  if (!existsSync(file)) writeFileSync(file, newToken(), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the web server did not become healthy");
}

async function main() {
  const dev = process.argv.includes("--dev");
  const dataDir = path.resolve(root, process.env.CRACKDIFF_DATA_DIR ?? ".data");
  const port = Number(process.env.PORT ?? 3000);
  const workerCount = Number(process.env.CRACKDIFF_WORKERS ?? 1);
  mkdirSync(dataDir, { recursive: true });

  let embedded: EmbeddedDatabase | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    say(`starting the embedded PostgreSQL (data in ${path.relative(process.cwd(), dataDir) || "."}/postgres)…`);
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, "postgres"),
      passwordFile: path.join(dataDir, "postgres-password"),
      persistent: true,
    });
    url = embedded.url;
  }
  const children = new Set<ChildProcess>();
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGTERM");
            setTimeout(() => c.kill("SIGKILL"), 40_000).unref();
          }),
      ),
    );
    await embedded?.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  let setup: string | null;
  try {
    await migrateDatabase(url);
    setup = await setupToken(dataDir, url);
    if (!dev) ensureBuild();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    return shutdown(1);
  }

  const env = {
    ...process.env,
    DATABASE_URL: url,
    NEXTAUTH_SECRET: secretIn(dataDir),
    NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? `http://localhost:${port}`,
    NEXT_TELEMETRY_DISABLED: "1",
    ...(setup ? { CRACKDIFF_SETUP_TOKEN: setup } : {}),
  };
  const web = spawn(bin("next"), [dev ? "dev" : "start", "-p", String(port)], { cwd: root, env, stdio: "inherit" });
  children.add(web);
  web.on("exit", (code) => {
    children.delete(web);
    if (!stopping) {
      console.error(`the web server exited (code ${code})`);
      void shutdown(1);
    }
  });

  const workerEnv = workerEnvironment(env, workerCount);
  const startWorker = (n: number) => {
    const worker = spawn(process.execPath, ["--import", "tsx", path.join(root, "workers", "main.ts")], { cwd: root, env: workerEnv, stdio: "inherit" });
    children.add(worker);
    worker.on("exit", (code) => {
      children.delete(worker);
      if (stopping) return;
      say(`worker ${n} exited (code ${code}); restarting it in 2 s`);
      setTimeout(() => !stopping && startWorker(n), 2000);
    });
  };
  for (let n = 1; n <= workerCount; n++) startWorker(n);

  await waitForHealth(`http://127.0.0.1:${port}/api/health`, web);
  say(`ready: http://localhost:${port}  (Ctrl-C to stop)`);
  if (setup) say(`no accounts yet: create the admin at ${env.NEXTAUTH_URL}/setup?token=${setup}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
