/**
 * The platform at scale: a database of its own (created here, dropped at the end) seeded with --runs runs (10,000;
 * 40 % of them finished evaluations with summaries) and one --series-points series (1,000,000), then --loggers
 * worker processes (4), each a real DbRunLogger sending --per-logger points (250,000) over --keys keys (4), while
 * this process reads as the web server would: the runs list (first page, a deep page, filtered), the 1M-point chart
 * at --buckets buckets (1,000), and a leaderboard of the evaluations. Reports the ingest rate, sent vs stored
 * points, and p50/p95 of each read. Loopback only: DATABASE_URL's server, else a throwaway embedded one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Args, Command } from "../cli/args";
import { UsageError } from "../cli/args";
import { createDb, type Sql } from "../../db/client";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../db/embedded";
import { sweepCrashedRuns } from "../../db/liveness";
import { CHUNK_STEPS, readSeries, ROLLUP_LEVELS, writePoints, type MetricPoint } from "../../db/metrics";
import { migrateDatabase } from "../../db/migrate";
import { createBoss } from "../../db/queue";
import { listRuns, type RunsPageQuery } from "../../db/runs-page";

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Evaluations grouped by dataset and method, best mean image AUROC first, as a leaderboard page shows them. */
function leaderboard(sql: Sql) {
  return sql`
    select config -> 'data' as dataset, summary ->> 'method' as method, summary ->> 'sampler' as sampler,
      (summary ->> 'steps')::int as steps, count(*)::int as runs,
      avg((summary ->> 'image_auroc')::float8) as image_auroc, stddev_samp((summary ->> 'image_auroc')::float8) as image_auroc_std,
      max((summary ->> 'image_auroc')::float8) as best_image_auroc, avg((summary ->> 'pixel_auroc')::float8) as pixel_auroc,
      avg((summary ->> 'ms_per_image')::float8) as ms_per_image
    from runs
    where kind = 'heal-eval' and status = 'finished'
    group by 1, 2, 3, 4
    order by image_auroc desc nulls last
    limit 100`;
}

async function seedRuns(sql: Sql, count: number): Promise<void> {
  // Deterministic mix: kinds, statuses, tags, a creation every 37 s, and evaluation summaries over
  // 4 datasets × (DDIM-1/5/10/20/50, DDPM-50/250).
  await sql`
    insert into runs (kind, name, status, config, tags, created_at, started_at, finished_at, summary)
    select
      case when i % 5 < 2 then 'heal-eval' when i % 5 = 2 then 'ddpm-train' else 'smoke' end,
      'bench-' || i,
      (array['finished', 'finished', 'finished', 'failed', 'killed', 'crashed']::run_status[])[1 + (i / 5) % 6],
      case when i % 5 < 2
        then jsonb_build_object('teacherRunId', 'x', 'data', jsonb_build_object('synthetic', jsonb_build_object('count', 400, 'seed', i % 4)))
        else '{}'::jsonb end,
      array['week' || (1 + i % 7), case when i % 3 = 0 then 'sweep' else 'adhoc' end],
      timestamptz '2026-06-01' + i * interval '37 seconds',
      timestamptz '2026-06-01' + i * interval '37 seconds',
      timestamptz '2026-06-01' + i * interval '37 seconds' + interval '5 minutes',
      case when i % 5 < 2 then jsonb_build_object(
        'method', 'ddpm',
        'sampler', case when i % 7 < 5 then 'ddim' else 'ddpm' end,
        'steps', (array[1, 5, 10, 20, 50, 50, 250])[1 + i % 7],
        'image_auroc', 0.9 + ((i * 7919) % 1000) / 10000.0,
        'pixel_auroc', 0.8 + ((i * 104729) % 1000) / 6000.0,
        'ms_per_image', 10 + (i % 7) * 50)
      else jsonb_build_object('final_loss', ((i * 31) % 1000) / 1000.0) end
    from generate_series(1, ${count}) as i`;
}

/** Writes a long series through the same statement the loggers use; returns points per second. */
async function seedSeries(sql: Sql, runId: string, points: number): Promise<number> {
  const started = performance.now();
  const batch = 50_000;
  for (let at = 0; at < points; at += batch) {
    const chunk: MetricPoint[] = [];
    const wallTime = Date.now();
    for (let step = at; step < Math.min(points, at + batch); step++) {
      // A decaying loss with noise and rare spikes: the shape a chart must not flatten.
      const value = Math.exp(-step / 200_000) + 0.05 * Math.sin(step * 12.9898) + (step % 50_021 === 0 ? 5 : 0);
      chunk.push({ key: "train/loss", step, value, wallTime });
    }
    await writePoints(sql, runId, chunk);
  }
  return points / ((performance.now() - started) / 1000);
}

