"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { canWrite, useMe } from "@/app/_components/Me";
import { useNow } from "@/app/_components/hooks";
import { errorText } from "@/app/_lib/errors";
import { absoluteTime, relativeTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";

export function SweepsList() {
  const trpc = useTRPC();
  const me = useMe();
  const now = useNow(5000);
  const list = useQuery({
    ...trpc.sweeps.list.queryOptions(),
    refetchInterval: (q) => (q.state.data?.some((s) => s.finished < s.runs) ? 3000 : 15_000),
  });
  return (
    <div className="stack-lg">
      <div className="page-head">
        <div>
          <h1>Sweeps</h1>
          <p className="muted">A grid over config fields launches one run per point; a sweep&apos;s page compares its runs.</p>
        </div>
        {canWrite(me) && (
          <Link className="btn primary" href="/runs/new?mode=sweep">
            New sweep
          </Link>
        )}
      </div>
      {list.error && (
        <p className="alert error" role="alert">
          {errorText(list.error)}
        </p>
      )}
      {list.data && list.data.length === 0 ? (
        <div className="empty card">
          <h2>No sweeps yet</h2>
          <p className="muted">The launch form&apos;s sweep mode takes a list of values per field, e.g. sampler × steps × t0, or seeds.</p>
        </div>
      ) : (
        <div className="card table-wrap">
          <table className="table" aria-label="Sweeps">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Grid</th>
                <th className="num">Finished</th>
                <th>Launched by</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {(list.data ?? []).map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`/sweeps/${s.id}`} className="run-link">
                      {s.name}
                    </Link>
                  </td>
                  <td>
                    <span className="kind">{s.kind}</span>
                  </td>
                  <td className="mono small">{s.grid.map((a) => `${a.field} × ${a.values.length}`).join(" · ")}</td>
                  <td className="num">
                    {s.finished} / {s.runs}
                  </td>
                  <td>{s.launchedBy ?? "—"}</td>
                  <td title={absoluteTime(s.createdAt)}>{relativeTime(s.createdAt, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
