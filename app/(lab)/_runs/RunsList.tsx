"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { canWrite, useMe } from "@/app/_components/Me";
import { StatusBadge } from "@/app/_components/StatusBadge";
import { useNow } from "@/app/_components/hooks";
import { errorText } from "@/app/_lib/errors";
import { absoluteTime, formatDuration, formatValue, isActive, keySummary, relativeTime, runDuration } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import type { inferRouterInputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";

type RunsListInput = Exclude<inferRouterInputs<AppRouter>["runs"]["list"], void | undefined>;
const statuses = ["queued", "running", "finished", "failed", "killed", "crashed"] as const;
type Status = (typeof statuses)[number];
const PAGE = 50;

export function RunsList({ initial }: { initial: { status: string; kind: string; q: string } }) {
  const trpc = useTRPC();
  const me = useMe();
  const router = useRouter();
  const now = useNow(1000);
  const [status, setStatus] = useState(initial.status);
  const [kind, setKind] = useState(initial.kind);
  const [q, setQ] = useState(initial.q);
  const [search, setSearch] = useState(initial.q.trim());
  // Keyset paging: the cursors of the pages visited, so "Newer" goes back without offsets.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = cursors.length - 1;

  // Debounce the name search; keep the filters in the address bar so a view can be shared.
  useEffect(() => {
    const id = setTimeout(() => setSearch(q.trim()), 250);
    return () => clearTimeout(id);
  }, [q]);
  useEffect(() => {
    setCursors([undefined]);
    const params = new URLSearchParams();
    if (status) params.set("status", status);
    if (kind) params.set("kind", kind);
    if (search) params.set("q", search);
    const qs = params.toString();
    window.history.replaceState(null, "", qs ? `/?${qs}` : "/");
  }, [status, kind, search]);

  const kinds = useQuery(trpc.runs.kinds.queryOptions(undefined, { staleTime: Infinity }));
  const list = useQuery({
    ...trpc.runs.list.queryOptions({
      status: (status || undefined) as Status | undefined,
      kind: (kind || undefined) as RunsListInput["kind"],
      search: search || undefined,
      limit: PAGE,
      cursor: cursors[page],
    }),
    placeholderData: keepPreviousData,
    // Live while anything moves; a slow refresh otherwise, so runs others launch show up.
    refetchInterval: (query) => (query.state.data?.runs.some((r) => isActive(r.status)) ? 2000 : 15_000),
  });

  const filtered = Boolean(status || kind || search);
  const runs = list.data?.runs ?? [];
  const total = list.data?.total ?? 0;
  const activeCount = runs.filter((r) => isActive(r.status)).length;

  return (
    <div className="stack-lg">
      <div className="page-head">
        <div>
          <h1>Runs</h1>
          <p className="muted">
            {list.data ? `${total} run${total === 1 ? "" : "s"}${filtered ? " match" : ""}` : "Loading…"}
            {activeCount > 0 && <span className="live-note"> · {activeCount} active, updating live</span>}
          </p>
        </div>
        {canWrite(me) && (
          <Link className="btn primary" href="/runs/new">
            Launch run
          </Link>
        )}
      </div>

      <div className="toolbar" role="search">
        <label className="field inline grow">
          <span className="sr-only">Search runs by name</span>
          <input type="search" placeholder="Search by name…" value={q} onChange={(e) => setQ(e.target.value)} aria-label="Search runs by name" />
        </label>
        <label className="field inline">
          <span>Status</span>
          <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status">
            <option value="">All</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Kind</span>
          <select value={kind} onChange={(e) => setKind(e.target.value)} aria-label="Kind">
            <option value="">All</option>
            {(kinds.data ?? []).map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.kind}
              </option>
            ))}
          </select>
        </label>
        {filtered && (
          <button
            type="button"
            className="btn ghost small"
            onClick={() => {
              setStatus("");
              setKind("");
              setQ("");
              setSearch("");
            }}
          >
            Clear filters
          </button>
        )}
      </div>

      {list.error && (
        <p className="alert error" role="alert">
          Could not load runs: {errorText(list.error)}
        </p>
      )}

      {list.data && runs.length === 0 ? (
        <div className="empty card">
          {filtered ? (
            <>
              <h2>No runs match these filters</h2>
              <p className="muted">Try another status, kind or name.</p>
            </>
          ) : (
            <>
              <h2>No runs yet</h2>
              <p className="muted">
                {canWrite(me) ? (
                  <>
                    <Link href="/runs/new">Launch a run</Link> to get started: the <code>smoke</code> kind finishes in seconds.
                  </>
                ) : (
                  "Runs your team launches will appear here."
                )}
              </p>
            </>
          )}
        </div>
      ) : (
        <div className="card table-wrap">
          <table className="table runs-table" aria-label="Runs">
            <thead>
              <tr>
                <th>Status</th>
                <th>Name</th>
                <th>Kind</th>
                <th>Launched by</th>
                <th>Created</th>
                <th className="num">Duration</th>
                <th>Key metrics</th>
                <th>Backend</th>
              </tr>
            </thead>
            <tbody>
              {!list.data &&
                Array.from({ length: 4 }, (_, i) => (
                  <tr key={i} className="skeleton-row">
                    <td colSpan={8}>
                      <span className="skeleton" />
                    </td>
                  </tr>
                ))}
              {runs.map((run) => {
                const href = `/runs/${run.id}`;
                return (
                  <tr key={run.id} className="clickable" onClick={(e) => {
                    if ((e.target as HTMLElement).closest("a,button")) return;
                    if (e.metaKey || e.ctrlKey) window.open(href, "_blank");
                    else router.push(href);
                  }}>
                    <td>
                      <StatusBadge status={run.status} />
                    </td>
                    <td className="name-cell">
                      <Link href={href} className="run-link">
                        {run.name}
                      </Link>
                      {run.tags.length > 0 && (
                        <span className="tags">
                          {run.tags.map((t) => (
                            <span key={t} className="tag">
                              {t}
                            </span>
                          ))}
                        </span>
                      )}
                    </td>
                    <td>
                      <span className="kind">{run.kind}</span>
                    </td>
                    <td>{run.launchedBy ?? "—"}</td>
                    <td title={absoluteTime(run.createdAt)}>{relativeTime(run.createdAt, now)}</td>
                    <td className="num mono">{formatDuration(runDuration(run, now))}</td>
                    <td>
                      <span className="metrics-cell">
                        {keySummary(run.summary).map(([k, v]) => (
                          <span key={k} className="metric-chip" title={`${k} = ${String(v)}`}>
                            <span className="muted">{k}</span> <span className="mono">{formatValue(v)}</span>
                          </span>
                        ))}
                      </span>
                    </td>
                    <td className="muted">{run.backend ?? "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {total > PAGE && (
        <div className="pager">
          <button type="button" className="btn small" disabled={page === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
            ← Newer
          </button>
          <span className="muted">
            {page * PAGE + 1}–{Math.min((page + 1) * PAGE, total)} of {total}
          </span>
          <button
            type="button"
            className="btn small"
            disabled={!list.data?.nextCursor}
            onClick={() => list.data?.nextCursor && setCursors((c) => [...c, list.data.nextCursor!])}
          >
            Older →
          </button>
        </div>
      )}
    </div>
  );
}
