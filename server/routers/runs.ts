/** Runs: launch, list, inspect, cancel. Reading is open to every signed-in role; changes need a member. */
import { TRPCError } from "@trpc/server";
import { and, asc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { artifacts, media, runLogs, runs, runStatusEnum, users } from "../../db/schema";
import { transaction } from "../../db/client";
import { readSeries, readTails, seriesOf } from "../../db/metrics";
import { InvalidCursorError, listRuns } from "../../db/runs-page";
import { enqueueRun } from "../../db/queue";
import { sweepCrashedRuns } from "../../db/liveness";
import { InvalidConfigError, parseRunConfig, runConfigs, runKinds, type RunKind } from "../../workers/ml/config";
import { memberProcedure, protectedProcedure, router, type Context } from "../trpc";

const runId = z.object({ id: z.string().uuid() });
const kindSchema = z.enum(runKinds as [RunKind, ...RunKind[]]);

export const launchInput = z.object({
  kind: kindSchema,
  name: z.string().trim().max(120).optional(),
  config: z.record(z.string(), z.unknown()).default({}),
  tags: z.array(z.string().trim().min(1).max(40)).max(20).default([]),
  parentId: z.string().uuid().optional(),
});

/** Validates the config, inserts the run and enqueues its job in one transaction. */
export async function launchRun(ctx: Context & { user: { id: string } }, input: z.infer<typeof launchInput>) {
  let config: Record<string, unknown>;
  try {
    config = parseRunConfig(input.kind, input.config) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof InvalidConfigError) throw new TRPCError({ code: "BAD_REQUEST", message: err.message });
    throw err;
  }
  return transaction(ctx.sql, async (tx) => {
    const [run] = await tx.db
      .insert(runs)
      .values({
        kind: input.kind,
        name: input.name || `${input.kind}-${new Date().toISOString().slice(5, 16).replace(/[-:T]/g, "")}`,
        config,
        tags: input.tags,
        parentId: input.parentId,
        launchedBy: ctx.user.id,
      })
      .returning();
    await enqueueRun(ctx.boss, tx.sql, run!.id);
    return run!;
  });
}

export const runsRouter = router({
  /** Every run kind with its config's JSON Schema (defaults included), for launch forms. */
  kinds: protectedProcedure.query(() =>
    runKinds.map((kind) => ({ kind, schema: z.toJSONSchema(runConfigs[kind], { io: "input" }) })),
  ),

  /** One page of runs, newest first (or by a summary metric); pass the previous page's `nextCursor` for the next. */
  list: protectedProcedure
    .input(
      z.object({
        status: z.enum(runStatusEnum.enumValues).optional(),
        kind: kindSchema.optional(),
        search: z.string().trim().max(100).optional(),
        parentId: z.string().uuid().optional(),
        tag: z.string().trim().min(1).max(40).optional(),
        sort: z
          .discriminatedUnion("by", [
            z.object({ by: z.literal("created") }),
            z.object({ by: z.literal("summary"), key: z.string().min(1).max(100), dir: z.enum(["asc", "desc"]).default("desc") }),
          ])
          .default({ by: "created" }),
        limit: z.number().int().min(1).max(200).default(50),
        cursor: z.string().max(500).optional(),
      }).default({ sort: { by: "created" }, limit: 50 }),
    )
    .query(async ({ ctx, input }) => {
      await sweepCrashedRuns(ctx.sql);
      const { sort, limit, cursor, ...filter } = input;
      try {
        return await listRuns(ctx.db, { filter, sort, limit, cursor });
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new TRPCError({ code: "BAD_REQUEST", message: err.message });
        throw err;
      }
    }),

  get: protectedProcedure.input(runId).query(async ({ ctx, input }) => {
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

  /** Launches a copy of a run's kind and config (after a crash, say). */
  relaunch: memberProcedure.input(runId).mutation(async ({ ctx, input }) => {
    const source = await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.id) });
    if (!source) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    return launchRun(ctx, {
      kind: source.kind as RunKind,
      name: `${source.name} (again)`.slice(0, 120),
      config: source.config,
      tags: source.tags,
      parentId: source.parentId ?? undefined,
    });
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
