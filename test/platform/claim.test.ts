/**
 * A claim whose connection drops is retried, not lost: the queue hands each job out once (no retries), so a
 * worker that gave up on a failed claim would leave its run `queued` forever. A loopback proxy in front of a
 * real server cuts the worker's connection the first time it sends the claim.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { createDb, transaction } from "../../db/client";
import { createBoss, enqueueRun } from "../../db/queue";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";
import { spawnWorker, stopWorker } from "../helpers/worker";

let database: TestDatabase;
let conn: ReturnType<typeof createDb>;
let proxy: Server;
let proxyUrl: string;
let claimsCut = 0;

before(async () => {
  database = await createTestDatabase();
  conn = createDb(database.url);
  const target = new URL(database.url);
  proxy = createServer((client: Socket) => {
    const server = connect(Number(target.port), target.hostname);
    client.on("data", (d) => {
      // The first claim never reaches the server: its connection drops as it is sent.
      if (claimsCut === 0 && d.includes("set status = 'running', worker_id")) {
        claimsCut++;
        client.destroy();
        server.destroy();
        return;
      }
      server.write(d);
    });
    server.on("data", (d) => client.write(d));
    client.on("error", () => server.destroy());
    server.on("error", () => client.destroy());
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const url = new URL(database.url);
  url.hostname = "127.0.0.1";
  url.port = String((proxy.address() as { port: number }).port);
  proxyUrl = url.toString();
});
after(async () => {
  proxy?.close();
  await conn?.close();
  await database?.drop();
});

test("a claim cut off by a dropped connection is retried and the run finishes", { timeout: 120_000 }, async () => {
  const { sql } = conn;
  const boss = createBoss(database.url);
  const runId = await transaction(sql, async (tx) => {
    const [run] = await tx.sql<{ id: string }[]>`
      insert into runs (kind, name, config) values ('smoke', 'claimed twice', ${JSON.stringify({ steps: 20 })}::jsonb) returning id`;
    await enqueueRun(boss, tx.sql, run!.id);
    return run!.id;
  });
  const worker = spawnWorker(proxyUrl);
  try {
    const run = await eventually(async () => {
      const [row] = await sql<{ status: string }[]>`select status from runs where id = ${runId}`;
      return row?.status === "finished" ? row : undefined;
    }, "the run to finish", 90_000);
    assert.equal(run.status, "finished");
    assert.equal(claimsCut, 1, "the proxy cut the first claim");
  } finally {
    await stopWorker(worker);
  }
});
