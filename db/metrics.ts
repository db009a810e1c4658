/**
 * Metric series storage: points in chunks plus multi-resolution rollups, written together by one statement per
 * batch, so ingestion costs a few dozen rows per 10,000 points and a chart of any series and range costs a
 * bounded number of rows however long the run.
 *
 * A series (a run's key) is a `metric_series` row with an integer id. Its points live in `metric_chunks`: one row
 * holds the points one write brought for one aligned block of CHUNK_STEPS steps, as arrays in step order.
 *
 * Rollup level L (1…ROLLUP_LEVELS) covers 4^(L+1) steps per row: 16, 64, 256, … 65,536. A chart of a range R in B
 * buckets reads the coarsest level whose rows are no wider than R/B, hence at most ~4·B rows; below 16 steps per
 * bucket it reads the points themselves (at most ~16·B of them, from ~B/8 chunks).
 */
import type { Sql } from "./client";

export const ROLLUP_LEVELS = 7;
const FIRST_SHIFT = 4; // level 1: 2^4 = 16 steps per row
const LEVEL_SHIFT = 2; // each level 2^2 = 4 times wider than the one below
/** Steps per chunk block (a power of two): at most 128 points, about 2 KB, one heap row without TOAST. */
export const CHUNK_STEPS = 128;

/** log2 of the steps per row at a level (0: the points themselves). */
function shiftOf(level: number): number {
  return level === 0 ? 0 : FIRST_SHIFT + (level - 1) * LEVEL_SHIFT;
}

/** The first step of the chunk block holding `step`: chunks holding steps ≥ s have first_step ≥ blockStart(s). */
function blockStart(step: number): number {
  return Math.floor(step / CHUNK_STEPS) * CHUNK_STEPS;
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
  /** When the point was logged, in ms since the epoch. */
  wallTime: number;
}

/**
 * Stores one run's points and folds them into its rollups and series rows. A point whose (key, step) is already
 * stored is skipped and not counted again, so resending a batch (a retry after a lost reply) changes nothing.
 * `points` must not repeat a (key, step). Returns how many points were new.
 */
export async function writePoints(sql: Sql, runId: string, points: readonly MetricPoint[]): Promise<number> {
  if (points.length === 0) return 0;
  const byKey = new Map<string, MetricPoint[]>();
  for (const p of points) {
    const list = byKey.get(p.key);
    if (list) list.push(p);
    else byKey.set(p.key, [p]);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.step - b.step);
  // The usual batch only appends: each key's steps all come after its series' last. One statement, no
  // transaction, writes those keys (a small write on a connection held by a transaction can crash postgres.js
  // when the server goes away, the moment a logger keeps writing through).
  const appended = await insertPoints(sql, runId, byKey, false);
  let count = 0;
  for (const key of appended) count += byKey.get(key)!.length;
  const revisited = new Map([...byKey].filter(([key]) => !appended.has(key)));
  if (revisited.size === 0) return count;
  // The others (a resent or overlapping batch): their series locked, the steps already stored in the batch's
  // range are read and left out, the rest written, in one transaction.
  return (await sql.begin(async (tx) => {
    const keys = [...revisited.keys()];
    const series = await tx<{ id: number; key: string }[]>`
      select id, key from metric_series where run_id = ${runId} and key in ${tx(keys)} for update`;
    const ranges = series.map((s) => {
      const list = revisited.get(s.key)!;
      return { id: s.id, key: s.key, from: list[0]!.step, to: list.at(-1)!.step };
    });
    const stored = await tx<{ id: number; step: number }[]>`
      select r.id, p.step
      from unnest(${numbers(ranges.map((r) => r.id))}::int[], ${numbers(ranges.map((r) => blockStart(r.from)))}::int[],
        ${numbers(ranges.map((r) => r.from))}::int[], ${numbers(ranges.map((r) => r.to))}::int[]) as r(id, block, lo, hi)
      join metric_chunks c on c.series_id = r.id and c.first_step between r.block and r.hi
      cross join lateral unnest(c.steps) as p(step)
      where p.step between r.lo and r.hi`;
    const seen = new Set(stored.map((r) => `${r.id}:${r.step}`));
    for (const r of ranges) revisited.set(r.key, revisited.get(r.key)!.filter((p) => !seen.has(`${r.id}:${p.step}`)));
    for (const [key, list] of revisited) if (list.length === 0) revisited.delete(key);
    await insertPoints(tx as unknown as Sql, runId, revisited, true);
    for (const list of revisited.values()) count += list.length;
    return count;
  })) as number;
}

/**
 * Inserts points (per key, in step order) as chunks, adds them to the rollups and to the series rows (created if
 * new), in one statement. Without `checked`, a key is written only if its points all come after its series' last
 * stored step, checked on the series row the statement locks; with `checked` (points known to be new, series
 * locked by the caller), every key is. Returns the keys written.
 */
