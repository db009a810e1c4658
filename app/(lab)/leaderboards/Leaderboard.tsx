"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { CartesianGrid, Legend, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import { colorOf, LeaderboardTable } from "@/app/_components/LeaderboardTable";
import { errorText } from "@/app/_lib/errors";
import { formatValue } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import { FailureGallery } from "./FailureGallery";

/** Ticks at 1, 2 and 5 per decade spanning the values, for a log axis (Recharts leaves one nearly bare). */
export function logTicks(values: number[]): number[] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [];
  const [lo, hi] = [Math.min(...positive), Math.max(...positive)];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      // Neighbouring ticks are at most 2.5× apart, so the first and last enclose every value.
      if (t >= lo / 2.5 && t <= hi * 2.5) ticks.push(Number(t.toPrecision(1)));
    }
  }
  return ticks;
}

/** A dataset's leaderboard (or one sweep's): a sortable table with the best per column marked, and speed vs accuracy. */
export function Leaderboard({
  initialDataset,
  sweepId,
  refreshKey,
  failures = false,
}: {
  initialDataset?: string;
  sweepId?: string;
  /** A value that changes when the board's runs do (a sweep's finished count): the board is fetched again. */
  refreshKey?: number;
  /** Show the failure gallery under the board. */
  failures?: boolean;
}) {
  const trpc = useTRPC();
  const [dataset, setDataset] = useState(initialDataset);
  const [yKey, setYKey] = useState("image_auroc");
  const board = useQuery(trpc.leaderboards.get.queryOptions({ dataset, sweepId }));
  const { refetch } = board;
  const seenKey = useRef(refreshKey);
  useEffect(() => {
    if (seenKey.current === refreshKey) return;
    seenKey.current = refreshKey;
    void refetch();
  }, [refreshKey, refetch]);

  if (board.error) {
    return (
      <p className="alert error" role="alert">
        Could not load the leaderboard: {errorText(board.error)}
      </p>
    );
  }
  if (!board.data) return <div className="skeleton block" aria-busy="true" />;
  const b = board.data;
  if (b.rows.length === 0) {
    return (
      <div className="empty card">
        <h2>No evaluations yet</h2>
        <p className="muted">
          Finished <code>heal-eval</code> (and <code>eval</code>) runs appear here, one board per dataset.
        </p>
      </div>
    );
  }

  const changeDataset = (d: string) => {
    setDataset(d);
    if (!sweepId) window.history.replaceState(null, "", `/leaderboards?dataset=${encodeURIComponent(d)}`);
  };
  const csvHref = `/api/export/leaderboard?${new URLSearchParams({ dataset: b.dataset, ...(sweepId ? { sweepId } : {}) })}`;

  const accuracyColumns = b.columns.filter((c) => c.better === "max");
  const yColumn = accuracyColumns.find((c) => c.key === yKey) ?? accuracyColumns[0]!;
  const families = [...new Set(b.rows.map((r) => r.family))];
  const xTicks = logTicks(b.rows.flatMap((r) => (r.metrics.ms_per_image ? [r.metrics.ms_per_image.mean] : [])));
  const scatter = families.map((family) => ({
    family,
    points: b.rows
      .filter((r) => r.family === family && r.metrics.ms_per_image && r.metrics[yColumn.key])
      .map((r) => ({ x: r.metrics.ms_per_image!.mean, y: r.metrics[yColumn.key]!.mean, label: `${r.method}${r.settingsText ? ` (${r.settingsText})` : ""}` })),
  }));

  return (
    <div className="stack-lg">
      <div className="toolbar">
        {b.datasets.length > 1 || !sweepId ? (
          <label className="field inline grow">
            <span>Dataset</span>
            <select value={b.dataset} onChange={(e) => changeDataset(e.target.value)} aria-label="Dataset">
              {b.datasets.map((d) => (
                <option key={d.dataset} value={d.dataset}>
                  {d.dataset} ({d.runs} run{d.runs === 1 ? "" : "s"})
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span className="muted grow">{b.dataset}</span>
        )}
        <a className="btn ghost small" href={csvHref} download>
          Download CSV
        </a>
      </div>

      <LeaderboardTable board={b} />

      <section className="card section" aria-label="Speed versus accuracy">
        <div className="section-head">
          <h2>Speed vs accuracy</h2>
          <label className="field inline">
            <span>y-axis</span>
            <select value={yColumn.key} onChange={(e) => setYKey(e.target.value)} aria-label="Accuracy metric">
              {accuracyColumns.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <ScatterChart responsive style={{ width: "100%", height: 320 }} margin={{ top: 8, right: 24, bottom: 24, left: 8 }}>
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" />
          <XAxis
            type="number"
            dataKey="x"
            name="ms / image"
            scale="log"
            domain={xTicks.length ? [xTicks[0]!, xTicks[xTicks.length - 1]!] : ["auto", "auto"]}
            ticks={xTicks.length ? xTicks : undefined}
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            tickFormatter={(v: number) => formatValue(v)}
            stroke="var(--border)"
            label={{ value: "ms / image (log) — faster is left", position: "insideBottom", offset: -12, fontSize: 12, fill: "var(--muted)" }}
          />
          <YAxis
            type="number"
            dataKey="y"
            name={yColumn.label}
            domain={["auto", "auto"]}
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            tickFormatter={(v: number) => formatValue(v)}
            stroke="var(--border)"
            width={64}
          />
          <Tooltip
            isAnimationActive={false}
            contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 6, fontSize: 12 }}
            formatter={(v, name) => [formatValue(v as number), name]}
            labelFormatter={() => ""}
          />
          <Legend verticalAlign="top" height={28} />
          {scatter.map((s) => (
            <Scatter key={s.family} name={s.family} data={s.points} fill={colorOf(s.family)} isAnimationActive={false} />
          ))}
        </ScatterChart>
      </section>

      {failures && <FailureGallery dataset={b.dataset} sweepId={sweepId} />}
    </div>
  );
}
