/** Small display helpers shared by the pages. Pure functions: safe on the server and in the browser. */

export function relativeTime(date: Date | string | null | undefined, now: number = Date.now()): string {
  if (!date) return "—";
  const t = typeof date === "string" ? Date.parse(date) : date.getTime();
  const s = Math.round((now - t) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text: string;
  if (a < 5) return "just now";
  if (a < 60) text = `${a}s`;
  else if (a < 3600) text = `${Math.floor(a / 60)}m`;
  else if (a < 86400) text = `${Math.floor(a / 3600)}h`;
  else if (a < 86400 * 30) text = `${Math.floor(a / 86400)}d`;
  else return new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  return future ? `in ${text}` : `${text} ago`;
}

export function absoluteTime(date: Date | string | null | undefined): string {
  if (!date) return "";
  return new Date(date).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** "4.2s", "3m 05s", "2h 10m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "—";
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.round(s % 60)).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m`;
}

/** A run's wall time: start → end, or start → now while it runs. */
export function runDuration(
  run: { startedAt: Date | null; finishedAt: Date | null; status: string },
  now: number = Date.now(),
): number | null {
  if (!run.startedAt) return null;
  const end = run.finishedAt ? new Date(run.finishedAt).getTime() : run.status === "running" ? now : null;
  return end == null ? null : end - new Date(run.startedAt).getTime();
}

/** Metric values: 4 significant digits, exponent for very small or large ones. */
export function formatValue(v: unknown): string {
  if (typeof v !== "number") return v == null ? "—" : String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export const isActive = (status: string) => status === "queued" || status === "running";

/** The summary metrics worth a column in the runs list, best first. */
const preferredSummaryKeys = ["image_auroc", "pixel_auroc", "image_ap", "best_f1", "final_loss", "loss"];

export function keySummary(summary: Record<string, unknown> | null | undefined, max = 2): [string, unknown][] {
  if (!summary) return [];
  const entries = Object.entries(summary).filter(([, v]) => typeof v === "number");
  const picked = preferredSummaryKeys.filter((k) => typeof summary[k] === "number").map((k) => [k, summary[k]] as [string, unknown]);
  for (const e of entries) if (picked.length < max && !picked.some(([k]) => k === e[0])) picked.push(e);
  return picked.slice(0, max);
}
