/**
 * Metric storage on a real Postgres: downsampled reads keep every bucket's extremes, live reads return exactly
 * the new points, and the worker's batched, bounded logger neither loses nor duplicates a point on retry.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDb, type Sql } from "../../db/client";
import { readSeries, readTails, writePoints, ROLLUP_LEVELS, type MetricPoint } from "../../db/metrics";
import { DbRunLogger } from "../../workers/db-logger";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let database: TestDatabase;
let sql: Sql;
let close: () => Promise<void>;

before(async () => {
  database = await createTestDatabase();
  ({ sql, close } = createDb(database.url));
});
after(async () => {
  await close?.();
  await database?.drop();
});

async function newRun(): Promise<string> {
  const [row] = await sql<{ id: string }[]>`insert into runs (kind, name, config) values ('smoke', 'metrics', '{}') returning id`;
  return row!.id;
}

/** A deterministic noisy series with rare large spikes (the values an even thinning would drop). */
function series(key: string, steps: number[], seed: number): MetricPoint[] {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return steps.map((step) => {
    const spike = rand() < 0.002 ? (rand() < 0.5 ? -50 : 50) : 0;
    return { key, step, value: Math.exp(-step / 20_000) + 0.05 * rand() + spike, wallTime: 1e12 + step };
  });
}

/** Writes points in batches of `size`, in the given order. */
async function writeAll(runId: string, points: MetricPoint[], size: number): Promise<void> {
  for (let i = 0; i < points.length; i += size) await writePoints(sql, runId, points.slice(i, i + size));
}

/** Shuffles a copy deterministically, so batches cover scattered steps and rollup rows merge across batches. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 48271) + 11) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Asserts each bucket's min, max, count and mean against the raw points in [step, step + width). */
function assertBucketsExact(points: MetricPoint[], view: NonNullable<Awaited<ReturnType<typeof readSeries>>>) {
  const byBucket = new Map<number, number[]>();
  for (const p of points) {
    const b = Math.floor(p.step / view.width) * view.width;
    byBucket.set(b, [...(byBucket.get(b) ?? []), p.value]);
  }
  for (const bucket of view.points) {
    const values = byBucket.get(bucket.step);
    assert.ok(values, `bucket at step ${bucket.step} holds points`);
    assert.equal(bucket.count, values.length, `count of bucket ${bucket.step}`);
    assert.equal(bucket.min, Math.min(...values), `min of bucket ${bucket.step}`);
    assert.equal(bucket.max, Math.max(...values), `max of bucket ${bucket.step}`);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(bucket.value - mean) < 1e-9 * Math.max(1, Math.abs(mean)), `mean of bucket ${bucket.step}`);
  }
}

describe("downsampled reads", () => {
  test("every bucket keeps the min and max of its points, at every zoom level", async () => {
    const runId = await newRun();
    // 60,000 steps with gaps (every 7th step missing), written in scattered batches.
    const steps = Array.from({ length: 60_000 }, (_, i) => i).filter((s) => s % 7 !== 3);
    const points = series("train/loss", steps, 1);
    await writeAll(runId, shuffled(points, 7), 4096);

    const whole = (await readSeries(sql, { runId, key: "train/loss", maxBuckets: 200 }))!;
    assert.equal(whole.total, points.length);
    assert.ok(whole.points.length <= 201 && whole.points.length >= 100, `${whole.points.length} buckets`);
    assert.ok(whole.width > 16, "the whole series is read from the rollups");
    assertBucketsExact(points, whole);
    // No point is outside every bucket: counts add up to the series.
    assert.equal(whole.points.reduce((a, b) => a + b.count, 0), points.length);
    const spikes = points.filter((p) => Math.abs(p.value) > 10);
    assert.ok(spikes.length > 0, "the series has spikes");
    for (const spike of spikes) {
      const bucket = whole.points.find((b) => b.step <= spike.step && spike.step < b.step + whole.width)!;
      const extreme = spike.value > 0 ? bucket.max : bucket.min;
      assert.ok(Math.abs(extreme) >= Math.abs(spike.value), `the spike at step ${spike.step} shows in its bucket`);
    }

    // Zooming in reads finer buckets, down to the points themselves.
    for (const [from, to] of [[10_000, 39_999], [30_000, 33_199], [12_345, 13_999], [20_000, 20_120]] as const) {
      const zoomed = (await readSeries(sql, { runId, key: "train/loss", maxBuckets: 200, from, to }))!;
      assert.ok(zoomed.width < whole.width, `zoom ${from}–${to} is finer`);
      assertBucketsExact(points, zoomed);
      const inRange = points.filter((p) => p.step >= zoomed.points[0]!.step && p.step < zoomed.points.at(-1)!.step + zoomed.width);
      assert.equal(zoomed.points.reduce((a, b) => a + b.count, 0), inRange.length, `zoom ${from}–${to} covers its range`);
      assert.ok(zoomed.points[0]!.step <= from && zoomed.points.at(-1)!.step + zoomed.width > to);
    }
    const raw = (await readSeries(sql, { runId, key: "train/loss", maxBuckets: 200, from: 20_000, to: 20_120 }))!;
    assert.equal(raw.width, 1);
    assert.deepEqual(
      raw.points.map((b) => [b.step, b.value]),
      points.filter((p) => p.step >= 20_000 && p.step <= 20_120).map((p) => [p.step, p.value]),
    );
  });

  test("a short series comes back point for point", async () => {
    const runId = await newRun();
    const points = series("eval/auroc", [0, 5, 10, 15], 3);
    await writePoints(sql, runId, points);
    const view = (await readSeries(sql, { runId, key: "eval/auroc", maxBuckets: 1000 }))!;
    assert.equal(view.width, 1);
    assert.deepEqual(view.points.map((b) => ({ step: b.step, value: b.value })), points.map((p) => ({ step: p.step, value: p.value })));
    assert.equal(await readSeries(sql, { runId, key: "nope", maxBuckets: 1000 }), null);
    const times = await sql<{ ms: number }[]>`
      select (extract(epoch from wall_time) * 1000)::float8 as ms from metrics where run_id = ${runId} order by step`;
    assert.deepEqual(times.map((t) => t.ms), points.map((p) => p.wallTime), "wall times are kept to the millisecond");
  });
});

