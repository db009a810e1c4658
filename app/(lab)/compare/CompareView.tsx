"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useMemo, useState } from "react";
import { CartesianGrid, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";
import { StatusBadge } from "@/app/_components/StatusBadge";
import { errorText } from "@/app/_lib/errors";
import { formatDuration, formatValue } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import { smooth } from "../runs/[id]/MetricChart";

/** One colour per compared run, in selection order. */
export const runColors = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#475569", "#ea580c", "#0d9488", "#9333ea"];

type XAxisMode = "step" | "time";

export function CompareView({ ids }: { ids: string[] }) {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.runs.compare.queryOptions({ ids }), enabled: ids.length > 0 });
  const series = useQuery({ ...trpc.runs.metrics.queryOptions({ runIds: ids, buckets: 600 }), enabled: ids.length > 0 });
  const [xMode, setXMode] = useState<XAxisMode>("step");
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);

  if (ids.length < 2) {
    return (
      <div className="empty card">
        <h1>Compare runs</h1>
        <p className="muted">
          Tick two or more runs in the <Link href="/">runs list</Link> and press Compare.
        </p>
      </div>
    );
  }
  if (runs.error) {
    return (
      <p className="alert error" role="alert">
        Could not load these runs: {errorText(runs.error)}
      </p>
    );
  }
  if (!runs.data) return <div className="skeleton block" aria-busy="true" />;
  const list = runs.data;

  return (
    <div className="stack-lg">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/">Runs</Link>
        <span aria-hidden="true">/</span>
        <span className="muted">compare</span>
      </nav>
      <div className="page-head">
        <div>
          <h1>Compare {list.length} runs</h1>
          <ul className="legend" aria-label="Runs compared">
            {list.map((r, i) => (
              <li key={r.id}>
                <span className="swatch" style={{ background: runColors[i % runColors.length] }} aria-hidden="true" />
                <Link href={`/runs/${r.id}`}>{r.name}</Link> <StatusBadge status={r.status} />
              </li>
            ))}
          </ul>
        </div>
      </div>

      <section className="section" aria-label="Curves">
        <div className="section-head">
          <h2>Curves</h2>
          <div className="chart-controls">
            <label className="field inline">
              <span>x-axis</span>
              <select value={xMode} onChange={(e) => setXMode(e.target.value as XAxisMode)} aria-label="x-axis">
                <option value="step">step</option>
                <option value="time">wall time</option>
              </select>
            </label>
            <label className="field inline">
              <span>Smoothing</span>
              <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(Number(e.target.value))} aria-label="Smoothing" />
              <span className="mono small smoothing-value">{smoothing.toFixed(2)}</span>
            </label>
            <label className="check">
              <input type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> Log scale
            </label>
          </div>
        </div>
        <Curves runs={list} series={series.data} xMode={xMode} smoothing={smoothing} logScale={logScale} loading={series.isLoading} />
      </section>

      <SummaryTable runs={list} />
      <ConfigDiff runs={list} />
      <MediaSideBySide runs={list} />
    </div>
  );
}

type CompareRun = { id: string; name: string; config: Record<string, unknown>; summary: Record<string, unknown>; startedAt: Date | null; media: { id: number; key: string; step: number; caption: string | null }[] };
type Series = { runId: string; key: string; points: { step: number; value: number; wallTime: number }[] }[];

