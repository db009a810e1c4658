/** Leaderboards: evaluation runs ranked per dataset, method + settings as rows, mean ± std over seeds. */
import { and, asc, eq, inArray, isNull, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client";
import { media, runs } from "../../db/schema";
import { buildLeaderboard, casesOf, datasetOf, datasetsOf, evaluationKinds, leaderboardCsv, methodOf, type EvalRun } from "../leaderboard";
import { protectedProcedure, router } from "../trpc";

const boardInput = z.object({
  /** A dataset as `datasets` names it; the one with the most runs when absent. */
  dataset: z.string().max(500).optional(),
  /** Only the children of this sweep. */
  sweepId: z.string().uuid().optional(),
});

/** Finished, unarchived evaluation runs (of one sweep, if given). */
export async function evaluationRuns(db: Database, sweepId?: string): Promise<EvalRun[]> {
  const where: SQL[] = [inArray(runs.kind, [...evaluationKinds]), eq(runs.status, "finished"), isNull(runs.archivedAt)];
  if (sweepId) where.push(eq(runs.sweepId, sweepId));
  return db
    .select({ id: runs.id, name: runs.name, kind: runs.kind, config: runs.config, summary: runs.summary })
    .from(runs)
    .where(and(...where));
}

/** A dataset's board (the one with the most evaluations when none is named), and every dataset there is. */
export async function loadLeaderboard(db: Database, input: { dataset?: string; sweepId?: string }) {
  const all = await evaluationRuns(db, input.sweepId);
  const datasets = datasetsOf(all);
  const dataset = input.dataset ?? datasets[0]?.dataset ?? "";
  const points = all.filter((r) => datasetOf(r) === dataset);
  return { datasets, ...buildLeaderboard(dataset, points), runs: points.map((r) => ({ id: r.id, name: r.name })) };
}

/** Media keys under which evaluations store their hardest cases (image | healed | heatmap panels). */
const failureKeys = { hardest_false_positives: "false positives", hardest_false_negatives: "false negatives" } as const;

export const leaderboardsRouter = router({
  get: protectedProcedure.input(boardInput).query(({ ctx, input }) => loadLeaderboard(ctx.db, input)),

  /** The failure gallery: each evaluation's hardest false positives and negatives, with their scores. */
  failures: protectedProcedure.input(boardInput.extend({ method: z.string().max(100).optional() })).query(async ({ ctx, input }) => {
    const all = await evaluationRuns(ctx.db, input.sweepId);
    const dataset = input.dataset ?? datasetsOf(all)[0]?.dataset ?? "";
    const inDataset = all.filter((r) => datasetOf(r) === dataset);
    const chosen = inDataset.filter((r) => !input.method || methodOf(r) === input.method);
    const panels = chosen.length
      ? await ctx.db
          .select({ id: media.id, runId: media.runId, key: media.key, caption: media.caption })
          .from(media)
          .where(and(inArray(media.runId, chosen.map((r) => r.id)), inArray(media.key, Object.keys(failureKeys))))
          .orderBy(asc(media.key))
      : [];
    return {
      dataset,
      methods: [...new Set(inDataset.map(methodOf))].sort(),
      evaluations: chosen
        .map((r) => ({
          id: r.id,
          name: r.name,
          method: methodOf(r),
          panels: panels
            .filter((p) => p.runId === r.id)
            .map((p) => ({ mediaId: p.id, kind: failureKeys[p.key as keyof typeof failureKeys], cases: casesOf(p.caption) })),
        }))
        .filter((e) => e.panels.length > 0),
    };
  }),

  csv: protectedProcedure.input(boardInput).query(async ({ ctx, input }) => {
    const b = await loadLeaderboard(ctx.db, input);
    return { filename: `leaderboard-${b.dataset.replace(/[^\w.-]+/g, "_").replace(/^_|_$/g, "") || "empty"}.csv`, csv: leaderboardCsv(b) };
  }),
});