describe("incremental reads", () => {
  test("return exactly the points after the last one seen, per key", async () => {
    const runId = await newRun();
    const loss = series("train/loss", Array.from({ length: 1000 }, (_, i) => i), 5);
    await writePoints(sql, runId, loss);
    const [first] = await readTails(sql, runId, { "train/loss": 499 }, 1000);
    assert.deepEqual(first!.points, loss.slice(500).map((p) => ({ step: p.step, value: p.value })));
    assert.equal(first!.more, false);
    assert.equal(first!.total, 1000);

    // Nothing new: nothing returned.
    assert.deepEqual(await readTails(sql, runId, { "train/loss": 999 }, 1000), []);

    // New points of the known key, and a key the reader has not seen.
    const more = series("train/loss", Array.from({ length: 100 }, (_, i) => 1000 + i), 6);
    const lr = series("train/lr", [0, 10, 20], 7);
    await writePoints(sql, runId, [...more, ...lr]);
    const tails = await readTails(sql, runId, { "train/loss": 999 }, 1000);
    const byKey = Object.fromEntries(tails.map((t) => [t.key, t]));
    assert.deepEqual(Object.keys(byKey).sort(), ["train/loss", "train/lr"]);
    assert.deepEqual(byKey["train/loss"]!.points, more.map((p) => ({ step: p.step, value: p.value })));
    assert.deepEqual(byKey["train/lr"]!.points, lr.map((p) => ({ step: p.step, value: p.value })));

    // Past the limit the reader is told there is more (and should re-read the downsampled series).
    const [capped] = await readTails(sql, runId, { "train/loss": -1, "train/lr": 20 }, 300);
    assert.equal(capped!.points.length, 300);
    assert.equal(capped!.points[0]!.step, 0);
    assert.equal(capped!.more, true);
  });
});

describe("chunks", () => {
  test("points written in scattered batches interleave in their blocks and read back exactly", async () => {
    const runId = await newRun();
    // Every step of 0–2,999 but a few, in shuffled batches of 100: each 128-step block holds many small chunks
    // whose step ranges overlap.
    const steps = Array.from({ length: 3000 }, (_, i) => i).filter((s) => s % 101 !== 7);
    const points = series("train/loss", steps, 13);
    await writeAll(runId, shuffled(points, 3), 100);
    const [chunks] = await sql<{ n: number; widest: number }[]>`
      select count(*)::int as n, max(c.last_step - c.first_step)::int as widest from metric_chunks c
      join metric_series s on s.id = c.series_id where s.run_id = ${runId}`;
    assert.ok(chunks!.n > 500, `${chunks!.n} chunks`);
    assert.ok(chunks!.widest < 128, "no chunk leaves its block");
    const stored = await sql<{ step: number; value: number }[]>`select step, value from metrics where run_id = ${runId} order by step`;
    assert.deepEqual(stored.map((r) => [r.step, r.value]), points.map((p) => [p.step, p.value]));

    // Live reads from anywhere, including mid-block and before the first point, with a limit: exactly the next points.
    for (const [afterStep, limit] of [[-1, 50], [999, 300], [1234, 10], [2990, 100], [5000, 10]] as const) {
      const expected = points.filter((p) => p.step > afterStep);
      const tails = await readTails(sql, runId, { "train/loss": afterStep }, limit);
      if (expected.length === 0) {
        assert.deepEqual(tails, []);
        continue;
      }
      assert.deepEqual(tails[0]!.points, expected.slice(0, limit).map((p) => ({ step: p.step, value: p.value })), `after ${afterStep}`);
      assert.equal(tails[0]!.more, expected.length > limit);
    }
    // Resending any of those batches stores nothing.
    assert.equal(await writePoints(sql, runId, shuffled(points, 3).slice(0, 100)), 0);
    assert.equal((await readSeries(sql, { runId, key: "train/loss", maxBuckets: 10 }))!.total, points.length);
  });
});

