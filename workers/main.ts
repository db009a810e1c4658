/** `npm run worker`: joins the pool of the database in DATABASE_URL and runs jobs until stopped. */
import { startWorker } from "./worker";

async function main() {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error("DATABASE_URL is not set: a worker joins the pool of an existing Crackdiff database (see README).");
    process.exit(2);
  }
  const worker = await startWorker({ url });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[worker ${worker.id}] ${signal}: finishing up`);
    await worker.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
