"use client";
/**
 * A leaderboard's table: one row per method + settings, mean ± std per metric, the best per column starred,
 * sortable by any column. The leaderboard pages link each row's runs; a dashboard panel shows only how many.
 */
import Link from "next/link";
import { useState } from "react";
import { formatValue } from "@/app/_lib/format";

const familyColors: Record<string, string> = {
  DDPM: "#dc2626",
  DDIM: "#2563eb",
  "Single-step student": "#16a34a",
  "Coarse-to-fine student": "#7c3aed",
  AE: "#d97706",
};
export const colorOf = (family: string) => familyColors[family] ?? "#475569";

interface Stat {
  mean: number;
  std: number | null;
}

export interface BoardRow {
  id: string;
  family: string;
  method: string;
  settingsText: string;
  metrics: Record<string, Stat | null>;
  /** The runs behind the row (linked), or only their number. */
  runIds?: string[];
  runs?: number;
}

export interface Board {
  columns: { key: string; label: string; better: "max" | "min" }[];
  rows: BoardRow[];
  best: Record<string, string[]>;
}

type Sort = { key: string; dir: "asc" | "desc" };

function RunsCell({ row }: { row: BoardRow }) {
  const ids = row.runIds;
  if (!ids) return <>{row.runs ?? "—"}</>;
  return ids.length >= 2 ? (
    <Link href={`/compare?ids=${ids.slice(0, 12).join(",")}`} title="Compare these runs">
      {ids.length}
    </Link>
  ) : (
    <Link href={`/runs/${ids[0]}`}>{ids.length}</Link>
  );
}

export function LeaderboardTable({ board, label = "Leaderboard" }: { board: Board; label?: string }) {
  const [sort, setSort] = useState<Sort | null>(null);
  const rows = [...board.rows];
  if (sort) {
    const value = (r: BoardRow) => (sort.key === "method" ? null : (r.metrics[sort.key]?.mean ?? null));
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

  return (
    <div className="card table-wrap">
      <table className="table leaderboard" aria-label={label}>
        <thead>
          <tr>
            <th aria-sort={ariaSort("method")}>
              <button type="button" className="sort-button" onClick={() => clickSort("method", null)}>
                Method
              </button>
            </th>
            <th className="num">Runs</th>
            {board.columns.map((c) => (
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
                <RunsCell row={r} />
              </td>
              {board.columns.map((c) => {
                const m = r.metrics[c.key];
                const best = board.best[c.key]?.includes(r.id) ?? false;
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
  );
}
