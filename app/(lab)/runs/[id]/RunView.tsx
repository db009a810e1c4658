"use client";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { canWrite, useMe } from "@/app/_components/Me";
import { StatusBadge } from "@/app/_components/StatusBadge";
import { useNow } from "@/app/_components/hooks";
import { errorText } from "@/app/_lib/errors";
import { absoluteTime, formatBytes, formatDuration, formatValue, isActive, relativeTime, runDuration } from "@/app/_lib/format";
import { useTRPC, useTRPCClient } from "@/app/trpc";
import { LogsPanel } from "./LogsPanel";
import { MediaGallery } from "./MediaGallery";
import { MetricChart, type Point } from "./MetricChart";
import { RunNotes } from "./RunNotes";

const LIVE_MS = 1500;
/** Buckets per chart: each keeps its min and max, so no spike is lost however long the series. */
const BUCKETS = 1000;

export function RunView({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const me = useMe();
  const now = useNow(1000);

  const get = useQuery({
    ...trpc.runs.get.queryOptions({ id }),
    refetchInterval: (q) => (q.state.data && isActive(q.state.data.status) ? LIVE_MS : false),
  });
  const run = get.data;
  const live = !!run && isActive(run.status);

  const series = useLiveSeries(id, live, !!run);

  // When the run ends, fetch metrics and logs one last time: the final points land just before the status.
  const [finalTick, setFinalTick] = useState(0);
  const prevStatus = useRef<string | undefined>(undefined);
  useEffect(() => {
    const prev = prevStatus.current;
    prevStatus.current = run?.status;
    if (prev && isActive(prev) && run && !isActive(run.status)) {
      void queryClient.invalidateQueries({ queryKey: trpc.runs.metrics.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
      setFinalTick((n) => n + 1);
    }
  }, [run?.status, run, queryClient, trpc]);

  const cancel = useMutation(
    trpc.runs.cancel.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id }) }) }),
  );
  const relaunch = useMutation(trpc.runs.relaunch.mutationOptions({ onSuccess: (r) => router.push(`/runs/${r.id}`) }));
  const resume = useMutation(
    trpc.runs.resume.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id }) }) }),
  );
  const archive = useMutation(
    trpc.runs.update.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id }) }) }),
  );

  if (get.error) {
    const notFound = get.error.data?.code === "NOT_FOUND";
    return (
      <div className="empty card">
        <h1>{notFound ? "Run not found" : "Could not load this run"}</h1>
        <p className="muted">{notFound ? "It may have been deleted, or the link is wrong." : errorText(get.error)}</p>
        <Link href="/" className="btn">
          Back to runs
        </Link>
      </div>
    );
  }
  if (!run) {
    return (
      <div className="stack-lg" aria-busy="true">
        <div className="skeleton title" />
        <div className="skeleton block" />
      </div>
    );
  }

  const writable = canWrite(me);
  const terminal = !isActive(run.status);
  const summary = Object.entries(run.summary ?? {});

  return (
    <div className="stack-lg">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/">Runs</Link>
        <span aria-hidden="true">/</span>
        <span className="muted">{run.kind}</span>
      </nav>

      <div className="page-head run-head">
        <div className="run-title">
          <h1>
            {run.name} <StatusBadge status={run.status} />
            {run.archivedAt && <span className="tag archived">archived</span>}
          </h1>
          <p className="muted meta-line">
            <span className="kind">{run.kind}</span> · launched by {run.launchedBy ?? "someone"}{" "}
            <span title={absoluteTime(run.createdAt)}>{relativeTime(run.createdAt, now)}</span>
            {run.startedAt && <> · {run.status === "running" ? "running for" : "took"} {formatDuration(runDuration(run, now))}</>}
            {run.tags.length > 0 && (
              <span className="tags">
                {run.tags.map((t) => (
                  <span className="tag" key={t}>
                    {t}
                  </span>
                ))}
              </span>
            )}
          </p>
        </div>
        <div className="actions">
          {writable && live && (
            <button
              type="button"
              className="btn danger"
              disabled={cancel.isPending || run.cancelRequested}
              onClick={() => {
                if (window.confirm(`Cancel “${run.name}”? ${run.status === "running" ? "Its worker stops it at the next step." : ""}`)) cancel.mutate({ id });
              }}
            >
              {run.cancelRequested ? "Stopping…" : cancel.isPending ? "Cancelling…" : "Cancel run"}
            </button>
          )}
          {writable && run.status === "crashed" && (
            <button type="button" className="btn" disabled={resume.isPending} onClick={() => resume.mutate({ id })}
              title="Back to the queue; training continues from its last saved state">
              {resume.isPending ? "Resuming…" : "Resume"}
            </button>
          )}
          {writable && terminal && (
            <button type="button" className="btn" disabled={relaunch.isPending} onClick={() => relaunch.mutate({ id })}>
              {relaunch.isPending ? "Relaunching…" : "Relaunch"}
            </button>
          )}
          {writable && terminal && (
            <button type="button" className="btn ghost" disabled={archive.isPending} onClick={() => archive.mutate({ id, archived: !run.archivedAt })}>
              {run.archivedAt ? "Unarchive" : "Archive"}
            </button>
          )}
          {writable && (
            <Link className="btn ghost" href={`/runs/new?from=${run.id}`} title="Open the launch form with this run's settings">
              Edit &amp; launch
            </Link>
          )}
        </div>
      </div>

      {(cancel.error || relaunch.error || resume.error || archive.error) && (
        <p className="alert error" role="alert">
          {errorText(cancel.error ?? relaunch.error ?? resume.error ?? archive.error)}
        </p>
      )}
      {run.error && (run.status === "failed" || run.status === "crashed" || run.status === "killed") && (
        <div className={`alert ${run.status === "killed" ? "info" : "error"}`} role="alert" aria-label="Run error">
          <strong>{run.status === "crashed" ? "The run crashed" : run.status === "killed" ? "The run was stopped" : "The run failed"}</strong>
          <pre className="error-text">{run.error}</pre>
        </div>
      )}
      {run.status === "queued" && (
        <p className="alert info" role="status">
          Waiting for a free worker. <span className="muted">Queued {relativeTime(run.createdAt, now)}.</span>
        </p>
      )}

      <dl className="facts card" aria-label="Run details">
        <Fact label="Status">
          <StatusBadge status={run.status} />
        </Fact>
        <Fact label="Created">
          <span title={absoluteTime(run.createdAt)}>{relativeTime(run.createdAt, now)}</span>
        </Fact>
        <Fact label="Started">{run.startedAt ? <span title={absoluteTime(run.startedAt)}>{relativeTime(run.startedAt, now)}</span> : "—"}</Fact>
        <Fact label="Finished">{run.finishedAt ? <span title={absoluteTime(run.finishedAt)}>{relativeTime(run.finishedAt, now)}</span> : "—"}</Fact>
        <Fact label="Duration">
          <span className="mono">{formatDuration(runDuration(run, now))}</span>
        </Fact>
        <Fact label="Worker">
          <span className="mono small">{run.workerId ?? "—"}</span>
        </Fact>
        <Fact label="Backend">{run.backend ?? "—"}</Fact>
        <Fact label="Device">{run.device ?? "—"}</Fact>
        {run.sweepId && (
          <Fact label="Sweep">
            <Link href={`/sweeps/${run.sweepId}`}>open</Link>
          </Fact>
        )}
        {run.parentId && (
          <Fact label="Parent">
            <Link href={`/runs/${run.parentId}`}>open</Link>
          </Fact>
        )}
      </dl>

      <Charts runId={id} keys={run.metricKeys} series={series.data} loading={series.loading} live={live} csvHref={`/api/export/run-metrics/${run.id}`} />

      {run.media.length > 0 && (
        <section className="section" aria-label="Media">
          <div className="section-head">
            <h2>Media</h2>
            <span className="muted small">{run.media.length} image{run.media.length === 1 ? "" : "s"}</span>
          </div>
          <MediaGallery media={run.media} />
        </section>
      )}

      <RunNotes run={run} writable={writable} />

      <div className="grid-2 align-start">
        <section className="card section" aria-label="Summary">
          <div className="section-head">
            <h2>Summary</h2>
          </div>
          {summary.length === 0 ? (
            <p className="muted">{live ? "Written when the run ends." : "No summary metrics."}</p>
          ) : (
            <table className="table kv">
              <tbody>
                {summary.map(([k, v]) => (
                  <tr key={k}>
                    <th className="mono">{k}</th>
                    <td className="mono num">{formatValue(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="card section" aria-label="Config">
          <div className="section-head">
            <h2>Config</h2>
            <CopyButton text={JSON.stringify(run.config, null, 2)} label="Copy config" />
          </div>
          <pre className="code">{JSON.stringify(run.config, null, 2)}</pre>
        </section>
      </div>

      {run.artifacts.length > 0 && (
        <section className="card section" aria-label="Artifacts">
          <div className="section-head">
            <h2>Artifacts</h2>
          </div>
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th className="num">Size</th>
                <th>Saved</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {run.artifacts.map((a) => (
                <tr key={a.id}>
                  <td className="mono">{a.name}</td>
                  <td>{a.kind}</td>
                  <td className="num">{formatBytes(a.size)}</td>
                  <td title={absoluteTime(a.createdAt)}>{relativeTime(a.createdAt, now)}</td>
                  <td className="num">
                    <a href={`/api/artifacts/${a.id}`} download className="btn small">
                      Download
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      <LogsPanel runId={id} live={live} finalTick={finalTick} />
    </div>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd title={typeof children === "string" ? children : undefined}>{children}</dd>
    </div>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn ghost small"
      onClick={() =>
        void navigator.clipboard?.writeText(text).then(() => {
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        })
      }
    >
      {done ? "Copied" : label}
    </button>
  );
}

type Series = { key: string; total: number; points: Point[] }[];

/**
 * A run's series for its charts: one downsampled read, then, while the run is live, only the points after the last
 * one seen. Once the appended tail outgrows the downsampled part the series is read downsampled again.
 */
function useLiveSeries(runId: string, live: boolean, enabled: boolean): { data: Series | undefined; loading: boolean } {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const overview = useQuery({ ...trpc.runs.metrics.queryOptions({ runIds: [runId], buckets: BUCKETS }), enabled });
  const [tails, setTails] = useState<Record<string, { total: number; points: Point[] }>>({});
  const tailsRef = useRef(tails);
  tailsRef.current = tails;
  useEffect(() => setTails({}), [overview.data]);

  const base = overview.data;
  const refetch = overview.refetch;
  useEffect(() => {
    if (!live || !base) return;
    let stopped = false;
    const tick = async () => {
      const after: Record<string, number> = {};
      for (const s of base) after[s.key] = s.lastStep;
      for (const [key, t] of Object.entries(tailsRef.current)) {
        const lastStep = t.points[t.points.length - 1]?.step;
        if (lastStep !== undefined) after[key] = Math.max(after[key] ?? lastStep, lastStep);
      }
      const news = await client.runs.metricsAfter.query({ runId, after, limit: BUCKETS }).catch(() => null);
      if (stopped || !news?.length) return;
      const grown = news.some((t) => t.more || (tailsRef.current[t.key]?.points.length ?? 0) + t.points.length > BUCKETS);
      if (grown) return void refetch();
      setTails((prev) => {
        const next = { ...prev };
        for (const t of news) next[t.key] = { total: t.total, points: [...(prev[t.key]?.points ?? []), ...t.points] };
        return next;
      });
    };
    const timer = setInterval(() => void tick(), LIVE_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [live, base, refetch, client, runId]);

  const data = useMemo(() => {
    if (!base) return undefined;
    const out = new Map<string, Series[number]>(base.map((s) => [s.key, { key: s.key, total: s.total, points: s.points }]));
    for (const [key, t] of Object.entries(tails)) {
      const s = out.get(key);
      out.set(key, { key, total: Math.max(t.total, s?.total ?? 0), points: [...(s?.points ?? []), ...t.points] });
    }
    return [...out.values()];
  }, [base, tails]);
  return { data, loading: overview.isLoading };
}

/** One chart per metric key, grouped by prefix ("train/", "eval/"), with shared smoothing and log-scale controls. */
function Charts({ runId, keys, series, loading, live, csvHref }: { runId: string; keys: string[]; series: Series | undefined; loading: boolean; live: boolean; csvHref: string }) {
  const [smoothing, setSmoothing] = useState(0);
  const [logScale, setLogScale] = useState(false);
  const groups = useMemo(() => {
    const byKey = new Map((series ?? []).map((s) => [s.key, s]));
    const allKeys = [...new Set([...keys, ...byKey.keys()])].sort();
    const out = new Map<string, { key: string; total: number; points: Point[] }[]>();
    for (const key of allKeys) {
      const slash = key.lastIndexOf("/");
      const group = slash > 0 ? key.slice(0, slash) : "metrics";
      const list = out.get(group) ?? [];
      list.push(byKey.get(key) ?? { key, total: 0, points: [] });
      out.set(group, list);
    }
    return [...out];
  }, [keys, series]);

  return (
    <section className="section" aria-label="Metrics">
      <div className="section-head">
        <h2>Metrics</h2>
        {groups.length > 0 && (
          <div className="chart-controls">
            <label className="field inline">
              <span>Smoothing</span>
              <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(Number(e.target.value))} aria-label="Smoothing" />
              <span className="mono small smoothing-value">{smoothing.toFixed(2)}</span>
            </label>
            <label className="check">
              <input type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> Log scale
            </label>
            <a className="btn ghost small" href={csvHref} download>
              Download CSV
            </a>
          </div>
        )}
      </div>
      {groups.length === 0 ? (
        <div className="card empty-inline muted">{loading ? "Loading metrics…" : live ? "No metrics yet; charts appear with the first logged step." : "This run logged no metrics."}</div>
      ) : (
        groups.map(([group, items]) => (
          <div key={group} className="chart-group">
            {groups.length > 1 && <h3 className="group-title">{group}</h3>}
            <div className="chart-grid">
              {items.map((s) => (
                <ZoomableChart key={s.key} runId={runId} series={s} smoothing={smoothing} logScale={logScale} />
              ))}
            </div>
          </div>
        ))
      )}
    </section>
  );
}

/** A chart that, zoomed to a step range, reads that range again at full detail (down to the points themselves). */
function ZoomableChart({ runId, series, smoothing, logScale }: { runId: string; series: Series[number]; smoothing: number; logScale: boolean }) {
  const trpc = useTRPC();
  const [range, setRange] = useState<{ from: number; to: number } | null>(null);
  const zoomed = useQuery({
    ...trpc.runs.metrics.queryOptions({ runIds: [runId], keys: [series.key], buckets: BUCKETS, from: range?.from, to: range?.to }),
    enabled: range !== null,
    placeholderData: keepPreviousData,
  });
  const detail = range && zoomed.data?.[0];
  return (
    <MetricChart
      metricKey={series.key}
      points={detail ? detail.points : series.points}
      total={Math.max(series.total, detail?.total ?? 0)}
      smoothing={smoothing}
      logScale={logScale}
      zoomed={range !== null}
      onZoom={setRange}
    />
  );
}
