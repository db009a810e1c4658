"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { CartesianGrid, Legend, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import { errorText } from "@/app/_lib/errors";
import { formatValue } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import { FailureGallery } from "./FailureGallery";

const familyColors: Record<string, string> = {
  DDPM: "#dc2626",
  DDIM: "#2563eb",
  "Single-step student": "#16a34a",
  "Coarse-to-fine student": "#7c3aed",
  AE: "#d97706",
};
const colorOf = (family: string) => familyColors[family] ?? "#475569";

type Sort = { key: string; dir: "asc" | "desc" };

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
  const [sort, setSort] = useState<Sort | null>(null);
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
  const rows = [...b.rows];
  if (sort) {
    const value = (r: (typeof rows)[number]) => (sort.key === "method" ? null : (r.metrics[sort.key]?.mean ?? null));
    rows.sort((x, y) => {
      if (sort.key === "method") return (sort.dir === "asc" ? 1 : -1) * `${x.method} ${x.settingsText}`.localeCompare(`${y.method} ${y.settingsText}`, undefined, { numeric: true });
      const [vx, vy] = [value(x), value(y)];
      if (vx === null || vy === null) return vx === null ? (vy === null ? 0 : 1) : -1; // missing values last
      return sort.dir === "asc" ? vx - vy : vy - vx;
    });
  }
  const clickSort = (key: string, better: "max" | "min" | null) =>
    setSort((old) => (old?.key === key ? { key, dir: old.dir === "asc" ? "desc" : "asc" } : { key, dir: better === "min" || better === null ? "asc" : "desc" }));
  const ariaSort = (key: string) => (sort?.key === key ? (sort.dir === "asc" ? "ascending" : "descending") : "none");
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

      <div className="card table-wrap">
        <table className="table leaderboard" aria-label="Leaderboard">
          <thead>
            <tr>
              <th aria-sort={ariaSort("method")}>
                <button type="button" className="sort-button" onClick={() => clickSort("method", null)}>
                  Method
                </button>
              </th>
              <th className="num">Runs</th>
              {b.columns.map((c) => (
                <th key={c.key} className="num" aria-sort={ariaSort(c.key)}>
                  <button type="button" className="sort-button" onClick={() => clickSort(c.key, c.better)} title={c.better === "max" ? "higher is better" : "lower is better"}>
                    {c.label} {c.better === "max" ? "↑" : "↓"}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-method={r.method}>
                <th scope="row">
                  <span className="family-dot" style={{ background: colorOf(r.family) }} aria-hidden="true" />
                  <span className="method">{r.method}</span>
                  {r.settingsText && <span className="muted small"> {r.settingsText}</span>}
                  <span className="muted small family"> · {r.family}</span>
                </th>
                <td className="num">
                  {r.runIds.length >= 2 ? (
                    <Link href={`/compare?ids=${r.runIds.slice(0, 12).join(",")}`} title="Compare these runs">
                      {r.runIds.length}
                    </Link>
                  ) : (
                    <Link href={`/runs/${r.runIds[0]}`}>{r.runIds.length}</Link>
                  )}
                </td>
                {b.columns.map((c) => {
                  const m = r.metrics[c.key];
                  const best = b.best[c.key]?.includes(r.id) ?? false;
                  return (
                    <td key={c.key} className={`num mono${best ? " best" : ""}`} data-column={c.key} data-value={m?.mean ?? ""}>
                      {m ? (
                        <>
                          {formatValue(m.mean)}
                          {m.std !== null && <span className="muted small"> ± {formatValue(m.std)}</span>}
                          {best && (
                            <span className="best-mark" title="best in this column" aria-label="best">
                              {" "}★
                            </span>
                          )}
                        </>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

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
