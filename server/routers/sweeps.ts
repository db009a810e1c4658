/**
 * Sweeps: a grid over config fields of one run kind launches one child run per grid point. Every child's
 * config is validated before anything is written; the sweep, its runs and their queue jobs commit together.
 */
import { TRPCError } from "@trpc/server";
import { asc, desc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { transaction } from "../../db/client";
import { runs, sweeps, users } from "../../db/schema";
import { runKinds, type RunKind } from "../../workers/ml/config";
import { describeAssignment, expandGrid, gridSize, maxSweepChildren } from "../sweep-grid";
import { memberProcedure, protectedProcedure, router } from "../trpc";
import { checkReferences, configRecord, insertRun, validatedConfig } from "./runs";

const gridAxis = z.object({
  field: z.string().trim().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/, "a config field name, or a dotted path like data.synthetic.seed"),
  values: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1, "give at least one value").max(maxSweepChildren),
});

export const sweepInput = z.object({
  kind: z.enum(runKinds as [RunKind, ...RunKind[]]),
  name: z.string().trim().min(1, "name the sweep").max(100),
  config: configRecord.default({}),
  grid: z
    .array(gridAxis)
    .min(1, "choose at least one field to sweep")
    .max(6)
    .refine((g) => new Set(g.map((a) => a.field)).size === g.length, "each field may appear once")
    .refine((g) => gridSize(g) <= maxSweepChildren, `at most ${maxSweepChildren} runs per sweep`),
  tags: z.array(z.string().trim().min(1).max(40)).max(20).default([]),
});

export const sweepsRouter = router({
  launch: memberProcedure.input(sweepInput).mutation(async ({ ctx, input }) => {
    const children = expandGrid(input.config, input.grid).map((point, i) => {
      const label = describeAssignment(point.assignment);
      const config = validatedConfig(input.kind, point.config, `run ${i + 1} of ${gridSize(input.grid)} (${label}): `);
      return { label, config };
    });
    for (const [i, child] of children.entries()) {
      await checkReferences(ctx.db, input.kind, child.config, `run ${i + 1} of ${children.length} (${child.label}): `);
    }
    return transaction(ctx.sql, async (tx) => {
      const [sweep] = await tx.db
        .insert(sweeps)
        .values({ name: input.name, kind: input.kind, baseConfig: input.config, grid: input.grid, tags: input.tags, launchedBy: ctx.user.id })
        .returning();
      for (const child of children) {
        await insertRun(tx, ctx.boss, {
          kind: input.kind,
          name: `${input.name} · ${child.label}`.slice(0, 200),
          config: child.config,
          tags: input.tags,
          sweepId: sweep!.id,
          launchedBy: ctx.user.id,
        });
      }
      return { ...sweep!, runs: children.length };
    });
  }),

  list: protectedProcedure.query(({ ctx }) =>
    ctx.db
      .select({
        id: sweeps.id,
        name: sweeps.name,
        kind: sweeps.kind,
        grid: sweeps.grid,
        createdAt: sweeps.createdAt,
        launchedBy: users.name,
        runs: sql<number>`(select count(*)::int from ${runs} where ${runs.sweepId} = ${sweeps.id})`,
        finished: sql<number>`(select count(*)::int from ${runs} where ${runs.sweepId} = ${sweeps.id} and ${runs.status} = 'finished')`,
      })
      .from(sweeps)
      .leftJoin(users, eq(users.id, sweeps.launchedBy))
      .orderBy(desc(sweeps.createdAt))
      .limit(200),
  ),

  /** A sweep with its children and the grid values each child took. */
  get: protectedProcedure.input(z.object({ id: z.string().uuid() })).query(async ({ ctx, input }) => {
    const [sweep] = await ctx.db
      .select({ sweep: sweeps, launchedBy: users.name })
      .from(sweeps)
      .leftJoin(users, eq(users.id, sweeps.launchedBy))
      .where(eq(sweeps.id, input.id));
    if (!sweep) throw new TRPCError({ code: "NOT_FOUND", message: "no such sweep" });
    const children = await ctx.db
      .select({
        id: runs.id,
        name: runs.name,
        status: runs.status,
        config: runs.config,
        summary: runs.summary,
        startedAt: runs.startedAt,
        finishedAt: runs.finishedAt,
      })
      .from(runs)
      .where(eq(runs.sweepId, input.id))
      .orderBy(asc(runs.createdAt), asc(runs.name));
    const valueAt = (config: Record<string, unknown>, path: string) =>
      path.split(".").reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined), config);
    // Children in grid order (they share one creation time): by the position of each value on its axis.
    const grid = sweep.sweep.grid;
    const placed = children.map((c) => {
      const assignment = Object.fromEntries(grid.map((a) => [a.field, valueAt(c.config, a.field)]));
      const rank = grid.map((a) => a.values.findIndex((v) => JSON.stringify(v) === JSON.stringify(assignment[a.field])));
      return { ...c, assignment, rank };
    });
    placed.sort((a, b) => a.rank.reduce((d, r, i) => d || r - b.rank[i]!, 0));
    return { ...sweep.sweep, launchedBy: sweep.launchedBy, children: placed.map(({ rank: _, ...c }) => c) };
  }),
});
