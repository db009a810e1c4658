/**
 * The worker's logger under a lost reply: the database commits a batch of log lines, the connection drops before
 * the reply arrives, the logger retries. The lines are stored once. A real server behind a loopback proxy
 * that cuts the connection at that moment.
 */
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { createDb } from "../../db/client";
import { DbRunLogger } from "../../workers/db-logger";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let proxy: Server;
let proxyUrl: string;
let cutNextInsertReply = false;

before(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = createServer((client: Socket) => {
    const server = connect(Number(target.port), target.hostname);
    let insertingLogs = false;
    client.on("data", (d) => {
      if (d.includes("insert into run_logs")) insertingLogs = true;
      server.write(d);
    });
    server.on("data", (d) => {
      // The server answers an insert only after committing it (it flushes at Sync): drop that answer.
      if (cutNextInsertReply && insertingLogs && d.includes("INSERT 0")) {
        cutNextInsertReply = false;
        client.destroy();
        server.destroy();
        return;
      }
      client.write(d);
    });
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
  await database?.drop();
});

test("log lines written again after a lost reply are stored once", async () => {
  const direct = createDb(database.url);
  const viaProxy = createDb(proxyUrl);
  try {
    const [run] = await direct.sql<{ id: string }[]>`insert into runs (kind, name, config) values ('smoke', 'lost reply', '{}'::jsonb) returning id`;
    const logger = new DbRunLogger(viaProxy.sql, run!.id, new AbortController().signal);
    for (const line of ["one", "two", "three"]) logger.log(line);
    cutNextInsertReply = true;
    await assert.rejects(logger.flush(), "the reply was lost");
    assert.equal(cutNextInsertReply, false, "the proxy cut the reply");
    await logger.close(); // retries what it could not confirm
    const rows = await direct.sql<{ line: string }[]>`select line from run_logs where run_id = ${run!.id} order by id`;
    assert.deepEqual(rows.map((r) => r.line), ["one", "two", "three"]);
  } finally {
    await viaProxy.close();
    await direct.close();
  }
});
