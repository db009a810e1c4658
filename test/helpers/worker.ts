/** A real worker process (workers/main.ts) on a database, and its orderly stop. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export function spawnWorker(databaseUrl: string, stdout: "ignore" | "pipe" = "ignore"): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", path.resolve(__dirname, "../../workers/main.ts")], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ["ignore", stdout, "ignore"],
  });
}

/** SIGTERM, then waits for the exit (at once if it already exited). */
export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  worker.kill("SIGTERM");
  await exited;
}
