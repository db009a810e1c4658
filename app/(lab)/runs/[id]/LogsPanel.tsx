"use client";
import { useQuery } from "@tanstack/react-query";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { useTRPC } from "@/app/trpc";

interface LogLine {
  id: number;
  at: Date;
  line: string;
}

const PAGE = 500;

/** A run's log, fetched incrementally (only lines after the last one seen), polled while the run is live. */
export function LogsPanel({ runId, live, finalTick }: { runId: string; live: boolean; finalTick: number }) {
  const trpc = useTRPC();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [afterId, setAfterId] = useState(0);
  const boxRef = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  const page = useQuery({
    ...trpc.runs.logs.queryOptions({ id: runId, afterId, limit: PAGE }),
    refetchInterval: live ? 1500 : false,
    staleTime: 0,
  });

  useEffect(() => {
    const rows = page.data;
    if (!rows?.length) return;
    setLines((old) => {
      const seen = old.length ? old[old.length - 1]!.id : 0;
      const fresh = rows.filter((r) => r.id > seen);
      return fresh.length ? [...old, ...fresh] : old;
    });
    // A new key: fetches the next lines at once (a full page means more are waiting).
    setAfterId(rows[rows.length - 1]!.id);
  }, [page.data]);

  // One last look after the run ends, for lines written just before it did.
  const { refetch } = page;
  useEffect(() => {
    if (finalTick > 0) void refetch();
  }, [finalTick, refetch]);

  useLayoutEffect(() => {
    const el = boxRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <section className="card section" aria-label="Logs">
      <div className="section-head">
        <h2>Logs</h2>
        <span className="muted small">
          {lines.length} line{lines.length === 1 ? "" : "s"}
          {live && " · live"}
        </span>
      </div>
      {lines.length === 0 ? (
        <p className="muted">{page.isLoading ? "Loading…" : live ? "Waiting for output…" : "No log lines."}</p>
      ) : (
        <pre
          className="logs"
          ref={boxRef}
          tabIndex={0}
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          {lines.map((l) => (
            <div key={l.id} className="log-line">
              <span className="log-time">{new Date(l.at).toLocaleTimeString(undefined, { hour12: false })}</span>
              <span className="log-text">{l.line}</span>
            </div>
          ))}
        </pre>
      )}
    </section>
  );
}