interface Logger {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

async function startLogger(url: string, runId: string, points: number, keys: number): Promise<Logger> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "platform-ingest.ts"), url, runId, String(points), String(keys)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== "ready") throw new Error(`an ingest worker did not start (${first.value ?? "exited"})`);
  return { child, lines };
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(samples: number[]) {
  const sorted = samples.slice().sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
  return { n: samples.length, p50_ms: round(percentile(sorted, 50)), p95_ms: round(percentile(sorted, 95)), max_ms: round(sorted.at(-1) ?? null) };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function bench(url: string, args: Args, where: string): Promise<Record<string, unknown>> {
  const runCount = args.number("runs", 10_000);
  const seriesPoints = args.number("series-points", 1_000_000);
  const loggers = args.number("loggers", 4);
  const perLogger = args.number("per-logger", 250_000);
  const keys = args.number("keys", 4);
  const buckets = args.number("buckets", 1000);
  for (const [name, v, least] of [["runs", runCount, 1], ["series-points", seriesPoints, 1], ["loggers", loggers, 1], ["per-logger", perLogger, 1], ["keys", keys, 1], ["buckets", buckets, 10]] as const) {
    if (!Number.isInteger(v) || v < least) throw new UsageError(`--${name} must be a whole number ≥ ${least}`);
  }
  const { sql, db, close } = createDb(url, { max: 4 });
  let stopLoggers = () => {};
  try {
    log(`seeding ${runCount} runs…`);
    await seedRuns(sql, runCount);
    const [longRun] = await sql<{ id: string }[]>`insert into runs (kind, name, status, config) values ('ddpm-train', 'long', 'running', '{}') returning id`;
    log(`seeding a ${seriesPoints}-point series…`);
    const seedRate = await seedSeries(sql, longRun!.id, seriesPoints);
    await sql`vacuum analyze`;

    // The ceiling on this machine right now: the in-server inserts of as many points as the loggers send, stored as
    // writePoints stores them (chunks of CHUNK_STEPS steps, and their rollup rows at every level), from rows
    // prepared beforehand: no client, no arithmetic, only the storage's own cost.
    const series = loggers * keys;
    const steps = Math.max(1, Math.floor(perLogger / keys)); // as each logger sends them
    await sql`create temp table bench_chunks (like metric_chunks including all) with (toast_tuple_target = 8160)`;
    await sql`create temp table bench_rollups (like metric_rollups including all)`;
    await sql`
      insert into bench_chunks (series_id, first_step, last_step, steps, vals, wall_time, wall_ms)
      select k, b, least(b + ${CHUNK_STEPS - 1}::int, ${steps - 1}::int), s.steps, s.vals, now(), s.ms
      from generate_series(1, ${series}::int) as k, generate_series(0, ${steps - 1}::int, ${CHUNK_STEPS}::int) as b,
        lateral (select array_agg(i) as steps, array_agg(random()) as vals, array_agg(0) as ms
          from generate_series(b, least(b + ${CHUNK_STEPS - 1}::int, ${steps - 1}::int)) as i) as s`;
    await sql`
      insert into bench_rollups (series_id, level, bucket, min, max, sum, count, last_wall_time)
      select k, level, bucket, 0, 1, 0.5, 1, now()
      from generate_series(1, ${series}::int) as k, generate_series(1, ${ROLLUP_LEVELS}::int) as level,
        generate_series(0, (${steps - 1}::int) >> (2 + 2 * level)) as bucket`;
    await sql`create table bench_ideal (like metric_chunks including all) with (toast_tuple_target = 8160)`;
    await sql`create table bench_ideal_rollups (like metric_rollups including all)`;
    const ideal = await timed(async () => {
      await sql`insert into bench_ideal select * from bench_chunks`;
      await sql`insert into bench_ideal_rollups select * from bench_rollups`;
    });
    const [idealPoints] = await sql<{ n: number }[]>`select sum(cardinality(steps))::int as n from bench_ideal`;
    await sql`drop table bench_ideal, bench_ideal_rollups, bench_chunks, bench_rollups`;

    const ingestRuns = await sql<{ id: string }[]>`
      insert into runs (kind, name, status, config) select 'ddpm-train', 'ingest-' || i, 'running', '{}' from generate_series(1, ${loggers}) as i returning id`;

    // The list's pages as a reader reaches them: the deep cursor is the one after walking 100 pages.
    const pageSize = 50;
    let deepCursor: string | undefined;
    for (let i = 0; i < Math.min(100, Math.floor(runCount / pageSize) - 1); i++) {
      deepCursor = (await listRuns(db, { limit: pageSize, cursor: deepCursor })).nextCursor ?? undefined;
    }
    const lists: Record<string, RunsPageQuery> = {
      first: { limit: pageSize },
      deep: { limit: pageSize, cursor: deepCursor },
      status: { limit: pageSize, filter: { status: "failed" } },
      kind_tag: { limit: pageSize, filter: { kind: "heal-eval", tag: "week3" } },
      by_metric: { limit: pageSize, filter: { kind: "heal-eval" }, sort: { by: "summary", key: "image_auroc", dir: "desc" } },
    };
    const reads: Record<string, () => Promise<unknown>> = {
      chart: () => readSeries(sql, { runId: longRun!.id, key: "train/loss", maxBuckets: buckets }),
      leaderboard: () => leaderboard(sql),
    };
    // As the router does: a list request also sweeps for crashed runs.
    const boss = createBoss(url);
    for (const [name, q] of Object.entries(lists)) reads[`list_${name}`] = async () => (await sweepCrashedRuns(sql, boss), listRuns(db, q));
    const chart = await readSeries(sql, { runId: longRun!.id, key: "train/loss", maxBuckets: buckets });
    const groups = (await leaderboard(sql)).length;
    for (const read of Object.values(reads)) await read(); // warm: plans cached, pages in memory

    log(`ingesting: ${loggers} worker processes × ${perLogger} points, reading meanwhile…`);
    const workers: Logger[] = [];
    stopLoggers = () => workers.forEach((w) => w.child.kill());
    for (const r of ingestRuns) workers.push(await startLogger(url, r.id, perLogger, keys));
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(reads).map((k) => [k, []]));
    const started = performance.now();
    for (const w of workers) w.child.stdin!.write("go\n");
    let ingesting = true;
    const results = Promise.all(
      workers.map(async (w) => {
        const line = await w.lines.next();
        if (line.done) throw new Error("an ingest worker exited without a result");
        return { ...(JSON.parse(line.value) as { sent: number; seconds: number }), at: performance.now() };
      }),
    ).finally(() => {
      ingesting = false;
    });
    const reading = (async () => {
      while (ingesting) for (const [name, read] of Object.entries(reads)) if (ingesting) samples[name]!.push(await timed(read));
    })();
    const done = await results;
    await reading;
    const seconds = (Math.max(...done.map((d) => d.at)) - started) / 1000;
    const sent = done.reduce((a, d) => a + d.sent, 0);
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from metrics where run_id in ${sql(ingestRuns.map((r) => r.id))}`;
    const stored = count!.n;

    const perRead = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)]));
    const listKeys = Object.keys(lists).map((k) => `list_${k}`);
    const listAll = stats(listKeys.flatMap((k) => samples[k]!));
    const worstList = Math.max(...listKeys.map((k) => perRead[k]!.p95_ms ?? 0));
    const [version] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    return {
      database: where,
      postgres: version!.v,
      runs: runCount + 1 + loggers,
      series_points: seriesPoints,
      seed_points_per_s: Math.round(seedRate),
      loggers,
      keys_per_logger: keys,
      sent_points: sent,
      stored_points: stored,
      lost_points: sent - stored,
      ingest_seconds: Math.round(seconds * 100) / 100,
      ingest_points_per_s: Math.round(sent / seconds),
      /** In-server inserts of as many points as chunks and rollups, measured just before: the machine's ceiling now. */
      ideal_insert_points_per_s: Math.round(idealPoints!.n / (ideal / 1000)),
      runs_list_p50_ms: listAll.p50_ms,
      /** The worst of the list variants' p95s. */
      runs_list_p95_ms: worstList,
      chart_buckets: chart?.points.length ?? 0,
      chart_width: chart?.width ?? null,
      chart_p50_ms: perRead.chart!.p50_ms,
      chart_p95_ms: perRead.chart!.p95_ms,
      leaderboard_groups: groups,
      leaderboard_p50_ms: perRead.leaderboard!.p50_ms,
      leaderboard_p95_ms: perRead.leaderboard!.p95_ms,
      reads: perRead,
      cpus: os.cpus().length,
      load_avg_1m: Math.round(os.loadavg()[0]! * 100) / 100,
    };
  } finally {
    stopLoggers();
    await close();
  }
}

export default (async (args) => {
  let embedded: EmbeddedDatabase | undefined;
  let admin = process.env.DATABASE_URL;
  if (!admin) {
    log("no DATABASE_URL: starting a throwaway embedded PostgreSQL…");
    embedded = await startEmbeddedPostgres({ dataDir: mkdtempSync(path.join(os.tmpdir(), "crackdiff-bench-pg-")), persistent: false });
    admin = embedded.url;
  }
  const name = `crackdiff_bench_${randomBytes(4).toString("hex")}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const server = createDb(admin, { max: 1 });
  try {
    await server.sql.unsafe(`create database ${name}`);
    await migrateDatabase(url.toString());
    return await bench(url.toString(), args, embedded ? "embedded" : "DATABASE_URL");
  } finally {
    await server.sql.unsafe(`drop database if exists ${name} with (force)`).catch((e: Error) => log(`could not drop ${name}: ${e.message}`));
    await server.close();
    await embedded?.stop();
  }
}) satisfies Command;