function Curves({ runs, series, xMode, smoothing, logScale, loading }: { runs: CompareRun[]; series: Series | undefined; xMode: XAxisMode; smoothing: number; logScale: boolean; loading: boolean }) {
  const charts = useMemo(() => {
    const byKey = new Map<string, Series>();
    for (const s of series ?? []) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
    // Wall time counts from each run's start (its first point when the start is unknown).
    const origin = new Map<string, number>();
    for (const r of runs) {
      const first = Math.min(...(series ?? []).filter((s) => s.runId === r.id).flatMap((s) => s.points.map((p) => p.wallTime)));
      origin.set(r.id, r.startedAt ? new Date(r.startedAt).getTime() : first);
    }
    return [...byKey].sort(([a], [b]) => a.localeCompare(b)).map(([key, list]) => ({
      key,
      lines: runs.flatMap((r, i) => {
        const s = list.find((x) => x.runId === r.id);
        if (!s) return [];
        const y = smooth(s.points, smoothing);
        return [{ run: r, color: runColors[i % runColors.length]!, data: s.points.map((p, j) => ({ x: xMode === "step" ? p.step : (p.wallTime - origin.get(r.id)!) / 1000, y: y[j]! })) }];
      }),
    }));
  }, [runs, series, xMode, smoothing]);

  if (charts.length === 0) return <div className="card empty-inline muted">{loading ? "Loading metrics…" : "These runs logged no metrics."}</div>;
  return (
    <div className="chart-grid">
      {charts.map((c) => {
        const canLog = logScale && c.lines.every((l) => l.data.every((p) => p.y > 0));
        return (
          <figure key={c.key} className="chart card" aria-label={`Compare ${c.key}`} data-lines={c.lines.length}>
            <figcaption>
              <span className="chart-title mono">{c.key}</span>
              <span className="chart-last muted">{c.lines.length} run{c.lines.length === 1 ? "" : "s"}</span>
            </figcaption>
            <LineChart responsive style={{ width: "100%", height: 240 }} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" vertical={false} />
              <XAxis
                dataKey="x"
                type="number"
                domain={["dataMin", "dataMax"]}
                allowDuplicatedCategory={false}
                tick={{ fontSize: 11, fill: "var(--muted)" }}
                stroke="var(--border)"
                tickFormatter={(v: number) => (xMode === "step" ? String(v) : formatDuration(v * 1000))}
              />
              <YAxis scale={canLog ? "log" : "auto"} domain={["auto", "auto"]} tick={{ fontSize: 11, fill: "var(--muted)" }} tickFormatter={(v: number) => formatValue(v)} stroke="var(--border)" width={56} />
              <Tooltip
                isAnimationActive={false}
                contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 6, fontSize: 12 }}
                labelFormatter={(x) => (xMode === "step" ? `step ${x}` : formatDuration(Number(x) * 1000))}
                formatter={(v, name) => [formatValue(v as number), name]}
              />
              {c.lines.map((l) => (
                <Line
                  key={l.run.id}
                  data={l.data}
                  dataKey="y"
                  name={l.run.name}
                  type="linear"
                  stroke={l.color}
                  strokeWidth={1.8}
                  dot={l.data.length <= 24 ? { r: 2.5, strokeWidth: 0, fill: l.color } : false}
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </figure>
        );
      })}
    </div>
  );
}

function SummaryTable({ runs }: { runs: CompareRun[] }) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].sort();
  return (
    <section className="card section" aria-label="Summaries">
      <div className="section-head">
        <h2>Summaries</h2>
      </div>
      {keys.length === 0 ? (
        <p className="muted">No summaries yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table compare-table">
            <thead>
              <tr>
                <th>metric</th>
                {runs.map((r, i) => (
                  <th key={r.id} className="num">
                    <span className="swatch" style={{ background: runColors[i % runColors.length] }} aria-hidden="true" /> {r.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k}>
                  <th className="mono">{k}</th>
                  {runs.map((r) => (
                    <td key={r.id} className="mono num">
                      {formatValue(r.summary[k])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Nested config objects as dotted keys, so a diff shows exactly which leaf differs. */
export function flatten(value: unknown, prefix = ""): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { [prefix]: value };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

function ConfigDiff({ runs }: { runs: CompareRun[] }) {
  const [onlyDiffs, setOnlyDiffs] = useState(true);
  const flat = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const differs = (k: string) => new Set(flat.map((f) => JSON.stringify(f[k]))).size > 1;
  const shown = keys.filter((k) => !onlyDiffs || differs(k));
  return (
    <section className="card section" aria-label="Config diff">
      <div className="section-head">
        <h2>Config</h2>
        <label className="check">
          <input type="checkbox" checked={onlyDiffs} onChange={(e) => setOnlyDiffs(e.target.checked)} /> Only differences
        </label>
      </div>
      {shown.length === 0 ? (
        <p className="muted">The configs are identical.</p>
      ) : (
        <div className="table-wrap">
          <table className="table compare-table">
            <thead>
              <tr>
                <th>field</th>
                {runs.map((r, i) => (
                  <th key={r.id}>
                    <span className="swatch" style={{ background: runColors[i % runColors.length] }} aria-hidden="true" /> {r.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((k) => (
                <tr key={k} className={differs(k) ? "differs" : undefined}>
                  <th className="mono">{k}</th>
                  {flat.map((f, i) => (
                    <td key={runs[i]!.id} className="mono">
                      {f[k] === undefined ? <span className="muted">—</span> : typeof f[k] === "string" ? String(f[k]) : JSON.stringify(f[k])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The same media keys from every run side by side; one slider moves all of them to a step. */
function MediaSideBySide({ runs }: { runs: CompareRun[] }) {
  const keys = [...new Set(runs.flatMap((r) => r.media.map((m) => m.key)))].sort();
  const steps = [...new Set(runs.flatMap((r) => r.media.map((m) => m.step)))].sort((a, b) => a - b);
  const [index, setIndex] = useState<number | null>(null);
  if (keys.length === 0) return null;
  const i = index === null ? steps.length - 1 : Math.min(index, steps.length - 1);
  const step = steps[i]!;
  // Each run shows its latest image at or before the chosen step (its first one if it has none that early).
  const at = (r: CompareRun, key: string) => {
    const items = r.media.filter((m) => m.key === key).sort((a, b) => a.step - b.step);
    return items.filter((m) => m.step <= step).pop() ?? items[0];
  };
  return (
    <section className="section" aria-label="Images side by side">
      <div className="section-head">
        <h2>Images</h2>
        {steps.length > 1 && (
          <label className="field inline step-slider">
            <span>Step</span>
            <input
              type="range"
              min={0}
              max={steps.length - 1}
              value={i}
              onChange={(e) => setIndex(Number(e.target.value) === steps.length - 1 ? null : Number(e.target.value))}
              aria-label="Step of every image"
              aria-valuetext={`step ${step}`}
            />
            <span className="mono small">step {step}</span>
          </label>
        )}
      </div>
      {keys.map((key) => (
        <div key={key} className="compare-media" aria-label={`Images ${key}`} role="group">
          <h3 className="group-title mono">{key}</h3>
          <div className="compare-media-row" style={{ gridTemplateColumns: `repeat(${runs.length}, minmax(0, 1fr))` }}>
            {runs.map((r, ri) => {
              const m = at(r, key);
              return (
                <figure key={r.id} className="card media-card">
                  <figcaption>
                    <span className="swatch" style={{ background: runColors[ri % runColors.length] }} aria-hidden="true" />
                    <span className="small">{r.name}</span>
                    {m && <span className="muted small">step {m.step}</span>}
                  </figcaption>
                  {m ? (
                    <a href={`/api/media/${m.id}`} target="_blank" rel="noreferrer" className="media-frame">
                      <img src={`/api/media/${m.id}`} alt={`${key} of ${r.name} at step ${m.step}`} className="pixelated" style={{ width: "100%" }} />
                    </a>
                  ) : (
                    <p className="muted small">none</p>
                  )}
                  {m?.caption && <p className="caption">{m.caption}</p>}
                </figure>
              );
            })}
          </div>
        </div>
      ))}
    </section>
  );
}