describe("ingestion", () => {
  async function stored(runId: string) {
    const [raw] = await sql<{ n: number }[]>`select count(*)::int as n from metrics where run_id = ${runId}`;
    const levels = await sql<{ level: number; n: number }[]>`
      select level, sum(count)::int as n from metric_rollups
      where series_id in (select id from metric_series where run_id = ${runId}) group by level order by level`;
    const [series] = await sql<{ n: number }[]>`select coalesce(sum(count), 0)::int as n from metric_series where run_id = ${runId}`;
    return { raw: raw!.n, rollups: levels.map((l) => l.n), series: series!.n, levels: levels.length };
  }

  test("a resent batch stores nothing twice, in the points or their rollups", async () => {
    const runId = await newRun();
    const points = series("train/loss", Array.from({ length: 5000 }, (_, i) => i), 9);
    assert.equal(await writePoints(sql, runId, points), 5000);
    // The reply to the first write was lost; the same batch arrives again, then an overlapping one.
    assert.equal(await writePoints(sql, runId, points), 0);
    const overlap = series("train/loss", Array.from({ length: 2000 }, (_, i) => 4000 + i), 9);
    assert.equal(await writePoints(sql, runId, overlap), 1000);
    const s = await stored(runId);
    assert.equal(s.raw, 6000);
    assert.equal(s.series, 6000);
    assert.equal(s.levels, ROLLUP_LEVELS);
    assert.deepEqual(s.rollups, Array(ROLLUP_LEVELS).fill(6000));
    const view = (await readSeries(sql, { runId, key: "train/loss", maxBuckets: 10 }))!;
    assert.equal(view.points.reduce((a, b) => a + b.count, 0), 6000);
  });

  test("deleting a run deletes its points, rollups and series", async () => {
    const runId = await newRun();
    const keep = await newRun();
    await writePoints(sql, runId, series("train/loss", [1, 2, 3, 40], 11));
    await writePoints(sql, keep, series("train/loss", [1, 2], 12));
    await sql`delete from runs where id = ${runId}`;
    assert.deepEqual(await stored(runId), { raw: 0, rollups: [], series: 0, levels: 0 });
    const [orphans] = await sql<{ chunks: number; rollups: number }[]>`
      select (select count(*) from metric_chunks where series_id not in (select id from metric_series))::int as chunks,
        (select count(*) from metric_rollups where series_id not in (select id from metric_series))::int as rollups`;
    assert.deepEqual({ ...orphans }, { chunks: 0, rollups: 0 }, "no chunk or rollup outlives its series");
    assert.equal((await stored(keep)).raw, 2);
  });

  test("a point logged again before it is written replaces the pending one", async () => {
    const runId = await newRun();
    const logger = new DbRunLogger(sql, runId, new AbortController().signal);
    await logger.metrics(1, { "train/loss": 1, "train/lr": 0.1 });
    await logger.metrics(2, { "train/loss": 2 });
    await logger.metrics(1, { "train/loss": 10 }); // step 1 again: its loss replaces the pending one
    await logger.metrics(2, { "train/lr": 0.2 }); // the same step, another key: both kept
    await logger.close();
    const rows = await sql<{ key: string; step: number; value: number }[]>`
      select key, step, value from metrics where run_id = ${runId} order by key, step`;
    assert.deepEqual(rows.map((r) => [r.key, r.step, r.value]), [["train/loss", 1, 10], ["train/loss", 2, 2], ["train/lr", 1, 0.1], ["train/lr", 2, 0.2]]);
  });

  test("the logger retries a write whose reply was lost, without duplicates, and bounds its buffer", { timeout: 120_000 }, async () => {
    const runId = await newRun();
    // A connection that drops right after the database committed the second batch of points.
    let metricWrites = 0;
    const flaky = new Proxy(sql, {
      apply(target, self, args: unknown[]) {
        const result = Reflect.apply(target, self, args);
        const strings = args[0] as TemplateStringsArray | undefined;
        if (!strings?.raw || !strings.join("").includes("insert into metric_chunks")) return result;
        if (++metricWrites !== 2) return result;
        return (async () => {
          await result;
          throw Object.assign(new Error("connection reset after commit"), { code: "ECONNRESET" });
        })();
      },
    }) as Sql;
    const logger = new DbRunLogger(flaky, runId, new AbortController().signal);
    const steps = 120_000;
    let maxPending = 0;
    for (let step = 0; step < steps; step++) {
      await logger.metrics(step, { "train/loss": 1 / (step + 1), "train/lr": 0.001 });
      maxPending = Math.max(maxPending, logger.pending);
    }
    await logger.close();
    assert.ok(metricWrites > 2, "the lost batch was written again");
    const s = await stored(runId);
    assert.equal(s.raw, steps * 2);
    assert.equal(s.series, steps * 2);
    assert.deepEqual(s.rollups, Array(ROLLUP_LEVELS).fill(steps * 2));
    // Awaiting metrics() held the loop while the buffer was full: it never grew far past its bound.
    assert.ok(maxPending < 60_000, `at most ${maxPending} points waited`);
  });
});