async function insertPoints(sql: Sql, runId: string, byKey: Map<string, MetricPoint[]>, checked: boolean): Promise<Set<string>> {
  // Flat arrays as a few parameters, whatever the batch's size: the statement's size and parse time stay constant.
  // Each chunk is a slice [lo, hi] of them (1-based) for the key at index k; times go as whole ms after the
  // batch's earliest.
  let since = Infinity;
  for (const list of byKey.values()) for (const p of list) since = Math.min(since, p.wallTime);
  const steps: number[] = [];
  const values: number[] = [];
  const times: number[] = [];
  const chunks = { k: [] as number[], lo: [] as number[], hi: [] as number[] };
  const series = { key: [] as string[], count: [] as number[], first: [] as number[], last: [] as number[] };
  const rollups = new Rollups();
  for (const [key, list] of byKey) {
    const k = series.key.push(key);
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (i === 0 || blockStart(p.step) !== blockStart(list[i - 1]!.step)) {
        if (chunks.lo.length > 0) chunks.hi.push(steps.length);
        chunks.k.push(k);
        chunks.lo.push(steps.length + 1);
      }
      const dt = Math.round(p.wallTime - since);
      steps.push(p.step);
      values.push(p.value);
      times.push(dt);
      rollups.add(k, p.step, p.value, dt);
    }
    series.count.push(list.length);
    series.first.push(list[0]!.step);
    series.last.push(list.at(-1)!.step);
  }
  if (steps.length === 0) return new Set();
  chunks.hi.push(steps.length);
  const r = rollups.finish().rows;
  // A bucket that starts at or after its key's first new step cannot hold a stored point when the batch only
  // appends: a plain insert, at half the cost of one that checks for a conflict. The others merge.
  const merge = r.k.map((k, i) => checked || r.bucket[i]! << shiftOf(r.level[i]!) < series.first[k - 1]!);
  const written = await sql<{ key: string }[]>`
    with series as (
      insert into metric_series as s (run_id, key, count, first_step, last_step)
      select ${runId}::uuid, key, count, first_step, last_step
      from unnest(${series.key}::text[], ${numbers(series.count)}::int[], ${numbers(series.first)}::int[], ${numbers(series.last)}::int[])
        as n(key, count, first_step, last_step)
      on conflict (run_id, key) do update set count = s.count + excluded.count,
        first_step = least(s.first_step, excluded.first_step), last_step = greatest(s.last_step, excluded.last_step)
      where ${checked}::bool or excluded.first_step > s.last_step
      returning id, key
    ), written as (
      select k, id from unnest(${series.key}::text[]) with ordinality as n(key, k) join series using (key)
    ), p as (
      select ${numbers(steps)}::int[] as steps, ${numbers(values)}::float8[] as vals, ${numbers(times)}::int[] as dts,
        to_timestamp(${since}::float8 / 1000) as since
    ), chunks as (
      insert into metric_chunks (series_id, first_step, last_step, steps, vals, wall_time, wall_ms)
      select w.id, p.steps[lo], p.steps[hi], p.steps[lo:hi], p.vals[lo:hi], p.since, p.dts[lo:hi]
      from p, unnest(${numbers(chunks.k)}::int[], ${numbers(chunks.lo)}::int[], ${numbers(chunks.hi)}::int[]) as c(k, lo, hi)
      join written w using (k)
    ), rollup as (
      select w.id, level, bucket, min, max, sum, count, p.since + dt * interval '1 millisecond' as last_wall_time, merge
      from p, unnest(${numbers(r.k)}::int[], ${numbers(r.level)}::int[], ${numbers(r.bucket)}::int[], ${numbers(r.min)}::float8[],
        ${numbers(r.max)}::float8[], ${numbers(r.sum)}::float8[], ${numbers(r.count)}::int[], ${numbers(r.dt)}::int[], ${`{${merge.join(",")}}`}::bool[])
        as u(k, level, bucket, min, max, sum, count, dt, merge)
      join written w using (k)
    ), fresh as (
      insert into metric_rollups (series_id, level, bucket, min, max, sum, count, last_wall_time)
      select id, level, bucket, min, max, sum, count, last_wall_time from rollup where not merge
    ), merged as (
      insert into metric_rollups as r (series_id, level, bucket, min, max, sum, count, last_wall_time)
      select id, level, bucket, min, max, sum, count, last_wall_time from rollup where merge
      on conflict (series_id, level, bucket) do update set
        min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
        sum = r.sum + excluded.sum, count = r.count + excluded.count,
        last_wall_time = greatest(r.last_wall_time, excluded.last_wall_time)
    )
    select key from series`;
  return new Set(written.map((w) => w.key));
}

