/**
 * The runs list's keyset paging on a real Postgres: walking the pages, or jumping deep with a cursor, yields
 * exactly the rows an OFFSET query yields, for each sort and filter, ties in the sort value included.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDb, type Database, type Sql } from "../../db/client";
import { InvalidCursorError, listRuns, type RunsFilter, type RunsSort } from "../../db/runs-page";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let sql: Sql;
let db: Database;
let close: () => Promise<void>;
const RUNS = 437;

before(async () => {
  database = await createTestDatabase();
  ({ sql, db, close } = createDb(database.url));
  // Groups of runs share a creation time, and summaries repeat or lack the metric, so every sort has ties.
  await sql`
    insert into runs (kind, name, status, config, tags, created_at, summary)
    select
      (array['smoke', 'ddpm-train', 'heal-eval'])[1 + i % 3],
      'run-' || i,
      (array['finished', 'failed', 'running', 'finished', 'killed']::run_status[])[1 + i % 5],
      '{}',
      case when i % 4 = 0 then array['week3'] else array['week4', 'big'] end,
      timestamptz '2026-11-01' + (i / 3) * interval '1 minute',
      case when i % 7 = 0 then '{}'::jsonb else jsonb_build_object('image_auroc', round(((i * 37) % 50) / 50.0, 2)) end
    from generate_series(1, ${RUNS}) as i`;
});
after(async () => {
  await close?.();
  await database?.drop();
});

/** The same slice by OFFSET, ordered as the list orders it. */
async function byOffset(filter: RunsFilter, sort: RunsSort, offset: number, limit: number): Promise<string[]> {
  const where = [
    filter.status ? sql`status = ${filter.status}` : sql`true`,
    filter.kind ? sql`kind = ${filter.kind}` : sql`true`,
    filter.tag ? sql`tags @> array[${filter.tag}::text]` : sql`true`,
  ];
  const metric = sort.by === "summary" ? sort.key : "";
  const order =
    sort.by === "created"
      ? sql`created_at desc, id desc`
      : sort.dir === "desc"
        ? sql`case when jsonb_typeof(summary -> ${metric}::text) = 'number' then (summary ->> ${metric}::text)::float8 end desc nulls last, id desc`
        : sql`case when jsonb_typeof(summary -> ${metric}::text) = 'number' then (summary ->> ${metric}::text)::float8 end asc nulls last, id asc`;
  const rows = await sql<{ id: string }[]>`
    select id from runs where ${where[0]!} and ${where[1]!} and ${where[2]!} order by ${order} offset ${offset} limit ${limit}`;
  return rows.map((r) => r.id);
}

const cases: { name: string; filter: RunsFilter; sort: RunsSort }[] = [
  { name: "newest first", filter: {}, sort: { by: "created" } },
  { name: "a status", filter: { status: "finished" }, sort: { by: "created" } },
  { name: "a kind and a tag", filter: { kind: "heal-eval", tag: "week4" }, sort: { by: "created" } },
  { name: "a summary metric, best first", filter: {}, sort: { by: "summary", key: "image_auroc", dir: "desc" } },
  { name: "a summary metric, lowest first, with a status", filter: { status: "finished" }, sort: { by: "summary", key: "image_auroc", dir: "asc" } },
];

describe("keyset pages", () => {
  for (const c of cases) {
    test(`walking every page equals OFFSET paging: ${c.name}`, async () => {
      const limit = 25;
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await listRuns(db, { filter: c.filter, sort: c.sort, limit, cursor });
        assert.deepEqual(page.runs.map((r) => r.id), await byOffset(c.filter, c.sort, pages * limit, limit), `page ${pages + 1}`);
        seen.push(...page.runs.map((r) => r.id));
        pages++;
        if (!page.nextCursor) {
          assert.equal(seen.length, page.total, "the pages hold every matching run once");
          break;
        }
        cursor = page.nextCursor;
      }
      assert.equal(new Set(seen).size, seen.length, "no run appears twice");
      assert.ok(pages > 2, "several pages");
    });
  }

  test("a deep page equals the same slice by OFFSET", async () => {
    const sort: RunsSort = { by: "created" };
    // The cursor of row 300 is what page 12 of 25 starts after.
    let cursor: string | undefined;
    for (let i = 0; i < 12; i++) cursor = (await listRuns(db, { sort, limit: 25, cursor })).nextCursor ?? undefined;
    const deep = await listRuns(db, { sort, limit: 50, cursor });
    assert.deepEqual(deep.runs.map((r) => r.id), await byOffset({}, sort, 300, 50));
    assert.equal(deep.total, RUNS);
  });

  test("a cursor that is not one is refused, naming the field", async () => {
    await assert.rejects(listRuns(db, { limit: 10, cursor: "bm9wZQ" }), InvalidCursorError);
    await assert.rejects(listRuns(db, { limit: 10, cursor: "%%%" }), /cursor/);
    const created = (await listRuns(db, { limit: 10 })).nextCursor!;
    // A cursor of one sort does not fit another.
    await assert.rejects(listRuns(db, { limit: 10, cursor: created, sort: { by: "summary", key: "image_auroc", dir: "desc" } }), InvalidCursorError);
  });
});
