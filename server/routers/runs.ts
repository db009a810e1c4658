/** Runs: launch, list, inspect, cancel. Reading is open to every signed-in role; changes need a member. */
import { TRPCError } from "@trpc/server";
import { and, asc, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import { artifacts, media, metrics, runLogs, runs, runStatusEnum, users } from "../../db/schema";
import { transaction } from "../../db/client";
import { readSeries, readTails, seriesOf } from "../../db/metrics";
import { InvalidCursorError, listRuns } from "../../db/runs-page";
import { enqueueRun, requeueRun } from "../../db/queue";
import { sweepCrashedRuns } from "../../db/liveness";
import { InvalidConfigError, parseRunConfig, runConfigs, runKinds, runReferences, type RunKind } from "../../workers/ml/config";
import { DataRootError, listDatasetFolders, resolveDatasetFolder } from "../../workers/ml/data/roots";
import { toCsv } from "../csv";
import { memberProcedure, protectedProcedure, router, type Context } from "../trpc";

const runId = z.object({ id: z.string().uuid() });
const kindSchema = z.enum(runKinds as [RunKind, ...RunKind[]]);

/** Plain JSON only: what a config stored as jsonb can hold (no BigInt, Date, Map, NaN…, which the transport allows). */
function isJson(value: unknown, depth = 0): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (depth > 20 || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && Object.values(value).every((v) => isJson(v, depth + 1));
}

export const configRecord = z
  .record(z.string(), z.unknown())
  .refine((c) => isJson(c), "config: only JSON values (numbers, text, true/false, null, lists and objects)");

export const launchInput = z.object({
  kind: kindSchema,
  name: z.string().trim().max(120).optional(),
  config: configRecord.default({}),
  tags: z.array(z.string().trim().min(1).max(40)).max(20).default([]),
  parentId: z.string().uuid().optional(),
});

/** The kind's schema applied to a config (defaults filled in); a bad one is a BAD_REQUEST naming each field. */
export function validatedConfig(kind: RunKind, config: unknown, context = ""): Record<string, unknown> {
  try {
    return parseRunConfig(kind, config) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new TRPCError({ code: "BAD_REQUEST", message: `${context}${err.message}` });
    throw err;
  }
}

const configError = (kind: string, context: string, field: string, problem: string) =>
  new TRPCError({ code: "BAD_REQUEST", message: `${context}invalid ${kind} config: ${field}: ${problem}` });

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/**
 * What a config points at must be there: a folder dataset inside the data roots (refused the same whether or not an
 * outside path exists), and each run it names (a teacher, a model) a finished run of a kind with a checkpoint.
 */
export async function checkReferences(db: Context["db"], kind: string, config: Record<string, unknown>, context = ""): Promise<void> {
  const data = config.data as { folder?: unknown } | undefined;
  if (typeof data?.folder === "string") {
    try {
      await resolveDatasetFolder(data.folder);
    } catch (err) {
      if (err instanceof DataRootError) throw configError(kind, context, "data.folder", err.message);
      throw err;
    }
  }
  for (const [field, kinds] of Object.entries(runReferences)) {
    const id = config[field];
    if (typeof id !== "string") continue;
    const run = isUuid(id) ? await db.query.runs.findFirst({ where: eq(runs.id, id), columns: { kind: true, status: true } }) : undefined;
    if (!run) throw configError(kind, context, field, `no run with id ${JSON.stringify(id.slice(0, 60))}`);
    if (!kinds.includes(run.kind as RunKind)) throw configError(kind, context, field, `run ${id} is of kind ${run.kind}, not ${kinds.join(" or ")}`);
    if (run.status !== "finished") throw configError(kind, context, field, `run ${id} is ${run.status}; it must have finished (its checkpoint is read)`);
  }
}

/** Inserts a run with a validated config and enqueues its job, inside the caller's transaction. */
export async function insertRun(tx: { db: Context["db"]; sql: Context["sql"] }, boss: Context["boss"], values: typeof runs.$inferInsert) {
  const [run] = await tx.db.insert(runs).values(values).returning();
  await enqueueRun(boss, tx.sql, run!.id);
  return run!;
}

/** Validates the config, inserts the run and enqueues its job in one transaction. */
export async function launchRun(ctx: Context & { user: { id: string } }, input: z.infer<typeof launchInput>) {
  const config = validatedConfig(input.kind, input.config);
  await checkReferences(ctx.db, input.kind, config);
  if (input.parentId && !(await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.parentId), columns: { id: true } }))) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "parentId: no such run" });
  }
  return transaction(ctx.sql, (tx) =>
    insertRun(tx, ctx.boss, {
      kind: input.kind,
      name: input.name || `${input.kind}-${new Date().toISOString().slice(5, 16).replace(/[-:T]/g, "")}`,
      config,
      tags: input.tags,
      parentId: input.parentId,
      launchedBy: ctx.user.id,
    }),
  );
}

