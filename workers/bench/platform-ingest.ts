/**
 * One ingesting worker of the platform benchmark, in its own process as a real worker is: a DbRunLogger that sends
 * about `points` points (whole steps of `keys` keys) as fast as a training loop could log them.
 * argv: URL RUN_ID POINTS KEYS. Prints "ready", waits for a line on stdin, sends, closes the logger (every point
 * written), then prints one JSON line {sent, seconds}.
 */
import { createDb } from "../../db/client";
import { DbRunLogger } from "../db-logger";

async function main() {
  const [url, runId, pointsArg, keysArg] = process.argv.slice(2);
  const points = Number(pointsArg);
  const keys = Array.from({ length: Number(keysArg) }, (_, i) => `bench/metric_${i}`);
  const steps = Math.max(1, Math.floor(points / keys.length));
  const { sql, close } = createDb(url!, { max: 2 });
  await sql`select 1`; // connected before the clock starts
  console.log("ready");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  const started = performance.now();
  const logger = new DbRunLogger(sql, runId!, new AbortController().signal);
  const values: Record<string, number> = {};
  for (let step = 0; step < steps; step++) {
    for (let k = 0; k < keys.length; k++) values[keys[k]!] = Math.sin(step * 0.001 + k) + (step % 997 === 0 ? 10 : 0);
    await logger.metrics(step, values);
  }
  await logger.close();
  const seconds = (performance.now() - started) / 1000;
  await close();
  console.log(JSON.stringify({ sent: steps * keys.length, seconds }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
