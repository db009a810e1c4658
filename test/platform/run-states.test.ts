/** Run state changes: exactly the valid transitions are accepted, whoever writes them. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createDb } from "../../db/client";
import { runStatusEnum, type RunStatus } from "../../db/schema";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let conn: ReturnType<typeof createDb>;

before(async () => {
  database = await createTestDatabase();
  conn = createDb(database.url);
});
after(async () => {
  await conn?.close();
  await database?.drop();
});

const valid: Record<RunStatus, RunStatus[]> = {
  queued: ["running", "killed"],
  running: ["finished", "failed", "killed", "crashed", "queued"],
  crashed: ["running", "finished", "failed", "killed", "queued"],
  finished: [],
  failed: [],
  killed: [],
};

test("the database accepts exactly the valid run state changes", async () => {
  const { sql } = conn;
  const statuses = runStatusEnum.enumValues;
  for (const from of statuses) {
    for (const to of statuses) {
      if (from === to) continue;
      const [run] = await sql<{ id: string }[]>`
        insert into runs (kind, name, config, status) values ('smoke', ${`${from}-${to}`}, '{}'::jsonb, ${from}) returning id`;
      const changed = await sql`update runs set status = ${to} where id = ${run!.id}`.then(
        () => true,
        (err: Error) => {
          assert.match(err.message, new RegExp(`cannot go from ${from} to ${to}`));
          return false;
        },
      );
      assert.equal(changed, valid[from].includes(to), `${from} → ${to}`);
    }
  }
  // Updates that keep the status (heartbeats, summaries) are untouched by the rule.
  const [run] = await sql<{ id: string }[]>`insert into runs (kind, name, config, status) values ('smoke', 'f', '{}'::jsonb, 'finished') returning id`;
  await sql`update runs set summary = '{"x": 1}'::jsonb, status = 'finished' where id = ${run!.id}`;
});
