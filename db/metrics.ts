/**
 * Metric series storage: raw points plus multi-resolution rollups, written together by one statement per batch,
 * so a chart of any series and range costs a bounded number of rows however long the run.
 *
 * Rollup level L (1…ROLLUP_LEVELS) covers 4^(L+1) steps per row: 16, 64, 256, … 65,536. A chart of a range R in B
 * buckets reads the coarsest level whose rows are no wider than R/B, hence at most ~4·B rows; below 16 steps per
 * bucket it reads the raw points (at most ~16·B of them).
 */
import type { Sql } from "./client";

export const ROLLUP_LEVELS = 7;
const FIRST_SHIFT = 4; // level 1: 2^4 = 16 steps per row
const LEVEL_SHIFT = 2; // each level 2^2 = 4 times wider than the one below

/** log2 of the steps per row at a level (0: the points themselves). */
function shiftOf(level: number): number {
  return level === 0 ? 0 : FIRST_SHIFT + (level - 1) * LEVEL_SHIFT;
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
  /** When the point was logged, in ms since the epoch. */
  wallTime: number;
}

/**
 * Inserts one run's points and folds them into its rollups and series rows, in one statement. A point whose
 * (key, step) is already stored is skipped and not counted again, so resending a batch (a retry after a lost
 * reply) changes nothing. `points` must not repeat a (key, step). Returns how many points were new.
 */
export async function writePoints(sql: Sql, runId: string, points: readonly MetricPoint[]): Promise<number> {
  if (points.length === 0) return 0;
  // Arrays as parameters, not values per row: the statement's size and parse time stay constant. Each array costs
  // its parsing, so keys go as indexes into the batch's distinct keys and times as whole ms after the first.
  const distinctKeys = [...new Set(points.map((p) => p.key))];
  const keyIndex = new Map(distinctKeys.map((k, i) => [k, i + 1]));
  const since = points.reduce((t, p) => Math.min(t, p.wallTime), Infinity);
  const keys = points.map((p) => keyIndex.get(p.key)!);
  const steps = points.map((p) => p.step);
  const values = points.map((p) => p.value);
  const times = points.map((p) => Math.round(p.wallTime - since));
  const input = sql`
    select ${runId}::uuid as run_id, (${distinctKeys}::text[])[k] as key, step, value,
      to_timestamp((${since}::float8 + dt) / 1000) as wall_time
    from unnest(${keys}::int[], ${steps}::int[], ${values}::float8[], ${times}::int[]) as p(k, step, value, dt)`;
  try {
    // The usual case, a batch of new points: a plain insert, twice as fast as one that checks each row for a
    // conflict. A point already stored fails the whole statement, and nothing of it is written…
    const [row] = await sql<{ n: number }[]>`
      with input as (${input}),
      inserted as (insert into metrics (run_id, key, step, value, wall_time) select * from input)
      ${foldIntoRollups(sql, runId, sql`input`)}`;
    return row!.n;
  } catch (err) {
    if ((err as { code?: string }).code !== "23505") throw err;
  }
  // …so a resent batch is written again point by point, its stored points skipped and left out of the rollups.
  const [row] = await sql<{ n: number }[]>`
    with inserted as (
      insert into metrics (run_id, key, step, value, wall_time) ${input}
      on conflict (run_id, key, step) do nothing
      returning key, step, value, wall_time
    )
    ${foldIntoRollups(sql, runId, sql`inserted`)}`;
  return row!.n;
}

/**
 * The rest of writePoints' statement: adds the points of CTE `source` to the rollups (level 1 from the points,
 * the coarser levels from level 1) and to the series rows; selects how many points there were as `n`.
 */
function foldIntoRollups(sql: Sql, runId: string, source: ReturnType<Sql>) {
  return sql`
    , level1 as (
      select key, step >> ${FIRST_SHIFT}::int as bucket, min(value) as min, max(value) as max, sum(value) as sum,
        count(*)::int as count, min(step) as first_step, max(step) as last_step, max(wall_time) as last_wall_time
      from ${source} group by 1, 2
    ), rolled as (
      select key, 1 as level, bucket, min, max, sum, count, last_wall_time from level1
      union all
      select key, level, bucket >> ((level - 1) * ${LEVEL_SHIFT}::int), min(min), max(max), sum(sum), sum(count)::int, max(last_wall_time)
      from level1, generate_series(2, ${ROLLUP_LEVELS}::int) as level
      group by 1, 2, 3
    ), rollups as (
      insert into metric_rollups as r (run_id, key, level, bucket, min, max, sum, count, last_wall_time)
      select ${runId}::uuid, key, level, bucket, min, max, sum, count, last_wall_time from rolled
      on conflict (run_id, key, level, bucket) do update set
        min = least(r.min, excluded.min), max = greatest(r.max, excluded.max),
        sum = r.sum + excluded.sum, count = r.count + excluded.count,
        last_wall_time = greatest(r.last_wall_time, excluded.last_wall_time)
    ), series as (
      insert into metric_series as s (run_id, key, count, first_step, last_step)
      select ${runId}::uuid, key, sum(count), min(first_step), max(last_step) from level1 group by key
      on conflict (run_id, key) do update set
        count = s.count + excluded.count,
        first_step = least(s.first_step, excluded.first_step), last_step = greatest(s.last_step, excluded.last_step)
    )
    select coalesce(sum(count), 0)::int as n from level1`;
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
  const [series] = await sql<{ count: number; first_step: number; last_step: number }[]>`
    select count, first_step, last_step from metric_series where run_id = ${q.runId} and key = ${q.key}`;
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
        extract(epoch from max(wall_time)) * 1000 as wall_ms
      from metrics where run_id = ${q.runId} and key = ${q.key} and step between ${from} and ${to}
      group by 1 order by 1`;
  } else {
    const shift = shiftOf(level);
    const perBucket = width >> shift; // rollup rows per chart bucket
    rows = await sql<Row[]>`
      select floor(bucket / ${perBucket}::float8)::int as b, min(min) as min, max(max) as max, sum(sum) as sum, sum(count)::int as count,
        extract(epoch from max(last_wall_time)) * 1000 as wall_ms
      from metric_rollups
      where run_id = ${q.runId} and key = ${q.key} and level = ${level} and bucket between ${from >> shift} and ${to >> shift}
      group by 1 order by 1`;
  }
  return {
    ...view,
    points: rows.map((r) => ({ step: r.b * width, min: r.min, max: r.max, value: r.sum / r.count, count: r.count, wallTime: Number(r.wall_ms) })),
  };
}

/** The keys a run has logged, with each series' size. */
export async function seriesOf(sql: Sql, runId: string): Promise<{ key: string; total: number; lastStep: number }[]> {
  const rows = await sql<{ key: string; count: number; last_step: number }[]>`
    select key, count, last_step from metric_series where run_id = ${runId} order by key`;
  return rows.map((r) => ({ key: r.key, total: r.count, lastStep: r.last_step }));
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
  const keys = await seriesOf(sql, runId);
  const changed = keys.filter((k) => !(k.key in after) || k.lastStep > after[k.key]!);
  if (changed.length === 0) return [];
  const rows = await sql<{ key: string; step: number; value: number }[]>`
    select k.key, m.step, m.value
    from unnest(${changed.map((k) => k.key)}::text[], ${changed.map((k) => after[k.key] ?? -2147483648)}::int[]) as k(key, after)
    cross join lateral (
      select step, value from metrics where run_id = ${runId} and key = k.key and step > k.after order by step limit ${limit + 1}
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
