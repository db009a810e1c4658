"use client";
/**
 * A dashboard's text and panels, from the one loaded payload the server sends (signed in or through a share
 * link). It fetches nothing itself: images come through `mediaSrc`, which adds the share token when shared.
 */
import type { inferRouterOutputs } from "@trpc/server";
import { useMemo } from "react";
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";
import { formatValue } from "@/app/_lib/format";
import type { AppRouter } from "@/server/routers";
import { LeaderboardTable } from "./LeaderboardTable";
import { Markdown } from "./Markdown";
import { MilestoneStatusBadge } from "./MilestoneStatusBadge";
import { RunsTable } from "./RunsTable";

export type LoadedDashboard = inferRouterOutputs<AppRouter>["dashboards"]["get"];
type LoadedPanel = LoadedDashboard["loaded"][number];
type ChartPanel = Extract<LoadedPanel, { type: "chart" }>;

const PALETTE = ["#4c5fd5", "#d64545", "#1f8a4c", "#c77800", "#8a4fd6", "#1592a8", "#c23c8a", "#5b6270", "#6a9a12", "#9333ea"];

function RunsChart({ panel }: { panel: ChartPanel }) {
  const data = useMemo(() => {
    const byStep = new Map<number, Record<string, number>>();
    for (const s of panel.series) {
      for (const p of s.points) byStep.set(p.step, { ...(byStep.get(p.step) ?? { step: p.step }), [s.runId]: p.value });
    }
    return [...byStep.values()].sort((a, b) => a.step! - b.step!);
  }, [panel.series]);
  if (!data.length) return <p className="muted small">No points of {panel.metric} yet.</p>;
  return (
    <LineChart responsive style={{ width: "100%", height: 240 }} data={data} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
      <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" vertical={false} />
      <XAxis dataKey="step" type="number" domain={["dataMin", "dataMax"]} allowDecimals={false} tick={{ fontSize: 11, fill: "var(--muted)" }} stroke="var(--border)" />
      <YAxis domain={["auto", "auto"]} tick={{ fontSize: 11, fill: "var(--muted)" }} tickFormatter={(v: number) => formatValue(v)} stroke="var(--border)" width={56} />
      <Tooltip
        isAnimationActive={false}
        contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 6, fontSize: 12 }}
        labelFormatter={(step) => `step ${step}`}
        formatter={(v) => formatValue(v as number)}
      />
      <Legend wrapperStyle={{ fontSize: 12 }} />
      {panel.series.map((s, i) => (
        <Line key={s.runId} type="linear" dataKey={s.runId} name={s.runName} stroke={PALETTE[i % PALETTE.length]} strokeWidth={1.6} dot={false} connectNulls isAnimationActive={false} />
      ))}
    </LineChart>
  );
}

function PanelBody({ panel, mediaSrc, linkRuns }: { panel: LoadedPanel; mediaSrc: (id: number) => string; linkRuns: boolean }) {
  switch (panel.type) {
    case "runs":
      return panel.runs.length ? <RunsTable runs={panel.runs} columns={panel.columns} label={panel.title} linkRuns={linkRuns} /> : <p className="muted small">No runs.</p>;
    case "chart":
      return <RunsChart panel={panel} />;
    case "gallery":
      return panel.media.length ? (
        <div className="gallery">
          {panel.media.map((m) => (
            <figure key={m.id}>
              <img src={mediaSrc(m.id)} alt={`${m.key} at step ${m.step}`} className="pixelated" />
              <figcaption className="muted small">
                <span className="mono">{m.key}</span> · step {m.step}
                {m.caption ? ` · ${m.caption}` : ""}
              </figcaption>
            </figure>
          ))}
        </div>
      ) : (
        <p className="muted small">No images.</p>
      );
    case "milestone": {
      const m = panel.milestone;
      if (!m) return <p className="muted small">This milestone no longer exists.</p>;
      return (
        <div className="stack">
          <p className="muted small">
            <MilestoneStatusBadge status={m.status} /> · owner {m.owner ?? "—"} · due {m.dueDate ? new Date(m.dueDate).toLocaleDateString() : "—"}
          </p>
          {m.notes && <Markdown text={m.notes} />}
          {m.runs.length > 0 && <RunsTable runs={m.runs} columns={m.columns} label={`Week ${m.week} key figure`} linkRuns={linkRuns} />}
        </div>
      );
    }
    case "leaderboard":
      return panel.rows.length ? <LeaderboardTable board={panel} label={panel.title} /> : <p className="muted small">No evaluations of {panel.dataset} yet.</p>;
  }
}

export function DashboardView({ dashboard, mediaSrc, linkRuns }: { dashboard: LoadedDashboard; mediaSrc: (id: number) => string; linkRuns: boolean }) {
  return (
    <div className="stack-lg">
      {dashboard.body && (
        <section className="card section" aria-label="Dashboard text">
          <Markdown text={dashboard.body} />
        </section>
      )}
      <div className="panel-grid">
        {dashboard.loaded.map((panel, i) => (
          <section key={i} className={`card section panel panel-${panel.type}`} aria-label={`Panel ${panel.title}`}>
            <h2 className="panel-title">{panel.title}</h2>
            <PanelBody panel={panel} mediaSrc={mediaSrc} linkRuns={linkRuns} />
          </section>
        ))}
      </div>
    </div>
  );
}
