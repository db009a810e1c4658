/** Leaderboards: evaluation runs ranked per dataset, method + settings as rows, mean ± std over seeds. */
import { and, eq, inArray, isNull, type SQL } from "drizzle-orm";
import { z } from "zod";
import { runs } from "../../db/schema";
import { buildLeaderboard, datasetOf, datasetsOf, evaluationKinds, leaderboardCsv, type EvalRun } from "../leaderboard";
import { protectedProcedure, router, type Context } from "../trpc";

const boardInput = z.object({
  /** A dataset as `datasets` names it; the one with the most runs when absent. */
  dataset: z.string().max(500).optional(),
  /** Only the children of this sweep. */
  sweepId: z.string().uuid().optional(),
});

/** Finished, unarchived evaluation runs (of one sweep, if given). */
async function evaluationRuns(ctx: Context, sweepId?: string): Promise<EvalRun[]> {
  const where: SQL[] = [inArray(runs.kind, [...evaluationKinds]), eq(runs.status, "finished"), isNull(runs.archivedAt)];
  if (sweepId) where.push(eq(runs.sweepId, sweepId));
  return ctx.db
    .select({ id: runs.id, name: runs.name, kind: runs.kind, config: runs.config, summary: runs.summary })
    .from(runs)
    .where(and(...where));
}

async function board(ctx: Context, input: z.infer<typeof boardInput>) {
  const all = await evaluationRuns(ctx, input.sweepId);
  const datasets = datasetsOf(all);
  const dataset = input.dataset ?? datasets[0]?.dataset ?? "";
  const points = all.filter((r) => datasetOf(r) === dataset);
  return { datasets, ...buildLeaderboard(dataset, points), runs: points.map((r) => ({ id: r.id, name: r.name })) };
}

export const leaderboardsRouter = router({
  get: protectedProcedure.input(boardInput).query(({ ctx, input }) => board(ctx, input)),

  csv: protectedProcedure.input(boardInput).query(async ({ ctx, input }) => {
    const b = await board(ctx, input);
    return { filename: `leaderboard-${b.dataset.replace(/[^\w.-]+/g, "_").replace(/^_|_$/g, "") || "empty"}.csv`, csv: leaderboardCsv(b) };
  }),
});
