import Link from "next/link";
import { formatValue } from "@/app/_lib/format";
import { StatusBadge } from "./StatusBadge";

export interface RunSummaryRow {
  id: string;
  name: string;
  kind: string;
  status: string;
  summary: Record<string, number | string | null>;
}

/**
 * Runs side by side on chosen summary metrics, the best of each column marked (lowest for times, highest
 * otherwise). Links to the runs only for signed-in readers; a share link cannot open them.
 */
export function RunsTable({
  runs,
  columns,
  label,
  linkRuns,
  action,
}: {
  runs: RunSummaryRow[];
  columns: string[];
  label: string;
  linkRuns: boolean;
  action?: (run: RunSummaryRow) => React.ReactNode;
}) {
  const lowerIsBetter = (c: string) => /(^ms|_ms|ms_|seconds|loss|calls|params)/.test(c);
  const best = new Map(
    columns.map((c) => {
      const values = runs.map((r) => r.summary[c]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
      return [c, values.length > 1 ? (lowerIsBetter(c) ? Math.min(...values) : Math.max(...values)) : null];
    }),
  );
  return (
    <div className="table-wrap">
      <table className="table" aria-label={label}>
        <thead>
          <tr>
            <th>Run</th>
            <th>Kind</th>
            <th>Status</th>
            {columns.map((c) => (
              <th key={c} className="num mono">
                {c}
              </th>
            ))}
            {action && <th aria-label="Actions" />}
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>{linkRuns ? <Link href={`/runs/${r.id}`}>{r.name}</Link> : r.name}</td>
              <td>
                <span className="kind">{r.kind}</span>
              </td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              {columns.map((c) => {
                const v = r.summary[c];
                const isBest = typeof v === "number" && best.get(c) === v;
                return (
                  <td key={c} className={`num mono${isBest ? " best" : ""}`} title={isBest ? "best in this column" : undefined}>
                    {formatValue(v)}
                  </td>
                );
              })}
              {action && <td className="num">{action(r)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
