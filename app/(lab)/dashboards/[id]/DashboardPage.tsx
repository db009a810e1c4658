"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { DashboardView } from "@/app/_components/DashboardView";
import { canWrite, useMe } from "@/app/_components/Me";
import { errorText } from "@/app/_lib/errors";
import { relativeTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import { DashboardEditor } from "./DashboardEditor";

function download(filename: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ExportButtons({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const exportAs = async (format: "html" | "md") => {
    setBusy(true);
    setError(null);
    try {
      const report = await queryClient.fetchQuery({ ...trpc.dashboards.report.queryOptions({ id }), staleTime: 0 });
      if (format === "html") download(`${report.filename}.html`, report.html, "text/html");
      else download(`${report.filename}.md`, report.markdown, "text/markdown");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn" disabled={busy} onClick={() => void exportAs("html")}>
        Export report (HTML)
      </button>
      <button type="button" className="btn ghost" disabled={busy} onClick={() => void exportAs("md")}>
        Markdown
      </button>
      {error != null && (
        <span className="error-text small" role="alert">
          {errorText(error)}
        </span>
      )}
    </>
  );
}

function SharePanel({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.share.list.queryOptions({ dashboardId: id }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.share.list.queryKey({ dashboardId: id }) });
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation(
    trpc.share.create.mutationOptions({
      onSuccess: (link) => {
        setCreated(`${window.location.origin}/share/${link.token}`);
        void refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.share.revoke.mutationOptions({ onSuccess: refresh }));
  return (
    <section className="card section stack" aria-label="Share">
      <div className="section-head">
        <h2>Share</h2>
      </div>
      <p className="muted small">A view-only link shows this dashboard and only what it references, to anyone who has it, without an account.</p>
      <form
        className="toolbar"
        aria-label="Create a share link"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ dashboardId: id, expiresInDays: days ? Number(days) : null });
        }}
      >
        <label className="field inline">
          <span>Expires</span>
          <select value={days} onChange={(e) => setDays(e.target.value)} aria-label="Expires">
            <option value="">never</option>
            <option value="1">in 1 day</option>
            <option value="7">in 7 days</option>
            <option value="30">in 30 days</option>
          </select>
        </label>
        <button type="submit" className="btn primary small" disabled={create.isPending}>
          Create share link
        </button>
      </form>
      {created && (
        <div className="stack">
          <div className="copy-row">
            <input readOnly value={created} aria-label="Share link" onFocus={(e) => e.currentTarget.select()} className="mono grow" />
            <button type="button" className="btn small" onClick={() => void navigator.clipboard?.writeText(created)}>
              Copy
            </button>
          </div>
          <small className="hint">Shown once: only its fingerprint is stored.</small>
        </div>
      )}
      {(create.error || revoke.error) && (
        <p className="alert error" role="alert">
          {errorText(create.error ?? revoke.error)}
        </p>
      )}
      {links.data && links.data.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-label="Share links">
            <thead>
              <tr>
                <th>Created</th>
                <th>By</th>
                <th>Expires</th>
                <th>State</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {links.data.map((l) => (
                <tr key={l.id} data-state={l.state}>
                  <td>{relativeTime(l.createdAt)}</td>
                  <td>{l.createdBy ?? "—"}</td>
                  <td>{l.expiresAt ? new Date(l.expiresAt).toLocaleString() : "never"}</td>
                  <td>{l.state}</td>
                  <td className="num">
                    {l.state === "active" && (
                      <button type="button" className="btn danger small" disabled={revoke.isPending} onClick={() => revoke.mutate({ id: l.id })}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function DashboardPage({ id, startEditing }: { id: string; startEditing: boolean }) {
  const trpc = useTRPC();
  const me = useMe();
  const dashboard = useQuery(trpc.dashboards.get.queryOptions({ id }));
  const [editing, setEditing] = useState(startEditing);
  const writable = canWrite(me);

  if (dashboard.error) {
    return (
      <div className="empty card">
        <h1>{dashboard.error.data?.code === "NOT_FOUND" ? "Dashboard not found" : "Could not load this dashboard"}</h1>
        <p className="muted">{errorText(dashboard.error)}</p>
        <Link href="/dashboards" className="btn">
          Back to dashboards
        </Link>
      </div>
    );
  }
  const d = dashboard.data;
  if (!d) return <div className="skeleton block" aria-busy="true" />;
  return (
    <div className="stack-lg">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/dashboards">Dashboards</Link>
      </nav>
      <div className="page-head">
        <div>
          <h1>{d.title}</h1>
          <p className="muted">
            {d.loaded.length} panel{d.loaded.length === 1 ? "" : "s"} · updated {relativeTime(d.updatedAt)}
          </p>
        </div>
        <div className="actions">
          {writable && !editing && (
            <button type="button" className="btn" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          <ExportButtons id={id} />
        </div>
      </div>
      {editing && writable ? (
        <DashboardEditor dashboard={d} onDone={() => setEditing(false)} />
      ) : (
        <DashboardView dashboard={d} mediaSrc={(mediaId) => `/api/media/${mediaId}`} linkRuns />
      )}
      {writable && !editing && <SharePanel id={id} />}
    </div>
  );
}
