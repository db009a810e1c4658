/**
 * The migration to chunked points (0006) on a real Postgres: points stored one row each before it read back the
 * same afterwards (values, wall times, series, rollups), and writing continues on them.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { createDb, type Sql } from "../../db/client";
import { readSeries, readTails, writePoints, ROLLUP_LEVELS } from "../../db/metrics";
import { adminUrl } from "../helpers/db";

const migrations = path.join(__dirname, "../../db/migrations");
const name = `crackdiff_test_chunks_${process.pid}`;
let sql: Sql;
let close: () => Promise<void>;
let before6: string;

before(async () => {
  const admin = createDb(adminUrl(), { max: 1 });
  await admin.sql.unsafe(`create database ${name}`);
  await admin.close();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  ({ sql, close } = createDb(url.toString(), { max: 1 }));
  // The migrations up to 0005 only: a copy of the folder whose journal stops there.
  before6 = mkdtempSync(path.join(os.tmpdir(), "crackdiff-migrations-"));
  cpSync(migrations, before6, { recursive: true });
  const journal = JSON.parse(readFileSync(path.join(migrations, "meta/_journal.json"), "utf8")) as { entries: { tag: string }[] };
  journal.entries = journal.entries.filter((e) => e.tag < "0006");
  writeFileSync(path.join(before6, "meta/_journal.json"), JSON.stringify(journal));
  await migrate(drizzle(sql), { migrationsFolder: before6 });
});

after(async () => {
  await close?.();
  const admin = createDb(adminUrl(), { max: 1 });
  await admin.sql.unsafe(`drop database if exists ${name} with (force)`);
  await admin.close();
  if (before6) rmSync(before6, { recursive: true, force: true });
});

test("points stored one row each are carried into chunks, with their series and rollups", async () => {
  const [run] = await sql<{ id: string }[]>`insert into runs (kind, name, config) values ('smoke', 'old', '{}') returning id`;
  const runId = run!.id;
  // The layout before: one row per point, series and rollups as the old writer kept them. Steps with gaps, two
  // keys, a wall time per point to the millisecond.
  await sql`
    insert into metrics (run_id, key, step, value, wall_time)
    select ${runId}, key, step, sin(step) + (case when step % 997 = 0 then 10 else 0 end),
      timestamptz '2026-11-01' + step * interval '7 milliseconds'
    from unnest(array['train/loss', 'train/lr']) as key, generate_series(0, 5000) as step
    where step % 5 <> 2`;
  await sql`
    insert into metric_series (run_id, key, count, first_step, last_step)
    select run_id, key, count(*), min(step), max(step) from metrics group by 1, 2`;
  await sql`
    insert into metric_rollups (run_id, key, level, bucket, min, max, sum, count, last_wall_time)
    select run_id, key, level, step >> (2 + 2 * level), min(value), max(value), sum(value), count(*), max(wall_time)
    from metrics, generate_series(1, ${ROLLUP_LEVELS}::int) as level group by 1, 2, 3, 4`;
  const points = await sql<{ key: string; step: number; value: number; ms: number }[]>`
    select key, step, value, (extract(epoch from wall_time) * 1000)::float8 as ms from metrics order by key, step`;

  await migrate(drizzle(sql), { migrationsFolder: migrations });

  const carried = await sql<{ key: string; step: number; value: number; ms: number }[]>`
    select key, step, value, (extract(epoch from wall_time) * 1000)::float8 as ms from metrics order by key, step`;
  assert.equal(carried.length, points.length);
  assert.deepEqual(carried.map((p) => ({ ...p })), points.map((p) => ({ ...p })), "every point, value and wall time");
  const [chunks] = await sql<{ n: number; widest: number }[]>`
    select count(*)::int as n, max(last_step - first_step)::int as widest from metric_chunks`;
  assert.ok(chunks!.widest < 128, "each chunk stays within its 128-step block");
  assert.equal(chunks!.n, 2 * Math.ceil(5001 / 128));

  const view = (await readSeries(sql, { runId, key: "train/loss", maxBuckets: 50 }))!;
  assert.equal(view.total, points.length / 2);
  assert.ok(view.width > 16, "read from the carried rollups");
  const expected = new Map<number, [number, number, number, number]>();
  for (const p of points.filter((p) => p.key === "train/loss")) {
    const step = Math.floor(p.step / view.width) * view.width;
    const [, min, max, count] = expected.get(step) ?? [step, Infinity, -Infinity, 0];
    expected.set(step, [step, Math.min(min, p.value), Math.max(max, p.value), count + 1]);
  }
  assert.deepEqual(view.points.map((b) => [b.step, b.min, b.max, b.count]), [...expected.values()]);

  // Writing goes on where the old rows stopped, and a resent old point is not stored again.
  const more = [4999, 5000, 5001, 5002].map((step) => ({ key: "train/loss", step, value: -step, wallTime: Date.parse("2026-11-02") }));
  assert.equal(await writePoints(sql, runId, more), 2);
  const [tail] = await readTails(sql, runId, { "train/loss": 4998, "train/lr": 5000 }, 10);
  assert.deepEqual(tail!.points.map((p) => p.step), [4999, 5000, 5001, 5002]);
  assert.equal(tail!.points[0]!.value, Math.sin(4999), "the stored point kept its value");

  await sql`delete from runs where id = ${runId}`;
  const [left] = await sql<{ n: number }[]>`
    select ((select count(*) from metric_chunks) + (select count(*) from metric_rollups) + (select count(*) from metric_series))::int as n`;
  assert.equal(left!.n, 0);
});
