/**
 * Dashboards: what a panel is, which runs a dashboard references, and the one loader that turns a saved
 * dashboard into everything its page shows. Signed-in pages, share links and report export all go through
 * `loadDashboard`, so a shared dashboard can never show more than its panels name.
 */
import { TRPCError } from "@trpc/server";
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { z } from "zod";
import type { Database, Sql } from "../db/client";
import { readSeries } from "../db/metrics";
import { dashboards, media, milestoneRuns, milestones, runs, users, type MilestoneStatus } from "../db/schema";
import type { Column, LeaderboardRow } from "./leaderboard";
import { loadLeaderboard } from "./routers/leaderboards";

const title = z.string().trim().max(120).optional();
const runIds = z.array(z.string().uuid()).min(1, "choose at least one run").max(20);

export const panelSchema = z.discriminatedUnion("type", [
  /** A table of the chosen runs' summaries (leaderboard-like). */
  z.object({ type: z.literal("runs"), title, runIds, keys: z.array(z.string().trim().min(1).max(80)).max(12).optional() }),
  /** One metric of the chosen runs, overlaid. */
  z.object({ type: z.literal("chart"), title, runIds: runIds.max(10), metric: z.string().trim().min(1, "choose a metric").max(80) }),
  /** The latest image of each media key of one run (heatmaps). */
  z.object({ type: z.literal("gallery"), title, runId: z.string().uuid(), keys: z.array(z.string().trim().min(1).max(80)).max(12).optional() }),
  /** A week of the research plan, with its key figure. */
  z.object({ type: z.literal("milestone"), title, milestoneId: z.string().uuid() }),
  /** A dataset's leaderboard as it stands whenever the dashboard is opened. */
  z.object({ type: z.literal("leaderboard"), title, dataset: z.string().trim().min(1, "choose a dataset").max(500) }),
]);
export type Panel = z.infer<typeof panelSchema>;

export const dashboardInput = z.object({
  title: z.string().trim().min(1, "give the dashboard a title").max(120),
  body: z.string().max(20_000).default(""),
  panels: z.array(panelSchema).max(20).default([]),
});

export interface RunSummary {
  id: string;
  name: string;
  kind: string;
  status: string;
  summary: Record<string, number | string | null>;
}

/** The metrics a key figure shows first, when the runs have them: detection, localisation, speed. */
const KEY_FIGURE_METRICS = ["image_auroc", "pixel_auroc", "ms_per_image"];

/** The summary columns of a table of runs: the chosen ones, else the key figure's, else the first numeric ones. */
export function summaryColumns(rows: RunSummary[], chosen?: string[]): string[] {
  if (chosen?.length) return chosen;
  const present = new Set(rows.flatMap((r) => Object.keys(r.summary).filter((k) => typeof r.summary[k] === "number")));
  const preferred = KEY_FIGURE_METRICS.filter((k) => present.has(k));
  return preferred.length ? preferred : [...present].sort().slice(0, 4);
}

export type LoadedPanel =
  | { type: "runs"; title: string; columns: string[]; runs: RunSummary[] }
  | { type: "chart"; title: string; metric: string; series: { runId: string; runName: string; points: { step: number; value: number }[] }[] }
  | { type: "gallery"; title: string; run: { id: string; name: string } | null; media: { id: number; key: string; step: number; caption: string | null }[] }
  | { type: "milestone"; title: string; milestone: LoadedMilestone | null }
  | { type: "leaderboard"; title: string; dataset: string; columns: Column[]; rows: BoardRow[]; best: Record<string, string[]> };

/** A leaderboard row as a dashboard shows it: how many runs it averages, not which (a share link names no other run). */
export type BoardRow = Omit<LeaderboardRow, "runIds" | "settings"> & { runs: number };

export interface LoadedMilestone {
  id: string;
  week: number;
  title: string;
  status: MilestoneStatus;
  owner: string | null;
  ownerId: string | null;
  dueDate: Date | null;
  notes: string;
  tasks: string[];
  questions: string[];
  columns: string[];
  runs: RunSummary[];
}

export interface LoadedDashboard {
  id: string;
  title: string;
  body: string;
  panels: Panel[];
  loaded: LoadedPanel[];
  updatedAt: Date;
}

/** Buckets per run in a chart panel. */
const CHART_BUCKETS = 400;

const runSummaryColumns = { id: runs.id, name: runs.name, kind: runs.kind, status: runs.status, summary: runs.summary };

async function runSummaries(db: Database, ids: string[]): Promise<Map<string, RunSummary>> {
  if (!ids.length) return new Map();
  const rows = await db.select(runSummaryColumns).from(runs).where(inArray(runs.id, ids));
  return new Map(rows.map((r) => [r.id, r]));
}

