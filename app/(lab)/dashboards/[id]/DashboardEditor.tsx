"use client";
/** Title, Markdown text and panels of a dashboard: add, reorder, remove, save. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterInputs } from "@trpc/server";
import { useRouter } from "next/navigation";
import { useState } from "react";
import type { LoadedDashboard } from "@/app/_components/DashboardView";
import { errorText } from "@/app/_lib/errors";
import { useTRPC } from "@/app/trpc";
import type { AppRouter } from "@/server/routers";

type Panel = NonNullable<inferRouterInputs<AppRouter>["dashboards"]["update"]["panels"]>[number];
type PanelType = Panel["type"];
interface Item {
  panel: Panel;
  label: string;
}

const panelTypes: { type: PanelType; label: string }[] = [
  { type: "runs", label: "Table of runs" },
  { type: "chart", label: "Metric chart" },
  { type: "gallery", label: "Heatmap gallery" },
  { type: "milestone", label: "Week of the plan" },
  { type: "leaderboard", label: "Leaderboard" },
];

function AddPanelForm({ onAdd }: { onAdd: (item: Item) => void }) {
  const trpc = useTRPC();
  const [type, setType] = useState<PanelType>("runs");
  const [title, setTitle] = useState("");
  const [search, setSearch] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [metric, setMetric] = useState("");
  const [milestoneId, setMilestoneId] = useState("");
  const [keys, setKeys] = useState("");
  const [dataset, setDataset] = useState("");
  const runs = useQuery(trpc.runs.list.queryOptions({ search: search.trim() || undefined, limit: 30 }));
  const plan = useQuery({ ...trpc.plan.list.queryOptions(), enabled: type === "milestone" });
  const boards = useQuery({ ...trpc.leaderboards.get.queryOptions({}), enabled: type === "leaderboard" });
  const first = useQuery({ ...trpc.runs.get.queryOptions({ id: chosen[0] ?? "" }), enabled: type === "chart" && !!chosen[0] });
  const names = new Map((runs.data?.runs ?? []).map((r) => [r.id, r.name]));
  const multi = type === "runs" || type === "chart";
  const [problem, setProblem] = useState("");

  const add = () => {
    const t = title.trim() || undefined;
    const chosenKeys = keys.split(",").map((k) => k.trim()).filter(Boolean);
    const keysIfAny = chosenKeys.length ? { keys: chosenKeys } : {};
    const runLabel = chosen.map((id) => names.get(id) ?? id.slice(0, 8)).join(", ");
    if (type === "milestone") {
      const week = plan.data?.find((m) => m.id === milestoneId);
      if (!week) return setProblem("choose a week");
      onAdd({ panel: { type, title: t, milestoneId }, label: t ?? `Week ${week.week}: ${week.title}` });
    } else if (type === "leaderboard") {
      if (!dataset) return setProblem("choose a dataset");
      onAdd({ panel: { type, title: t, dataset }, label: t ?? `Leaderboard: ${dataset}` });
    } else if (!chosen.length) {
      return setProblem(type === "gallery" ? "choose a run" : "choose at least one run");
    } else if (type === "gallery") {
      onAdd({ panel: { type, title: t, runId: chosen[0]!, ...keysIfAny }, label: t ?? `Images of ${runLabel}` });
    } else if (type === "chart") {
      const key = metric || first.data?.metricKeys[0];
      if (!key) return setProblem("choose a metric");
      onAdd({ panel: { type, title: t, runIds: chosen, metric: key }, label: t ?? `${key} of ${runLabel}` });
    } else {
      onAdd({ panel: { type: "runs", title: t, runIds: chosen, ...keysIfAny }, label: t ?? `Runs: ${runLabel}` });
    }
    setChosen([]);
    setTitle("");
    setMetric("");
    setKeys("");
    setProblem("");
  };

  return (
    <fieldset className="card section stack" aria-label="Add a panel">
      <legend className="group-title">Add a panel</legend>
      <div className="toolbar">
        <label className="field inline">
          <span>Panel</span>
          <select value={type} onChange={(e) => (setType(e.target.value as PanelType), setChosen([]))} aria-label="Panel type">
            {panelTypes.map((p) => (
              <option key={p.type} value={p.type}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline grow">
          <span>Panel title</span>
          <input value={title} onChange={(e) => setTitle(e.target.value)} placeholder="optional" aria-label="Panel title" />
        </label>
      </div>
      {type === "milestone" ? (
        <label className="field inline">
          <span>Week</span>
          <select value={milestoneId} onChange={(e) => setMilestoneId(e.target.value)} aria-label="Week">
            <option value="">Choose a week…</option>
            {(plan.data ?? []).map((m) => (
              <option key={m.id} value={m.id}>
                Week {m.week}: {m.title}
              </option>
            ))}
          </select>
        </label>
      ) : type === "leaderboard" ? (
        <label className="field inline">
          <span>Dataset</span>
          <select value={dataset} onChange={(e) => setDataset(e.target.value)} aria-label="Dataset">
            <option value="">{boards.data && !boards.data.datasets.length ? "no evaluations yet" : "Choose a dataset…"}</option>
            {(boards.data?.datasets ?? []).map((d) => (
              <option key={d.dataset} value={d.dataset}>
                {d.dataset} ({d.runs} run{d.runs === 1 ? "" : "s"})
              </option>
            ))}
          </select>
        </label>
      ) : (
        <>
          <input type="search" placeholder="Find runs by name…" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Find runs" />
          <div className="run-choices" role="group" aria-label="Runs">
            {(runs.data?.runs ?? []).map((r) => (
              <label key={r.id} className="check">
                <input
                  type={multi ? "checkbox" : "radio"}
                  name="panel-run"
                  checked={chosen.includes(r.id)}
                  onChange={(e) => setChosen(multi ? (e.target.checked ? [...chosen, r.id] : chosen.filter((c) => c !== r.id)) : [r.id])}
                />
                <span>{r.name}</span> <span className="muted small">{r.kind} · {r.status}</span>
              </label>
            ))}
            {runs.data?.runs.length === 0 && <p className="muted small">No runs match.</p>}
          </div>
          {(type === "runs" || type === "gallery") && (
            <label className="field inline grow">
              <span>{type === "runs" ? "Columns" : "Image keys"}</span>
              <input
                value={keys}
                onChange={(e) => setKeys(e.target.value)}
                placeholder={type === "runs" ? "summary metrics, comma-separated (default: image_auroc, pixel_auroc, ms_per_image)" : "comma-separated (default: every key)"}
                aria-label={type === "runs" ? "Columns" : "Image keys"}
              />
            </label>
          )}
          {type === "chart" && (
            <label className="field inline">
              <span>Metric</span>
              <select value={metric} onChange={(e) => setMetric(e.target.value)} aria-label="Metric">
                {!chosen.length && <option value="">choose a run first</option>}
                {(first.data?.metricKeys ?? []).map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </label>
          )}
        </>
      )}
      <div className="form-actions">
        {problem && (
          <span className="error-text small" role="alert">
            {problem}
          </span>
        )}
        <button type="button" className="btn" onClick={add}>
          Add panel
        </button>
      </div>
    </fieldset>
  );
}

export function DashboardEditor({ dashboard, onDone }: { dashboard: LoadedDashboard; onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [title, setTitle] = useState(dashboard.title);
  const [body, setBody] = useState(dashboard.body);
  const [items, setItems] = useState<Item[]>(dashboard.panels.map((panel, i) => ({ panel, label: dashboard.loaded[i]?.title ?? panel.type })));
  const save = useMutation(
    trpc.dashboards.update.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.dashboards.get.queryKey({ id: dashboard.id }) });
        onDone();
      },
    }),
  );
  const router = useRouter();
  const remove = useMutation(trpc.dashboards.delete.mutationOptions({ onSuccess: () => router.push("/dashboards") }));
  const move = (i: number, by: number) =>
    setItems((xs) => {
      const next = [...xs];
      const [it] = next.splice(i, 1);
      next.splice(Math.max(0, Math.min(next.length, i + by)), 0, it!);
      return next;
    });

  return (
    <form
      className="stack-lg"
      aria-label="Edit dashboard"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ id: dashboard.id, title, body, panels: items.map((x) => x.panel) });
      }}
    >
      <section className="card section stack">
        <label className="field">
          <span>Title</span>
          <input value={title} onChange={(e) => setTitle(e.target.value)} aria-label="Dashboard title" />
        </label>
        <label className="field">
          <span>Text (Markdown)</span>
          <textarea rows={6} value={body} onChange={(e) => setBody(e.target.value)} aria-label="Dashboard text" />
        </label>
      </section>
      <section className="card section stack" aria-label="Panels">
        <h2 className="group-title">Panels</h2>
        {items.length === 0 && <p className="muted small">No panels yet: add one below.</p>}
        <ol className="panel-list">
          {items.map((item, i) => (
            <li key={i}>
              <span className="muted small">{panelTypes.find((p) => p.type === item.panel.type)?.label}</span> <span>{item.label}</span>
              <span className="actions">
                <button type="button" className="btn ghost small" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move ${item.label} up`}>
                  ↑
                </button>
                <button type="button" className="btn ghost small" disabled={i === items.length - 1} onClick={() => move(i, 1)} aria-label={`Move ${item.label} down`}>
                  ↓
                </button>
                <button type="button" className="btn ghost small" onClick={() => setItems((xs) => xs.filter((_, j) => j !== i))} aria-label={`Remove ${item.label}`}>
                  Remove
                </button>
              </span>
            </li>
          ))}
        </ol>
      </section>
      <AddPanelForm onAdd={(item) => setItems((xs) => [...xs, item])} />
      {(save.error || remove.error) && (
        <p className="alert error" role="alert">
          {save.error ? `Not saved: ${errorText(save.error)}` : `Not deleted: ${errorText(remove.error)}`}
        </p>
      )}
      <div className="form-actions">
        <button
          type="button"
          className="btn danger"
          disabled={remove.isPending}
          onClick={() => {
            if (window.confirm(`Delete “${dashboard.title}”? Its share links stop working.`)) remove.mutate({ id: dashboard.id });
          }}
        >
          Delete dashboard
        </button>
        <button type="button" className="btn ghost" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="btn primary" disabled={save.isPending}>
          Save dashboard
        </button>
      </div>
    </form>
  );
}