/**
 * A number array as Postgres' array literal, for a parameter cast to int[] or float8[]: one join instead of
 * postgres.js quoting and escaping each element, the larger part of a batch's cost in the client. JS prints each
 * number in its shortest form that reads back exactly.
 */
function numbers(values: number[]): string {
  return `{${values.join(",")}}`;
}

/**
 * A batch's rollup rows, summed here rather than in the database: a few operations per point in JS instead of a
 * row per point through the database's aggregation. Points come per series in step order, so level 1's buckets
 * arrive one after another (one open bucket), and each coarser level sums the rows of the level below.
 */
class Rollups {
  /** Per row: the index of its key in the batch, its level and bucket, and what it sums. */
  readonly rows = { k: [] as number[], level: [] as number[], bucket: [] as number[], min: [] as number[], max: [] as number[], sum: [] as number[], count: [] as number[], dt: [] as number[] };

  add(k: number, step: number, value: number, dt: number): void {
    const r = this.rows;
    const bucket = step >> FIRST_SHIFT;
    const i = r.k.length - 1;
    if (i < 0 || r.bucket[i] !== bucket || r.k[i] !== k) this.open(k, 1, bucket, value, value, value, 1, dt);
    else this.merge(i, value, value, value, 1, dt);
  }

  /** Adds the coarser levels, each from the rows of the level below, once every point is in. */
  finish(): this {
    const r = this.rows;
    for (let level = 2, from = 0; level <= ROLLUP_LEVELS; level++) {
      const to = r.k.length;
      for (let j = from; j < to; j++) {
        const bucket = r.bucket[j]! >> LEVEL_SHIFT;
        const i = r.k.length - 1;
        if (i < to || r.bucket[i] !== bucket || r.k[i] !== r.k[j]) this.open(r.k[j]!, level, bucket, r.min[j]!, r.max[j]!, r.sum[j]!, r.count[j]!, r.dt[j]!);
        else this.merge(i, r.min[j]!, r.max[j]!, r.sum[j]!, r.count[j]!, r.dt[j]!);
      }
      from = to;
    }
    return this;
  }

  private open(k: number, level: number, bucket: number, min: number, max: number, sum: number, count: number, dt: number): void {
    const r = this.rows;
    r.k.push(k);
    r.level.push(level);
    r.bucket.push(bucket);
    r.min.push(min);
    r.max.push(max);
    r.sum.push(sum);
    r.count.push(count);
    r.dt.push(dt);
  }

  private merge(i: number, min: number, max: number, sum: number, count: number, dt: number): void {
    const r = this.rows;
    if (min < r.min[i]!) r.min[i] = min;
    if (max > r.max[i]!) r.max[i] = max;
    r.sum[i] = r.sum[i]! + sum;
    r.count[i] = r.count[i]! + count;
    if (dt > r.dt[i]!) r.dt[i] = dt;
  }
}

/** A chart point: the steps [step, step + width) of one bucket, with their extremes and mean. */
export interface Bucket {
  step: number;
  min: number;
  max: number;
  /** The mean of the bucket's points (the point's value when the bucket holds one). */
  value: number;
  count: number;
  /** When the bucket's latest point was logged, in ms since the epoch. */
  wallTime: number;
}

export interface SeriesView {
  runId: string;
  key: string;
  /** Points stored in the whole series. */
  total: number;
  firstStep: number;
  lastStep: number;
  /** Steps per bucket: 1 means the points themselves. */
  width: number;
  points: Bucket[];
}

export interface SeriesQuery {
  runId: string;
  key: string;
  /** At most this many buckets (one more where the range straddles an alignment boundary). */
  maxBuckets: number;
  /** Inclusive step range; default the whole series. */
  from?: number;
  to?: number;
}

/** Steps per bucket and the level to read for a range of `span` steps shown in at most `maxBuckets` buckets. */
export function bucketPlan(span: number, maxBuckets: number): { width: number; level: number } {
  const want = Math.max(1, Math.ceil(span / Math.max(1, maxBuckets - 1)));
  let level = 0;
  while (level < ROLLUP_LEVELS && 2 ** shiftOf(level + 1) <= want) level++;
  const unit = 2 ** shiftOf(level);
  return { width: unit * Math.ceil(want / unit), level };
}

