/**
 * Report export of a dashboard: one self-contained HTML file (inline CSS, charts as inline SVG, images as
 * data: URIs, tables) that opens anywhere offline, and the same content as Markdown for the write-up.
 */
import { inArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { media } from "../db/schema";
import type { LoadedDashboard, LoadedMilestone, LoadedPanel, RunSummary } from "./dashboards";
import { escapeHtml as esc, markdownToHtml } from "./markdown";

export function formatNumber(v: unknown): string {
  if (typeof v !== "number") return v == null ? "—" : String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

const PALETTE = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563", "#65a30d", "#9333ea"];

/** A line chart of one metric for several runs, as a standalone SVG. */
export function chartSvg(series: { runName: string; points: { step: number; value: number }[] }[], metric: string): string {
  const W = 640, H = 260, L = 56, R = 12, T = 12, B = 28;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.value));
  if (!all.length) return `<p class="muted">No points of ${esc(metric)} yet.</p>`;
  const [x0, x1] = [Math.min(...all.map((p) => p.step)), Math.max(...all.map((p) => p.step))];
  const [y0, y1] = [Math.min(...all.map((p) => p.value)), Math.max(...all.map((p) => p.value))];
  const sx = (x: number) => L + ((x - x0) / (x1 - x0 || 1)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0 || 1)) * (H - T - B);
  const lines = series
    .map((s, i) => {
      const pts = s.points.filter((p) => Number.isFinite(p.value)).map((p) => `${sx(p.step).toFixed(1)},${sy(p.value).toFixed(1)}`);
      return `<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.6" points="${pts.join(" ")}"><title>${esc(s.runName)}</title></polyline>`;
    })
    .join("");
  const axis =
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#999"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#999"/>` +
    `<text x="${L - 4}" y="${T + 4}" text-anchor="end">${formatNumber(y1)}</text><text x="${L - 4}" y="${H - B}" text-anchor="end">${formatNumber(y0)}</text>` +
    `<text x="${L}" y="${H - 8}">${x0}</text><text x="${W - R}" y="${H - 8}" text-anchor="end">step ${x1}</text>`;
  const legend = series
    .map((s, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(s.runName)}</span>`)
    .join("");
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(metric)}" font-size="11" font-family="sans-serif" fill="#555">${axis}${lines}</svg><div class="legend">${legend}</div>`;
}

