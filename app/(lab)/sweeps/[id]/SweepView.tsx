"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { StatusBadge } from "@/app/_components/StatusBadge";
import { useNow } from "@/app/_components/hooks";
import { errorText } from "@/app/_lib/errors";
import { absoluteTime, formatDuration, formatValue, isActive, keySummary, relativeTime, runDuration } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import { evaluationKinds } from "@/server/leaderboard";
import { Leaderboard } from "../../leaderboards/Leaderboard";

/** A sweep's page: its children with the values each took, live while any runs, and the leaderboard of just them. */
export function SweepView({ id }: { id: string }) {
  const trpc = useTRPC();
  const now = useNow(1000);
  const sweep = useQuery({
    ...trpc.sweeps.get.queryOptions({ id }),
    refetchInterval: (q) => (q.state.data?.children.some((c) => isActive(c.status)) ? 2000 : false),
  });
  if (sweep.error) {
    return (
      <div className="empty card">
        <h1>{sweep.error.data?.code === "NOT_FOUND" ? "Sweep not found" : "Could not load this sweep"}</h1>
        <p className="muted">{errorText(sweep.error)}</p>
      </div>
    );
  }
  if (!sweep.data) return <div className="skeleton block" aria-busy="true" />;
  const s = sweep.data;
  const counts = new Map<string, number>();
  for (const c of s.children) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const active = s.children.some((c) => isActive(c.status));
  const done = s.children.filter((c) => c.status === "finished");

  return (
    <div className="stack-lg">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/sweeps">Sweeps</Link>
        <span aria-hidden="true">/</span>
        <span className="muted">{s.kind}</span>
      </nav>
      <div className="page-head">
        <div>
          <h1>{s.name}</h1>
          <p className="muted meta-line">
            <span className="kind">{s.kind}</span> · {s.grid.map((a) => `${a.field} ∈ {${a.values.map((v) => String(v)).join(", ")}}`).join(" × ")} · launched by{" "}
            {s.launchedBy ?? "someone"} <span title={absoluteTime(s.createdAt)}>{relativeTime(s.createdAt, now)}</span>
          </p>
          <p className="sweep-progress" aria-label="Sweep progress">
            {[...counts].map(([status, n]) => (
              <span key={status} className="metric-chip">
                <StatusBadge status={status} /> {n}
              </span>
            ))}
            {active && <span className="live-note"> updating live</span>}
          </p>
        </div>
        <div className="actions">
          {done.length >= 2 && (
            <Link className="btn" href={`/compare?ids=${done.slice(0, 12).map((c) => c.id).join(",")}`}>
              Compare finished runs
            </Link>
          )}
        </div>
      </div>

      <div className="card table-wrap">
        <table className="table" aria-label="Sweep runs">
          <thead>
            <tr>
              <th>Status</th>
              {s.grid.map((a) => (
                <th key={a.field} className="mono">
                  {a.field}
                </th>
              ))}
              <th className="num">Duration</th>
              <th>Key metrics</th>
            </tr>
          </thead>
          <tbody>
            {s.children.map((c) => (
              <tr key={c.id}>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                {s.grid.map((a, i) => (
                  <td key={a.field} className="mono">
                    {i === 0 ? <Link href={`/runs/${c.id}`}>{formatValue(c.assignment[a.field])}</Link> : formatValue(c.assignment[a.field])}
                  </td>
                ))}
                <td className="num mono">{formatDuration(runDuration(c, now))}</td>
                <td>
                  <span className="metrics-cell">
                    {keySummary(c.summary, 3).map(([k, v]) => (
                      <span key={k} className="metric-chip">
                        <span className="muted">{k}</span> <span className="mono">{formatValue(v)}</span>
                      </span>
                    ))}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {(evaluationKinds as readonly string[]).includes(s.kind) && (
        <section className="section" aria-label="Sweep leaderboard">
          <div className="section-head">
            <h2>Leaderboard of this sweep</h2>
          </div>
          {done.length === 0 ? <p className="muted">Appears as its evaluation runs finish.</p> : <Leaderboard sweepId={id} refreshKey={done.length} />}
        </section>
      )}
    </div>
  );
}