/** Milestones with their owner and linked runs (the evidence), in week order. */
export async function loadMilestones(db: Database, ids?: string[]): Promise<LoadedMilestone[]> {
  if (ids && !ids.length) return [];
  const rows = await db
    .select({ m: milestones, owner: users.name })
    .from(milestones)
    .leftJoin(users, eq(users.id, milestones.ownerId))
    .where(ids ? inArray(milestones.id, ids) : undefined)
    .orderBy(asc(milestones.week));
  const links = rows.length
    ? await db
        .select({ milestoneId: milestoneRuns.milestoneId, run: runSummaryColumns })
        .from(milestoneRuns)
        .innerJoin(runs, eq(runs.id, milestoneRuns.runId))
        .where(inArray(milestoneRuns.milestoneId, rows.map((r) => r.m.id)))
        .orderBy(asc(milestoneRuns.createdAt))
    : [];
  return rows.map(({ m, owner }) => {
    const linked = links.filter((l) => l.milestoneId === m.id).map((l) => l.run);
    return {
      id: m.id,
      week: m.week,
      title: m.title,
      status: m.status,
      owner,
      ownerId: m.ownerId,
      dueDate: m.dueDate,
      notes: m.notes,
      tasks: m.tasks,
      questions: m.questions,
      columns: summaryColumns(linked),
      runs: linked,
    };
  });
}

/** Refuses panels that name runs or milestones that do not exist, naming the panel's field. */
export async function checkPanels(db: Database, panels: Panel[]): Promise<void> {
  const runsOf = (p: Panel) => (p.type === "gallery" ? [p.runId] : p.type === "runs" || p.type === "chart" ? p.runIds : []);
  const wantedRuns = new Set(panels.flatMap(runsOf));
  const found = await runSummaries(db, [...wantedRuns]);
  const milestoneIds = panels.flatMap((p) => (p.type === "milestone" ? [p.milestoneId] : []));
  const foundMilestones = new Set(
    milestoneIds.length ? (await db.select({ id: milestones.id }).from(milestones).where(inArray(milestones.id, milestoneIds))).map((m) => m.id) : [],
  );
  panels.forEach((p, i) => {
    const missingRun = runsOf(p).find((id) => !found.has(id));
    if (missingRun) throw new TRPCError({ code: "BAD_REQUEST", message: `panels.${i}: no run with id ${missingRun}` });
    if (p.type === "milestone" && !foundMilestones.has(p.milestoneId)) {
      throw new TRPCError({ code: "BAD_REQUEST", message: `panels.${i}.milestoneId: no such milestone` });
    }
  });
}

/** The runs whose images a dashboard shows: only these may be served through one of its share links. */
export function galleryRuns(panels: Panel[]): { runId: string; keys?: string[] }[] {
  return panels.flatMap((p) => (p.type === "gallery" ? [{ runId: p.runId, keys: p.keys }] : []));
}

export function parsePanels(stored: unknown): Panel[] {
  const parsed = z.array(panelSchema).safeParse(stored);
  return parsed.success ? parsed.data : [];
}

export async function loadDashboard({ db, sql }: { db: Database; sql: Sql }, id: string): Promise<LoadedDashboard> {
  const row = await db.query.dashboards.findFirst({ where: eq(dashboards.id, id) });
  if (!row) throw new TRPCError({ code: "NOT_FOUND", message: "no such dashboard" });
  const panels = parsePanels(row.panels);
  const summaries = await runSummaries(db, [...new Set(panels.flatMap((p) => (p.type === "runs" || p.type === "chart" ? p.runIds : [])))]);
  const loaded = await Promise.all(
    panels.map(async (p): Promise<LoadedPanel> => {
      switch (p.type) {
        case "runs": {
          const rows = p.runIds.flatMap((r) => summaries.get(r) ?? []);
          return { type: "runs", title: p.title || "Runs", columns: summaryColumns(rows, p.keys), runs: rows };
        }
        case "chart": {
          // Bounded whatever the series' length: at most CHART_BUCKETS bucket means per run, from the rollups.
          const series = await Promise.all(
            p.runIds.flatMap((runId) => {
              const run = summaries.get(runId);
              if (!run) return [];
              return [
                readSeries(sql, { runId, key: p.metric, maxBuckets: CHART_BUCKETS }).then((view) => ({
                  runId,
                  runName: run.name,
                  points: (view?.points ?? []).map(({ step, value }) => ({ step, value })),
                })),
              ];
            }),
          );
          return { type: "chart", title: p.title || p.metric, metric: p.metric, series };
        }
        case "gallery": {
          const [run] = await db.select({ id: runs.id, name: runs.name }).from(runs).where(eq(runs.id, p.runId));
          const items = await db
            .selectDistinctOn([media.key], { id: media.id, key: media.key, step: media.step, caption: media.caption })
            .from(media)
            .where(and(eq(media.runId, p.runId), p.keys?.length ? inArray(media.key, p.keys) : undefined))
            .orderBy(asc(media.key), desc(media.step))
            .limit(24);
          return { type: "gallery", title: p.title || (run ? `Images of ${run.name}` : "Images"), run: run ?? null, media: items };
        }
        case "milestone": {
          const [found] = await loadMilestones(db, [p.milestoneId]);
          const milestone = found ? { ...found, ownerId: null } : null; // a share link shows the owner's name, not their id
          return { type: "milestone", title: p.title || (milestone ? `Week ${milestone.week}: ${milestone.title}` : "Milestone"), milestone };
        }
        case "leaderboard": {
          const board = await loadLeaderboard(db, { dataset: p.dataset });
          const rows = board.rows.map(({ runIds, settings: _, ...row }) => ({ ...row, runs: runIds.length }));
          return { type: "leaderboard", title: p.title || `Leaderboard: ${p.dataset}`, dataset: p.dataset, columns: board.columns, rows, best: board.best };
        }
      }
    }),
  );
  return { id: row.id, title: row.title, body: row.body, panels, loaded, updatedAt: row.updatedAt };
}
