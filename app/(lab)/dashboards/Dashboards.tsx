"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { canWrite, useMe } from "@/app/_components/Me";
import { errorText } from "@/app/_lib/errors";
import { relativeTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";

export function Dashboards() {
  const trpc = useTRPC();
  const me = useMe();
  const router = useRouter();
  const list = useQuery(trpc.dashboards.list.queryOptions());
  const [title, setTitle] = useState("");
  const create = useMutation(trpc.dashboards.create.mutationOptions({ onSuccess: ({ id }) => router.push(`/dashboards/${id}?edit=1`) }));
  const rows = list.data ?? [];
  return (
    <div className="stack-lg">
      <div className="page-head">
        <div>
          <h1>Dashboards</h1>
          <p className="muted">Results arranged for the team and for supervisors: share one with a view-only link, or export it as a report.</p>
        </div>
      </div>
      {canWrite(me) && (
        <form
          className="card section toolbar"
          aria-label="New dashboard"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({ title, body: "", panels: [] });
          }}
        >
          <label className="field inline grow">
            <span>Title</span>
            <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="e.g. Week 4: DDPM vs DDIM" aria-label="Title" />
          </label>
          <button type="submit" className="btn primary" disabled={create.isPending}>
            Create dashboard
          </button>
          {create.error && (
            <span className="error-text small" role="alert">
              {errorText(create.error)}
            </span>
          )}
        </form>
      )}
      {list.error && (
        <p className="alert error" role="alert">
          {errorText(list.error)}
        </p>
      )}
      {list.data && rows.length === 0 ? (
        <div className="empty card">
          <h2>No dashboards yet</h2>
          <p className="muted">{canWrite(me) ? "Create one above, then add panels: tables of runs, charts, heatmaps, a week of the plan." : "Dashboards your team builds will appear here."}</p>
        </div>
      ) : (
        <div className="card table-wrap">
          <table className="table" aria-label="Dashboards">
            <thead>
              <tr>
                <th>Title</th>
                <th className="num">Panels</th>
                <th>By</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Link href={`/dashboards/${d.id}`}>{d.title}</Link>
                  </td>
                  <td className="num">{d.panelCount}</td>
                  <td>{d.createdBy ?? "—"}</td>
                  <td>{relativeTime(d.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