/**
 * What a failed run shows: the error's message without its stack (workers keep the stack in the run's logs).
 * Stack frames name files and lines of the server, which no viewer needs.
 */
export function visibleError(error: string | null): string | null {
  if (!error) return error;
  const message = error
    .split("\n")
    .filter((line) => !/^\s+at\s/.test(line))
    .join("\n")
    .trim();
  return message.replace(/^[A-Za-z]*Error: /, "") || "the run failed";
}

export const runsRouter = router({
  /** Every run kind with its config's JSON Schema (defaults included), for launch forms. */
  kinds: protectedProcedure.query(() =>
    runKinds.map((kind) => ({ kind, schema: z.toJSONSchema(runConfigs[kind], { io: "input" }) })),
  ),

  /**
   * What a launch form offers where a field points elsewhere: the dataset folders inside the data roots, and for
   * each field that names a run, the finished, unarchived runs it may name (newest first).
   */
  launchChoices: protectedProcedure.query(async ({ ctx }) => {
    const kinds = [...new Set(Object.values(runReferences).flat())];
    const finished = await ctx.db
      .select({ id: runs.id, name: runs.name, kind: runs.kind, createdAt: runs.createdAt })
      .from(runs)
      .where(and(eq(runs.status, "finished"), inArray(runs.kind, kinds), isNull(runs.archivedAt)))
      .orderBy(desc(runs.createdAt))
      .limit(500);
    return {
      datasets: await listDatasetFolders(),
      runs: Object.fromEntries(Object.entries(runReferences).map(([field, allowed]) => [field, finished.filter((r) => allowed.includes(r.kind as RunKind))])),
    };
  }),

  /** One page of runs, newest first (or by a summary metric); pass the previous page's `nextCursor` for the next. */
  list: protectedProcedure
    .input(
      z.object({
        status: z.enum(runStatusEnum.enumValues).optional(),
        kind: kindSchema.optional(),
        search: z.string().trim().max(100).optional(),
        parentId: z.string().uuid().optional(),
        sweepId: z.string().uuid().optional(),
        /** Archived runs are hidden unless asked for. */
        archived: z.enum(["hide", "include", "only"]).default("hide"),
        tag: z.string().trim().min(1).max(40).optional(),
        sort: z
          .discriminatedUnion("by", [
            z.object({ by: z.literal("created") }),
            z.object({ by: z.literal("summary"), key: z.string().min(1).max(100), dir: z.enum(["asc", "desc"]).default("desc") }),
          ])
          .default({ by: "created" }),
        limit: z.number().int().min(1).max(200).default(50),
        cursor: z.string().max(500).optional(),
      }).default({ sort: { by: "created" }, limit: 50, archived: "hide" }),
    )
    .query(async ({ ctx, input }) => {
      await sweepCrashedRuns(ctx.sql, ctx.boss);
      const { sort, limit, cursor, ...filter } = input;
      try {
        return await listRuns(ctx.db, { filter, sort, limit, cursor });
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new TRPCError({ code: "BAD_REQUEST", message: err.message });
        throw err;
      }
    }),

  get: protectedProcedure.input(runId).query(async ({ ctx, input }) => {
    await sweepCrashedRuns(ctx.sql, ctx.boss); // a run page open on its own must not show a dead worker's run as running
    const [run] = await ctx.db
      .select({ run: runs, launchedBy: users.name })
      .from(runs)
      .leftJoin(users, eq(users.id, runs.launchedBy))
      .where(eq(runs.id, input.id));
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    const [series, mediaRows, artifactRows] = await Promise.all([
      seriesOf(ctx.sql, input.id),
      ctx.db
        .select({ id: media.id, key: media.key, step: media.step, caption: media.caption })
        .from(media)
        .where(eq(media.runId, input.id))
        .orderBy(asc(media.key), asc(media.step)),
      ctx.db
        .select({ id: artifacts.id, name: artifacts.name, kind: artifacts.kind, size: artifacts.size, createdAt: artifacts.createdAt })
        .from(artifacts)
        .where(eq(artifacts.runId, input.id))
        .orderBy(asc(artifacts.name)),
    ]);
    return {
      ...run.run,
      error: visibleError(run.run.error),
      launchedBy: run.launchedBy,
      metricKeys: series.map((k) => k.key),
      media: mediaRows,
      artifacts: artifactRows,
    };
  }),

  /**
   * Metric series of a run (or several, for comparisons), each in at most `buckets` buckets that keep their min and
   * max; `from`/`to` (steps, inclusive) zoom in, down to the points themselves.
   */
  metrics: protectedProcedure
    .input(
      z.object({
        runIds: z.array(z.string().uuid()).min(1).max(20),
        keys: z.array(z.string()).max(50).optional(),
        buckets: z.number().int().min(10).max(5000).default(1000),
        from: z.number().int().optional(),
        to: z.number().int().optional(),
      }).refine((i) => i.from === undefined || i.to === undefined || i.from <= i.to, { message: "from must not exceed to", path: ["from"] }),
    )
    .query(async ({ ctx, input }) => {
      const wanted = await Promise.all(
        input.runIds.map(async (runId) => {
          const keys = input.keys?.length ? input.keys : (await seriesOf(ctx.sql, runId)).map((s) => s.key);
          return keys.map((key) => ({ runId, key }));
        }),
      );
      const views = await Promise.all(
        wanted.flat().map(({ runId, key }) => readSeries(ctx.sql, { runId, key, maxBuckets: input.buckets, from: input.from, to: input.to })),
      );
      return views.filter((v) => v !== null);
    }),

  /** A live chart's refresh: per key, only the points after the step it has already seen. */
  metricsAfter: protectedProcedure
    .input(
      z.object({
        runId: z.string().uuid(),
        after: z.record(z.string(), z.number().int()).default({}),
        limit: z.number().int().min(1).max(5000).default(1000),
      }),
    )
    .query(({ ctx, input }) => readTails(ctx.sql, input.runId, input.after, input.limit)),

  /** Every metric point of a run as CSV (key, step, value, wall time), for spreadsheets and notebooks. */
  metricsCsv: protectedProcedure.input(runId).query(async ({ ctx, input }) => {
    const run = await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.id), columns: { name: true } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    const rows = await ctx.db
      .select({ key: metrics.key, step: metrics.step, value: metrics.value, wallTime: metrics.wallTime })
      .from(metrics)
      .where(eq(metrics.runId, input.id))
      .orderBy(asc(metrics.key), asc(metrics.step));
    const csv = toCsv([["key", "step", "value", "wall_time"], ...rows.map((r) => [r.key, r.step, r.value, r.wallTime.toISOString()])]);
    return { filename: `${run.name.replace(/[^\w.-]+/g, "_")}-metrics.csv`, csv };
  }),

  /** Runs side by side: configs, summaries and media lists, in the order asked. */
  compare: protectedProcedure
    .input(z.object({ ids: z.array(z.string().uuid()).min(1).max(12) }))
    .query(async ({ ctx, input }) => {
      const [rows, mediaRows] = await Promise.all([
        ctx.db
          .select({
            id: runs.id,
            name: runs.name,
            kind: runs.kind,
            status: runs.status,
            config: runs.config,
            summary: runs.summary,
            tags: runs.tags,
            startedAt: runs.startedAt,
            finishedAt: runs.finishedAt,
          })
          .from(runs)
          .where(inArray(runs.id, input.ids)),
        ctx.db
          .select({ id: media.id, runId: media.runId, key: media.key, step: media.step, caption: media.caption })
          .from(media)
          .where(inArray(media.runId, input.ids))
          .orderBy(asc(media.key), asc(media.step)),
      ]);
      const missing = input.ids.filter((id) => !rows.some((r) => r.id === id));
      if (missing.length) throw new TRPCError({ code: "NOT_FOUND", message: `no such run: ${missing.join(", ")}` });
      return input.ids.map((id) => ({ ...rows.find((r) => r.id === id)!, media: mediaRows.filter((m) => m.runId === id) }));
    }),

  /** Tags in use, most used first, for the list's filter. */
  tags: protectedProcedure.query(async ({ ctx }) => {
    const rows = await ctx.sql<{ tag: string; runs: number }[]>`
      select tag, count(*)::int as runs from runs, unnest(tags) as tag group by tag order by runs desc, tag`;
    return rows.map((r) => ({ tag: r.tag, runs: r.runs }));
  }),

  /** Numeric summary fields any run reports, for sorting the list. */
  summaryKeys: protectedProcedure.query(async ({ ctx }) => {
    const rows = await ctx.sql<{ key: string }[]>`
      select distinct e.key from runs, jsonb_each(runs.summary) as e where jsonb_typeof(e.value) = 'number' order by e.key`;
    return rows.map((r) => r.key);
  }),

  logs: protectedProcedure
    .input(z.object({ id: z.string().uuid(), afterId: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(2000).default(500) }))
    .query(({ ctx, input }) =>
      ctx.db
        .select({ id: runLogs.id, at: runLogs.at, line: runLogs.line })
        .from(runLogs)
        .where(and(eq(runLogs.runId, input.id), sql`${runLogs.id} > ${input.afterId}`))
        .orderBy(asc(runLogs.id))
        .limit(input.limit),
    ),

  launch: memberProcedure.input(launchInput).mutation(({ ctx, input }) => launchRun(ctx, input)),

  /** Puts a crashed run back in the queue: its next worker continues from the last saved training state. */
  resume: memberProcedure.input(runId).mutation(async ({ ctx, input }) => {
    const why = `resumed by ${ctx.user.name ?? ctx.user.email} after the crash`;
    if (await requeueRun(ctx.boss, ctx.sql, input.id, { from: ["crashed"], why, retry: true })) return { id: input.id, status: "queued" as const };
    const run = await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.id), columns: { status: true } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    throw new TRPCError({ code: "BAD_REQUEST", message: `only a crashed run can be resumed; this one is ${run.status}` });
  }),

  /** Launches a copy of a run's kind and config (after a crash, say). */
  relaunch: memberProcedure.input(runId).mutation(async ({ ctx, input }) => {
    const source = await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.id) });
    if (!source) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    const kind = source.kind as RunKind;
    const config = validatedConfig(kind, source.config);
    // The copy stays in its sweep, so a crashed child can be rerun where the sweep's page counts it.
    return transaction(ctx.sql, (tx) =>
      insertRun(tx, ctx.boss, {
        kind,
        name: `${source.name} (again)`.slice(0, 200),
        config,
        tags: source.tags,
        parentId: source.parentId,
        sweepId: source.sweepId,
        launchedBy: ctx.user.id,
      }),
    );
  }),

  /** Tags, notes and the archive flag: the run's bookkeeping, editable at any time. */
  update: memberProcedure
    .input(
      z.object({
        id: z.string().uuid(),
        tags: z.array(z.string().trim().min(1).max(40)).max(20).optional(),
        notes: z.string().max(20_000).optional(),
        archived: z.boolean().optional(),
      }).refine((u) => u.tags || u.notes !== undefined || u.archived !== undefined, { message: "nothing to change: give tags, notes or archived" }),
    )
    .mutation(async ({ ctx, input }) => {
      const [run] = await ctx.db
        .update(runs)
        .set({
          ...(input.tags && { tags: [...new Set(input.tags)] }),
          ...(input.notes !== undefined && { notes: input.notes }),
          ...(input.archived !== undefined && { archivedAt: input.archived ? sql`coalesce(${runs.archivedAt}, now())` : null }),
        })
        .where(eq(runs.id, input.id))
        .returning({ id: runs.id, tags: runs.tags, notes: runs.notes, archivedAt: runs.archivedAt });
      if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
      return run;
    }),

  /** A queued run is killed at once; a running one is asked to stop and its worker ends it as `killed`. */
  cancel: memberProcedure.input(runId).mutation(async ({ ctx, input }) => {
    const [queued] = await ctx.db
      .update(runs)
      .set({ status: "killed", finishedAt: new Date(), cancelRequested: true })
      .where(and(eq(runs.id, input.id), eq(runs.status, "queued")))
      .returning({ id: runs.id, status: runs.status });
    if (queued) return queued;
    const [running] = await ctx.db
      .update(runs)
      .set({ cancelRequested: true })
      .where(and(eq(runs.id, input.id), eq(runs.status, "running")))
      .returning({ id: runs.id, status: runs.status });
    if (running) return running;
    const run = await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.id), columns: { status: true } });
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    throw new TRPCError({ code: "BAD_REQUEST", message: `the run is already ${run.status}` });
  }),
});
