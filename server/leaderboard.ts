/**
 * Leaderboards: evaluation runs grouped by dataset and by method + settings, with mean ± std over the runs
 * that differ only in seeds. Pure functions over runs' configs and summaries, read defensively: a field may
 * sit in the summary (what the run measured) or only in its config (what it was asked), or be absent.
 */
import { toCsv } from "./csv";

/** Run kinds whose summaries are evaluations of a method on a dataset. */
export const evaluationKinds = ["heal-eval", "eval"] as const;

export const families = ["DDPM", "DDIM", "Single-step student", "Coarse-to-fine student", "AE"] as const;

export interface Column {
  key: string;
  label: string;
  better: "max" | "min";
  /** Older names of the same summary field. */
  aliases?: string[];
}

export const columns: Column[] = [
  { key: "image_auroc", label: "Image AUROC", better: "max" },
  { key: "image_ap", label: "Image AP", better: "max" },
  { key: "image_f1", label: "Image F1", better: "max" },
  { key: "pixel_auroc", label: "Pixel AUROC", better: "max" },
  { key: "pixel_ap", label: "Pixel AP", better: "max" },
  { key: "pixel_pro", label: "PRO", better: "max" },
  { key: "ms_per_image", label: "ms / image", better: "min" },
  { key: "calls_per_image", label: "calls / image", better: "min", aliases: ["net_calls_per_image"] },
  { key: "params", label: "params", better: "min" },
];

export interface EvalRun {
  id: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  summary: Record<string, unknown>;
}

export interface Stat {
  mean: number;
  /** Sample standard deviation; null with fewer than two values. */
  std: number | null;
  n: number;
}

export interface LeaderboardRow {
  /** Stable within a board: method + settings. */
  id: string;
  family: string;
  method: string;
  settings: Record<string, unknown>;
  /** The settings that tell this row apart from the board's other rows of the same method, e.g. "t0=100". */
  settingsText: string;
  runIds: string[];
  metrics: Record<string, Stat | null>;
}

export interface Leaderboard {
  dataset: string;
  columns: Column[];
  rows: LeaderboardRow[];
  /** Per column key, the ids of the rows with the best mean (all of them on a tie; none when no row has the metric). */
  best: Record<string, string[]>;
}

/**
 * Config fields that vary between repeats of one setting (seeds; the model or teacher, trained with another
 * seed), only affect cost, or are shown elsewhere (dataset, method label).
 */
const repeatFields = new Set(["seed", "batch", "hardest", "data", "split", "testFraction", "dataset", "method", "sampler", "steps"]);
const isRepeatField = (key: string) => repeatFields.has(key) || /RunId$/.test(key);
/** Method settings an evaluation may report in its summary (an `eval` run's config names only the model). */
const summarySettings = ["t0", "eta", "seeds", "residual", "smooth", "topk", "line", "background", "width", "depth", "levels", "stages", "latent", "targets"];

const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** A summary field, else the config's. */
function field(run: EvalRun, key: string): unknown {
  return run.summary[key] ?? run.config[key];
}

/**
 * The dataset an evaluation ran on and its split: the summary's name for the data, else one derived from the
 * config's data source in the engine's words ("synthetic count=400 seed=0", "folder /data/road").
 */
export function datasetOf(run: EvalRun): string {
  let source = str(run.summary.dataset);
  if (!source) {
    const data = run.config.data as { synthetic?: { count?: number; seed?: number }; folder?: string } | undefined;
    source = data?.folder ? `folder ${data.folder}` : `synthetic count=${data?.synthetic?.count ?? 400} seed=${data?.synthetic?.seed ?? 0}`;
  }
  return `${source} · ${str(field(run, "split")) ?? "test"} split`;
}

/** The method family the research plan compares. */
export function familyOf(run: EvalRun): string {
  const method = (str(field(run, "method")) ?? "").toLowerCase();
  const sampler = (str(field(run, "sampler")) ?? "").toLowerCase();
  if (/c2f|coarse/.test(method)) return "Coarse-to-fine student";
  if (/single|student/.test(method)) return "Single-step student";
  if (/^ae\b|^ae[-_]|autoenc/.test(method)) return "AE";
  if (sampler === "ddim") return "DDIM";
  if (sampler === "ddpm" || method === "ddpm") return "DDPM";
  return method || run.kind;
}

/** "DDIM-10", "DDPM-250", or the family for methods without a step count. */
export function methodOf(run: EvalRun): string {
  const family = familyOf(run);
  const steps = num(field(run, "steps"));
  return (family === "DDIM" || family === "DDPM") && steps !== undefined ? `${family}-${steps}` : family;
}

