/** Runs: launch, list, inspect, cancel. Reading is open to every signed-in role; changes need a member. */
import { TRPCError } from "@trpc/server";
import { and, asc, desc, eq, ilike, inArray, sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import { artifacts, media, metrics, runLogs, runs, runStatusEnum, users } from "../../db/schema";
import { transaction } from "../../db/client";
import { enqueueRun } from "../../db/queue";
import { sweepCrashedRuns } from "../../db/liveness";
import { InvalidConfigError, parseRunConfig, runConfigs, runKinds, type RunKind } from "../../workers/ml/config";
import { DataRootError, resolveDatasetFolder } from "../../workers/ml/data/roots";
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
  if (input.parentId && !(await ctx.db.query.runs.findFirst({ where: eq(runs.id, input.parentId), columns: { id: true } }))) {
    throw new TRPCError({ code: "BAD_REQUEST", message: "parentId: no such run" });
  }
  const data = config.data as { folder?: unknown } | undefined;
  if (typeof data?.folder === "string") {
    try {
      await resolveDatasetFolder(data.folder);
    } catch (err) {
      if (err instanceof DataRootError) throw new TRPCError({ code: "BAD_REQUEST", message: `invalid ${input.kind} config: data.folder: ${err.message}` });
      throw err;
    }
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

/** Keeps at most `max` points of a series, evenly spaced, always including the last one. */
function downsample<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const stride = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * stride)]!);
  out.push(points[points.length - 1]!);
  return out;
}

export const runsRouter = router({
  /** Every run kind with its config's JSON Schema (defaults included), for launch forms. */
  kinds: protectedProcedure.query(() =>
    runKinds.map((kind) => ({ kind, schema: z.toJSONSchema(runConfigs[kind], { io: "input" }) })),
  ),

  list: protectedProcedure
    .input(
      z.object({
        status: z.enum(runStatusEnum.enumValues).optional(),
        kind: kindSchema.optional(),
        search: z.string().trim().max(100).optional(),
        parentId: z.string().uuid().optional(),
        limit: z.number().int().min(1).max(200).default(50),
        offset: z.number().int().min(0).default(0),
      }).default({ limit: 50, offset: 0 }),
    )
    .query(async ({ ctx, input }) => {
      await sweepCrashedRuns(ctx.sql);
      const where: SQL[] = [];
      if (input.status) where.push(eq(runs.status, input.status));
      if (input.kind) where.push(eq(runs.kind, input.kind));
      if (input.search) where.push(ilike(runs.name, `%${input.search.replace(/[%_\\]/g, "\\$&")}%`));
      if (input.parentId) where.push(eq(runs.parentId, input.parentId));
      const rows = await ctx.db
        .select({
          id: runs.id,
          kind: runs.kind,
          name: runs.name,
          status: runs.status,
          tags: runs.tags,
          summary: runs.summary,
          createdAt: runs.createdAt,
          startedAt: runs.startedAt,
          finishedAt: runs.finishedAt,
          backend: runs.backend,
          launchedBy: users.name,
          total: sql<number>`count(*) over ()::int`,
        })
        .from(runs)
        .leftJoin(users, eq(users.id, runs.launchedBy))
        .where(where.length ? and(...where) : undefined)
        .orderBy(desc(runs.createdAt))
        .limit(input.limit)
        .offset(input.offset);
      return { runs: rows.map(({ total: _, ...r }) => r), total: rows[0]?.total ?? 0 };
    }),

  get: protectedProcedure.input(runId).query(async ({ ctx, input }) => {
    const [run] = await ctx.db
      .select({ run: runs, launchedBy: users.name })
      .from(runs)
      .leftJoin(users, eq(users.id, runs.launchedBy))
      .where(eq(runs.id, input.id));
    if (!run) throw new TRPCError({ code: "NOT_FOUND", message: "no such run" });
    const [keys, mediaRows, artifactRows] = await Promise.all([
      ctx.db.selectDistinct({ key: metrics.key }).from(metrics).where(eq(metrics.runId, input.id)).orderBy(asc(metrics.key)),
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
      metricKeys: keys.map((k) => k.key),
      media: mediaRows,
      artifacts: artifactRows,
    };
  }),

  /** Metric series of a run (or several, for comparisons), each downsampled to at most maxPoints. */
  metrics: protectedProcedure
    .input(
      z.object({
        runIds: z.array(z.string().uuid()).min(1).max(20),
        keys: z.array(z.string()).max(50).optional(),
        maxPoints: z.number().int().min(10).max(5000).default(1000),
      }),
    )
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db
        .select({ runId: metrics.runId, key: metrics.key, step: metrics.step, value: metrics.value })
        .from(metrics)
        .where(and(inArray(metrics.runId, input.runIds), input.keys?.length ? inArray(metrics.key, input.keys) : undefined))
        .orderBy(asc(metrics.runId), asc(metrics.key), asc(metrics.step));
      const series = new Map<string, { runId: string; key: string; points: { step: number; value: number }[] }>();
      for (const r of rows) {
        const id = `${r.runId}\u0000${r.key}`;
        let s = series.get(id);
        if (!s) series.set(id, (s = { runId: r.runId, key: r.key, points: [] }));
        s.points.push({ step: r.step, value: r.value });
      }
      return [...series.values()].map((s) => ({ ...s, points: downsample(s.points, input.maxPoints) }));
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