/** A series downsampled to buckets that keep each one's min and max, read from the rollups where it pays. */
export async function readSeries(sql: Sql, q: SeriesQuery): Promise<SeriesView | null> {
  const [series] = await sql<{ id: number; count: number; first_step: number; last_step: number }[]>`
    select id, count, first_step, last_step from metric_series where run_id = ${q.runId} and key = ${q.key}`;
  if (!series) return null;
  const start = Math.max(q.from ?? series.first_step, series.first_step);
  const end = Math.min(q.to ?? series.last_step, series.last_step);
  const { width, level } = bucketPlan(Math.max(1, end - start + 1), q.maxBuckets);
  const view = { runId: q.runId, key: q.key, total: series.count, firstStep: series.first_step, lastStep: series.last_step, width };
  if (end < start) return { ...view, points: [] };
  // Whole buckets only: the range widens to bucket boundaries, so every bucket drawn covers all its steps.
  const from = Math.floor(start / width) * width;
  const to = Math.floor(end / width) * width + width - 1;
  type Row = { b: number; min: number; max: number; sum: number; count: number; wall_ms: number };
  let rows: Row[];
  if (level === 0) {
    rows = await sql<Row[]>`
      select floor(step / ${width}::float8)::int as b, min(value) as min, max(value) as max, sum(value) as sum, count(*)::int as count,
        extract(epoch from max(c.wall_time + p.ms * interval '1 millisecond')) * 1000 as wall_ms
      from metric_chunks c cross join lateral unnest(c.steps, c.vals, c.wall_ms) as p(step, value, ms)
      where c.series_id = ${series.id} and c.first_step between ${blockStart(from)} and ${to} and p.step between ${from} and ${to}
      group by 1 order by 1`;
  } else {
    const shift = shiftOf(level);
    const perBucket = width >> shift; // rollup rows per chart bucket
    rows = await sql<Row[]>`
      select floor(bucket / ${perBucket}::float8)::int as b, min(min) as min, max(max) as max, sum(sum) as sum, sum(count)::int as count,
        extract(epoch from max(last_wall_time)) * 1000 as wall_ms
      from metric_rollups
      where series_id = ${series.id} and level = ${level} and bucket between ${from >> shift} and ${to >> shift}
      group by 1 order by 1`;
  }
  return {
    ...view,
    points: rows.map((r) => ({ step: r.b * width, min: r.min, max: r.max, value: r.sum / r.count, count: r.count, wallTime: Number(r.wall_ms) })),
  };
}

/** The keys a run has logged, with each series' size. */
export async function seriesOf(sql: Sql, runId: string): Promise<{ key: string; total: number; lastStep: number }[]> {
  return (await seriesRows(sql, runId)).map(({ key, total, lastStep }) => ({ key, total, lastStep }));
}

async function seriesRows(sql: Sql, runId: string) {
  const rows = await sql<{ id: number; key: string; count: number; last_step: number }[]>`
    select id, key, count, last_step from metric_series where run_id = ${runId} order by key`;
  return rows.map((r) => ({ id: r.id, key: r.key, total: r.count, lastStep: r.last_step }));
}

export interface Tail {
  key: string;
  total: number;
  /** The points after the step the reader last saw, in step order. */
  points: { step: number; value: number }[];
  /** More new points exist than `limit`: the reader should re-read the downsampled series instead. */
  more: boolean;
}

/**
 * What a live chart has not seen yet: for each key, the points after `after[key]` (every point of a key the reader
 * does not know yet), up to `limit` per key.
 */
export async function readTails(sql: Sql, runId: string, after: Record<string, number>, limit: number): Promise<Tail[]> {
  const keys = await seriesRows(sql, runId);
  const changed = keys.filter((k) => !(k.key in after) || k.lastStep > after[k.key]!);
  if (changed.length === 0) return [];
  const afters = changed.map((k) => after[k.key] ?? -2147483648);
  // The chunks to unnest: from the block of `after` up to the first_step of the (limit+1)-th chunk starting past
  // it. Each of those chunks starts with a new point, so they hold the limit+1 first new points, and no chunk
  // further on can hold a smaller step (a chunk's steps are all ≥ its first_step).
  const rows = await sql<{ key: string; step: number; value: number }[]>`
    select k.key, m.step, m.value
    from unnest(${changed.map((k) => k.id)}::int[], ${changed.map((k) => k.key)}::text[], ${afters}::int[],
      ${afters.map(blockStart)}::int[]) as k(id, key, after, block)
    cross join lateral (
      select p.step, p.value
      from metric_chunks c cross join lateral unnest(c.steps, c.vals) as p(step, value)
      where c.series_id = k.id and p.step > k.after and c.first_step >= k.block and c.first_step <= coalesce((
        select first_step from metric_chunks where series_id = k.id and first_step > k.after order by first_step offset ${limit} limit 1
      ), 2147483647)
      order by p.step limit ${limit + 1}
    ) m
    order by k.key, m.step`;
  const byKey = new Map<string, { step: number; value: number }[]>();
  for (const r of rows) {
    const list = byKey.get(r.key) ?? [];
    list.push({ step: r.step, value: r.value });
    byKey.set(r.key, list);
  }
  return changed.map((k) => {
    const points = byKey.get(k.key) ?? [];
    return { key: k.key, total: k.total, points: points.slice(0, limit), more: points.length > limit };
  });
}