function metricOf(run: EvalRun, column: Column): number | undefined {
  for (const key of [column.key, ...(column.aliases ?? [])]) {
    const v = num(run.summary[key]);
    if (v !== undefined) return v;
  }
  return undefined;
}

export function stat(values: number[]): Stat | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: null, n: values.length };
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance), n: values.length };
}

const stable = (v: unknown): string =>
  v !== null && typeof v === "object" && !Array.isArray(v)
    ? `{${Object.keys(v)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
        .join(",")}}`
    : JSON.stringify(v);

/** Groups the runs of one dataset by method + settings; seeds and teachers are averaged over. */
export function buildLeaderboard(dataset: string, runs: EvalRun[]): Leaderboard {
  const groups = new Map<string, { family: string; method: string; settings: Record<string, unknown>; runs: EvalRun[] }>();
  for (const run of runs) {
    const settings: Record<string, unknown> = Object.fromEntries(Object.entries(run.config).filter(([k, v]) => !isRepeatField(k) && v !== undefined));
    for (const key of summarySettings) if (run.summary[key] !== undefined && run.summary[key] !== null) settings[key] = run.summary[key];
    const method = methodOf(run);
    const id = `${method} ${stable(settings)}`;
    const group = groups.get(id) ?? { family: familyOf(run), method, settings, runs: [] };
    group.runs.push(run);
    groups.set(id, group);
  }

  // A setting goes into the row's text when rows of the same method disagree on it.
  const rows: LeaderboardRow[] = [...groups].map(([id, g]) => {
    const siblings = [...groups.values()].filter((o) => o.method === g.method);
    const differing = Object.keys(g.settings)
      .sort()
      .filter((k) => siblings.some((o) => stable(o.settings[k]) !== stable(g.settings[k])));
    return {
      id,
      family: g.family,
      method: g.method,
      settings: g.settings,
      settingsText: differing.map((k) => `${k}=${typeof g.settings[k] === "object" ? JSON.stringify(g.settings[k]) : String(g.settings[k])}`).join(", "),
      runIds: g.runs.map((r) => r.id),
      metrics: Object.fromEntries(
        columns.map((c) => [c.key, stat(g.runs.map((r) => metricOf(r, c)).filter((v): v is number => v !== undefined))]),
      ),
    };
  });
  rows.sort((a, b) => familyRank(a.family) - familyRank(b.family) || a.method.localeCompare(b.method, undefined, { numeric: true }) || a.settingsText.localeCompare(b.settingsText));

  const best: Record<string, string[]> = {};
  for (const c of columns) {
    const means = rows.flatMap((r) => (r.metrics[c.key] ? [r.metrics[c.key]!.mean] : []));
    if (means.length === 0) continue;
    const top = c.better === "max" ? Math.max(...means) : Math.min(...means);
    best[c.key] = rows.filter((r) => r.metrics[c.key]?.mean === top).map((r) => r.id);
  }
  return { dataset, columns, rows, best };
}

function familyRank(family: string): number {
  const i = (families as readonly string[]).indexOf(family);
  return i < 0 ? families.length : i;
}

/** Datasets with evaluation runs, most runs first. */
export function datasetsOf(runs: EvalRun[]): { dataset: string; runs: number }[] {
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(datasetOf(run), (counts.get(datasetOf(run)) ?? 0) + 1);
  return [...counts].map(([dataset, n]) => ({ dataset, runs: n })).sort((a, b) => b.runs - a.runs || a.dataset.localeCompare(b.dataset));
}

/** The board as CSV: one line per row, mean and std per metric. */
export function leaderboardCsv(board: Leaderboard): string {
  const header = ["dataset", "family", "method", "settings", "runs", ...board.columns.flatMap((c) => [`${c.key}_mean`, `${c.key}_std`]), "run_ids"];
  const lines = board.rows.map((r) => [
    board.dataset,
    r.family,
    r.method,
    r.settingsText,
    r.runIds.length,
    ...board.columns.flatMap((c) => [r.metrics[c.key]?.mean ?? null, r.metrics[c.key]?.std ?? null]),
    r.runIds.join(" "),
  ]);
  return toCsv([header, ...lines]);
}

/** "…; neg-0012 (0.0841), neg-0007 (0.0803)": the image ids and scores a panel's caption lists, in row order. */
export function casesOf(caption: string | null): { id: string; score: number }[] {
  const list = caption?.split("; ").pop() ?? "";
  return [...list.matchAll(/([^\s,()][^,()]*?) \((-?[\d.e+-]+)\)/g)].map((m) => ({ id: m[1]!.trim(), score: Number(m[2]) }));
}