/** A table; cells from column `numericFrom` on are right-aligned numbers. */
function htmlTable(head: string[], rows: string[][], numericFrom: number): string {
  const cells = rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${cells}</tbody></table>`;
}

function markdownTable(head: string[], rows: string[][]): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [`| ${head.map(cell).join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}

const runsCells = (columns: string[], runs: RunSummary[]) => ({
  head: ["run", "kind", "status", ...columns],
  rows: runs.map((r) => [r.name, r.kind, r.status, ...columns.map((c) => formatNumber(r.summary[c]))]),
});

function runsTableHtml(columns: string[], runs: RunSummary[]): string {
  if (!runs.length) return `<p class="muted">No runs.</p>`;
  const { head, rows } = runsCells(columns, runs);
  return htmlTable(head, rows, 3);
}

function runsTableMarkdown(columns: string[], runs: RunSummary[]): string {
  if (!runs.length) return "_No runs._";
  const { head, rows } = runsCells(columns, runs);
  return markdownTable(head, rows);
}

type LeaderboardPanel = Extract<LoadedPanel, { type: "leaderboard" }>;

/** A leaderboard panel as plain cells: method, runs, then mean ± std per metric with the best starred. */
function leaderboardCells(p: LeaderboardPanel): { head: string[]; rows: string[][] } {
  return {
    head: ["method", "runs", ...p.columns.map((c) => `${c.label} ${c.better === "max" ? "↑" : "↓"}`)],
    rows: p.rows.map((r) => [
      `${r.method}${r.settingsText ? ` (${r.settingsText})` : ""}`,
      String(r.runs),
      ...p.columns.map((c) => {
        const m = r.metrics[c.key];
        if (!m) return "—";
        return `${formatNumber(m.mean)}${m.std !== null ? ` ± ${formatNumber(m.std)}` : ""}${p.best[c.key]?.includes(r.id) ? " ★" : ""}`;
      }),
    ]),
  };
}

function milestoneMeta(m: LoadedMilestone): string {
  return `${m.status} · owner ${m.owner ?? "—"} · due ${m.dueDate ? m.dueDate.toISOString().slice(0, 10) : "—"}`;
}

function panelHtml(p: LoadedPanel, images: Map<number, string>): string {
  switch (p.type) {
    case "runs":
      return runsTableHtml(p.columns, p.runs);
    case "chart":
      return chartSvg(p.series, p.metric);
    case "gallery":
      return p.media.length
        ? `<div class="gallery">${p.media
            .map((m) => `<figure><img alt="${esc(m.key)}" src="${images.get(m.id) ?? ""}"><figcaption>${esc(m.key)} · step ${m.step}${m.caption ? ` · ${esc(m.caption)}` : ""}</figcaption></figure>`)
            .join("")}</div>`
        : `<p class="muted">No images.</p>`;
    case "milestone": {
      const m = p.milestone;
      if (!m) return `<p class="muted">This milestone no longer exists.</p>`;
      return `<p class="muted">${esc(milestoneMeta(m))}</p>${m.notes ? `<div class="notes">${markdownToHtml(m.notes)}</div>` : ""}${runsTableHtml(m.columns, m.runs)}`;
    }
    case "leaderboard": {
      if (!p.rows.length) return `<p class="muted">No evaluations of ${esc(p.dataset)} yet.</p>`;
      const { head, rows } = leaderboardCells(p);
      return `<p class="muted">${esc(p.dataset)}</p>${htmlTable(head, rows, 1)}`;
    }
  }
}

function panelMarkdown(p: LoadedPanel): string {
  switch (p.type) {
    case "runs":
      return runsTableMarkdown(p.columns, p.runs);
    case "chart":
      return [
        `| run | last step | ${p.metric} |`,
        "| --- | --- | --- |",
        ...p.series.map((s) => {
          const last = s.points[s.points.length - 1];
          return `| ${s.runName.replace(/\|/g, "\\|")} | ${last?.step ?? "—"} | ${formatNumber(last?.value)} |`;
        }),
      ].join("\n");
    case "gallery":
      return p.media.map((m) => `- ${m.key} (step ${m.step})${m.caption ? `: ${m.caption}` : ""}`).join("\n") || "_No images._";
    case "milestone":
      return p.milestone ? `_${milestoneMeta(p.milestone)}_\n\n${p.milestone.notes ? `${p.milestone.notes}\n\n` : ""}${runsTableMarkdown(p.milestone.columns, p.milestone.runs)}` : "_This milestone no longer exists._";
    case "leaderboard": {
      if (!p.rows.length) return `_No evaluations of ${p.dataset} yet._`;
      const { head, rows } = leaderboardCells(p);
      return `_${p.dataset}_\n\n${markdownTable(head, rows)}`;
    }
  }
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;color:#1f2328;max-width:980px;margin:32px auto;padding:0 20px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.muted{color:#6b7280}table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}.gallery{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}figure img{width:192px;image-rendering:pixelated;border:1px solid #e5e7eb}figcaption{font-size:12px;color:#6b7280}
.legend span{margin-right:12px;font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
pre{background:#f6f8fa;padding:8px;overflow:auto}code{font-size:13px}`;

export async function dashboardReport(db: Database, d: LoadedDashboard, now: Date = new Date()): Promise<{ filename: string; html: string; markdown: string }> {
  const ids = d.loaded.flatMap((p) => (p.type === "gallery" ? p.media.map((m) => m.id) : []));
  const rows = ids.length ? await db.select({ id: media.id, png: media.png }).from(media).where(inArray(media.id, ids)) : [];
  const images = new Map(rows.map((r) => [r.id, `data:image/png;base64,${r.png.toString("base64")}`]));
  const date = now.toISOString().slice(0, 10);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title><style>${STYLE}</style></head>
<body><h1>${esc(d.title)}</h1><p class="muted">Crackdiff report · ${date}</p>
${d.body ? `<section>${markdownToHtml(d.body)}</section>` : ""}
${d.loaded.map((p) => `<section><h2>${esc(p.title)}</h2>${panelHtml(p, images)}</section>`).join("\n")}
</body></html>
`;
  const markdown = [`# ${d.title}`, `_Crackdiff report · ${date}_`, d.body, ...d.loaded.map((p) => `## ${p.title}\n\n${panelMarkdown(p)}`)]
    .filter(Boolean)
    .join("\n\n")
    .concat("\n");
  const slug = d.title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "dashboard";
  return { filename: `${slug}-${date}`, html, markdown };
}
