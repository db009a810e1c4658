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

export interface RunsListFilters {
  status: string;
  kind: string;
  q: string;
  tag: string;
  archived: string;
  sort: string;
  dir: string;
}

export function RunsList({ initial }: { initial: RunsListFilters }) {
  const trpc = useTRPC();
  const me = useMe();
  const router = useRouter();
  const now = useNow(1000);
  const [status, setStatus] = useState(initial.status);
  const [kind, setKind] = useState(initial.kind);
  const [q, setQ] = useState(initial.q);
  const [search, setSearch] = useState(initial.q.trim());
  const [tag, setTag] = useState(initial.tag);
  const [archived, setArchived] = useState(initial.archived === "include" || initial.archived === "only" ? initial.archived : "hide");
  const [sortBy, setSortBy] = useState(initial.sort);
  const [sortDir, setSortDir] = useState<"asc" | "desc">(initial.dir === "asc" ? "asc" : "desc");
  const [selected, setSelected] = useState<string[]>([]);
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
    if (tag) params.set("tag", tag);
    if (archived !== "hide") params.set("archived", archived);
    if (sortBy) params.set("sort", sortBy);
    if (sortBy && sortDir === "asc") params.set("dir", "asc");
    const qs = params.toString();
    window.history.replaceState(null, "", qs ? `/?${qs}` : "/");
  }, [status, kind, search, tag, archived, sortBy, sortDir]);

  const kinds = useQuery(trpc.runs.kinds.queryOptions(undefined, { staleTime: Infinity }));
  const tags = useQuery(trpc.runs.tags.queryOptions());
  const summaryKeys = useQuery(trpc.runs.summaryKeys.queryOptions());
  const list = useQuery({
    ...trpc.runs.list.queryOptions({
      status: (status || undefined) as Status | undefined,
      kind: (kind || undefined) as RunsListInput["kind"],
      search: search || undefined,
      tag: tag || undefined,
      archived: archived as RunsListInput["archived"],
      sort: sortBy ? { by: "summary", key: sortBy, dir: sortDir } : { by: "created" },
      limit: PAGE,
      cursor: cursors[page],
    }),
    placeholderData: keepPreviousData,
    // Live while anything moves; a slow refresh otherwise, so runs others launch show up.
    refetchInterval: (query) => (query.state.data?.runs.some((r) => isActive(r.status)) ? 2000 : 15_000),
  });

  const filtered = Boolean(status || kind || search || tag || archived !== "hide");
  const toggle = (id: string) => setSelected((old) => (old.includes(id) ? old.filter((x) => x !== id) : [...old, id]));
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
        <div className="actions">
          {selected.length > 0 && (
            <button type="button" className="btn ghost small" onClick={() => setSelected([])}>
              Clear selection
            </button>
          )}
          <Link
            className={`btn${selected.length >= 2 ? "" : " disabled"}`}
            href={selected.length >= 2 ? `/compare?ids=${selected.join(",")}` : "#"}
            aria-disabled={selected.length < 2}
            onClick={(e) => selected.length < 2 && e.preventDefault()}
            title={selected.length < 2 ? "Tick two or more runs to compare them" : undefined}
          >
            Compare{selected.length ? ` (${selected.length})` : ""}
          </Link>
          {canWrite(me) && (
            <Link className="btn primary" href="/runs/new">
              Launch run
            </Link>
          )}
        </div>
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
        <label className="field inline">
          <span>Tag</span>
          <select value={tag} onChange={(e) => setTag(e.target.value)} aria-label="Tag">
            <option value="">All</option>
            {(tags.data ?? []).map((t) => (
              <option key={t.tag} value={t.tag}>
                {t.tag} ({t.runs})
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>Archived</span>
          <select value={archived} onChange={(e) => setArchived(e.target.value)} aria-label="Archived">
            <option value="hide">Hidden</option>
            <option value="include">Shown</option>
            <option value="only">Only</option>
          </select>
        </label>
        <label className="field inline">
          <span>Sort</span>
          <select value={sortBy} onChange={(e) => setSortBy(e.target.value)} aria-label="Sort by">
            <option value="">Newest</option>
            {(summaryKeys.data ?? []).map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        {sortBy && (
          <button type="button" className="btn ghost small" onClick={() => setSortDir(sortDir === "desc" ? "asc" : "desc")} aria-label="Sort direction">
            {sortDir === "desc" ? "↓ high first" : "↑ low first"}
          </button>
        )}
        {filtered && (
          <button
            type="button"
            className="btn ghost small"
            onClick={() => {
              setStatus("");
              setKind("");
              setQ("");
              setSearch("");
              setTag("");
              setArchived("hide");
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
                <th className="select-cell">
                  <span className="sr-only">Select</span>
                </th>
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
                    <td colSpan={9}>
                      <span className="skeleton" />
                    </td>
                  </tr>
                ))}
              {runs.map((run) => {
                const href = `/runs/${run.id}`;
                return (
                  <tr key={run.id} className="clickable" onClick={(e) => {
                    if ((e.target as HTMLElement).closest("a,button,input,label")) return;
                    if (e.metaKey || e.ctrlKey) window.open(href, "_blank");
                    else router.push(href);
                  }}>
                    <td className="select-cell">
                      <input type="checkbox" checked={selected.includes(run.id)} onChange={() => toggle(run.id)} aria-label={`Select ${run.name}`} />
                    </td>
                    <td>
                      <StatusBadge status={run.status} />
                    </td>
                    <td className="name-cell">
                      <Link href={href} className="run-link">
                        {run.name}
                      </Link>
                      {run.archivedAt && <span className="tag archived">archived</span>}
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
                        {(sortBy && typeof run.summary[sortBy] === "number"
                          ? [[sortBy, run.summary[sortBy]] as [string, unknown], ...keySummary(run.summary).filter(([k]) => k !== sortBy).slice(0, 1)]
                          : keySummary(run.summary)
                        ).map(([k, v]) => (
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
