/**
 * `npm test`: every test file under test/, on Node's test runner. Database tests need a server where they may
 * create throwaway databases: DATABASE_URL if set, otherwise an embedded PostgreSQL started here and
 * removed afterwards. `npm test -- test/platform` runs one folder or file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded";

const root = path.resolve(__dirname, "..");

function testFiles(p: string): string[] {
  if (statSync(p).isFile()) return p.endsWith(".test.ts") ? [p] : [];
  return readdirSync(p)
    .sort()
    .flatMap((entry) => testFiles(path.join(p, entry)));
}

async function main() {
  const targets = process.argv.slice(2);
  const files = (targets.length ? targets : ["test"]).flatMap((t) => testFiles(path.resolve(root, t)));
  let embedded: EmbeddedDatabase | undefined;
  if (!process.env.DATABASE_URL) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "crackdiff-test-pg-"));
    console.log("starting a throwaway embedded PostgreSQL for the database tests…");
    embedded = await startEmbeddedPostgres({ dataDir, persistent: false });
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? embedded!.url,
    NODE_ENV: "test",
    // Fast heartbeats, so a killed worker's run is declared crashed within seconds.
    CRACKDIFF_HEARTBEAT_MS: process.env.CRACKDIFF_HEARTBEAT_MS ?? "500",
  };
  const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
    cwd: root,
    env,
    stdio: "inherit",
  });
  const stop = () => child.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const code = await new Promise<number>((resolve) => child.on("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  await embedded?.stop();
  process.exit(code);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
