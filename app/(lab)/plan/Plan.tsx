"use client";
/** The seven-week research plan as a timeline: each week's tasks, questions, status, owner, notes and evidence. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { canWrite, useMe } from "@/app/_components/Me";
import { Markdown } from "@/app/_components/Markdown";
import { MilestoneStatusBadge, milestoneStatuses } from "@/app/_components/MilestoneStatusBadge";
import { RunsTable } from "@/app/_components/RunsTable";
import { errorText } from "@/app/_lib/errors";
import { useTRPC } from "@/app/trpc";
import type { MilestoneStatus } from "@/db/schema";
import type { AppRouter } from "@/server/routers";

type Week = inferRouterOutputs<AppRouter>["plan"]["list"][number];

const dateInput = (d: Date | null) => (d ? new Date(d).toISOString().slice(0, 10) : "");

function LinkRunForm({ week, onLinked }: { week: Week; onLinked: () => void }) {
  const trpc = useTRPC();
  const [search, setSearch] = useState("");
  const [runId, setRunId] = useState("");
  const runs = useQuery(trpc.runs.list.queryOptions({ search: search.trim() || undefined, limit: 50 }));
  const link = useMutation(
    trpc.plan.linkRun.mutationOptions({
      onSuccess: () => {
        setRunId("");
        onLinked();
      },
    }),
  );
  const choices = (runs.data?.runs ?? []).filter((r) => !week.runs.some((l) => l.id === r.id));
  return (
    <form
      className="toolbar"
      aria-label={`Link a run to week ${week.week}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (runId) link.mutate({ milestoneId: week.id, runId });
      }}
    >
      <label className="field inline grow">
        <span className="sr-only">Find a run</span>
        <input type="search" placeholder="Find a run by name…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Find a run" />
      </label>
      <label className="field inline">
        <span className="sr-only">Run</span>
        <select value={runId} onChange={(e) => setRunId(e.target.value)} aria-label="Run to link">
          <option value="">Choose a run…</option>
          {choices.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name} ({r.kind}, {r.status})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="btn small" disabled={!runId || link.isPending}>
        Link run
      </button>
      {link.error && (
        <span className="error-text small" role="alert">
          {errorText(link.error)}
        </span>
      )}
    </form>
  );
}

function WeekCard({ week, owners, writable }: { week: Week; owners: { id: string; name: string }[]; writable: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.plan.list.queryKey() });
  const update = useMutation(trpc.plan.update.mutationOptions({ onSuccess: refresh }));
  const unlink = useMutation(trpc.plan.unlinkRun.mutationOptions({ onSuccess: refresh }));
  const [notes, setNotes] = useState<string | null>(null);

  return (
    <li className="week" data-status={week.status}>
      <article className="card section stack" aria-label={`Week ${week.week}`}>
        <header className="week-head">
          <div>
            <p className="muted small">Week {week.week}</p>
            <h2>{week.title}</h2>
          </div>
          {writable ? (
            <div className="toolbar">
              <label className="field inline">
                <span>Status</span>
                <select value={week.status} onChange={(e) => update.mutate({ id: week.id, status: e.target.value as MilestoneStatus })} aria-label={`Status of week ${week.week}`}>
                  {milestoneStatuses.map((s) => (
                    <option key={s}>{s}</option>
                  ))}
                </select>
              </label>
              <label className="field inline">
                <span>Owner</span>
                <select value={week.ownerId ?? ""} onChange={(e) => update.mutate({ id: week.id, ownerId: e.target.value || null })} aria-label={`Owner of week ${week.week}`}>
                  <option value="">nobody</option>
                  {owners.map((o) => (
                    <option key={o.id} value={o.id}>
                      {o.name}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field inline">
                <span>Due</span>
                <input
                  type="date"
                  value={dateInput(week.dueDate)}
                  onChange={(e) => update.mutate({ id: week.id, dueDate: e.target.value ? new Date(`${e.target.value}T00:00:00Z`) : null })}
                  aria-label={`Due date of week ${week.week}`}
                />
              </label>
            </div>
          ) : (
            <p className="muted small">
              <MilestoneStatusBadge status={week.status} /> · owner {week.owner ?? "—"} · due {week.dueDate ? new Date(week.dueDate).toLocaleDateString() : "—"}
            </p>
          )}
        </header>
        {update.error && (
          <p className="alert error" role="alert">
            {errorText(update.error)}
          </p>
        )}

        <div className="grid-2 align-start">
          <div>
            <h3 className="group-title">Tasks</h3>
            <ul className="plain-list">
              {week.tasks.map((t) => (
                <li key={t}>{t}</li>
              ))}
            </ul>
          </div>
          <div>
            <h3 className="group-title">Key questions</h3>
            <ul className="plain-list">
              {week.questions.map((q) => (
                <li key={q}>{q}</li>
              ))}
            </ul>
          </div>
        </div>

        <div>
          <div className="section-head">
            <h3 className="group-title">Notes</h3>
            {writable && notes === null && (
              <button type="button" className="btn ghost small" onClick={() => setNotes(week.notes)}>
                Edit notes
              </button>
            )}
          </div>
          {notes !== null ? (
            <form
              className="stack"
              onSubmit={(e) => {
                e.preventDefault();
                update.mutate({ id: week.id, notes }, { onSuccess: () => setNotes(null) });
              }}
            >
              <textarea rows={5} value={notes} onChange={(e) => setNotes(e.target.value)} aria-label={`Notes of week ${week.week}`} placeholder="Markdown: findings, decisions, next steps…" />
              <div className="form-actions">
                <button type="button" className="btn ghost small" onClick={() => setNotes(null)}>
                  Cancel
                </button>
                <button type="submit" className="btn primary small" disabled={update.isPending}>
                  Save notes
                </button>
              </div>
            </form>
          ) : week.notes ? (
            <Markdown text={week.notes} />
          ) : (
            <p className="muted small">No notes yet.</p>
          )}
        </div>

        <div className="stack">
          <h3 className="group-title">Evidence</h3>
          {week.runs.length ? (
            <RunsTable
              runs={week.runs}
              columns={week.columns}
              label={`Week ${week.week} key figure`}
              linkRuns
              action={
                writable
                  ? (run) => (
                      <button type="button" className="btn ghost small" onClick={() => unlink.mutate({ milestoneId: week.id, runId: run.id })} aria-label={`Unlink ${run.name}`}>
                        Unlink
                      </button>
                    )
                  : undefined
              }
            />
          ) : (
            <p className="muted small">No runs linked yet.</p>
          )}
          {writable && <LinkRunForm week={week} onLinked={() => void refresh()} />}
        </div>
      </article>
    </li>
  );
}

export function Plan() {
  const trpc = useTRPC();
  const me = useMe();
  const plan = useQuery(trpc.plan.list.queryOptions());
  const owners = useQuery(trpc.plan.owners.queryOptions());
  const weeks = plan.data ?? [];
  const done = weeks.filter((w) => w.status === "done").length;
  return (
    <div className="stack-lg">
      <div className="page-head">
        <div>
          <h1>Research plan</h1>
          <p className="muted">{plan.data ? `Seven weeks · ${done} done` : "Loading…"}</p>
        </div>
      </div>
      {plan.error && (
        <p className="alert error" role="alert">
          Could not load the plan: {errorText(plan.error)}
        </p>
      )}
      <ol className="timeline" aria-label="Weeks">
        {weeks.map((w) => (
          <WeekCard key={w.id} week={w} owners={owners.data ?? []} writable={canWrite(me)} />
        ))}
      </ol>
    </div>
  );
}
