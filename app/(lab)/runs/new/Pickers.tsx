"use client";
/**
 * Inputs for config fields that point elsewhere: a run (a teacher, a model to evaluate) chosen from the finished
 * runs of the kinds the field accepts, and a dataset chosen from the folders in the data roots or the synthetic
 * generator. Both read and write the same text the rest of the form keeps (a run id; the `data` JSON).
 */
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/routers";

export type LaunchChoices = inferRouterOutputs<AppRouter>["runs"]["launchChoices"];

interface InputProps {
  id: string;
  value: string;
  onChange: (value: string) => void;
  describedBy: string;
  invalid: boolean;
}

export function RunPicker({
  field,
  choices,
  loading,
  required,
  ...p
}: InputProps & { field: string; choices: LaunchChoices["runs"][string] | undefined; loading: boolean; required: boolean }) {
  const runs = choices ?? [];
  const known = !p.value || runs.some((r) => r.id === p.value);
  return (
    <select id={p.id} value={p.value} onChange={(e) => p.onChange(e.target.value)} aria-invalid={p.invalid} aria-describedby={p.describedBy} aria-required={required || undefined}>
      <option value="">{loading ? "loading runs…" : runs.length ? "choose a run…" : `no finished run can be the ${field} yet`}</option>
      {!known && <option value={p.value}>{p.value} (not a finished run of a fitting kind)</option>}
      {runs.map((r) => (
        <option key={r.id} value={r.id}>
          {`${r.name} · ${r.kind} · ${new Date(r.createdAt).toLocaleString()}`}
        </option>
      ))}
    </select>
  );
}

type DataSource = { synthetic: { count?: number; seed?: number; size?: number } } | { folder: string };

function parseData(text: string): DataSource | null {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && ("synthetic" in value || "folder" in value)) return value as DataSource;
  } catch {
    // shown as the synthetic default; the server validates what is sent
  }
  return null;
}

const SYNTHETIC = "synthetic";

export function DataPicker({
  datasets,
  loading,
  schemaDefault,
  ...p
}: InputProps & { datasets: LaunchChoices["datasets"] | undefined; loading: boolean; schemaDefault: unknown }) {
  // The schema's default data source supplies the synthetic inputs' placeholders.
  const defaults = (schemaDefault as { synthetic?: { count?: number; seed?: number } } | undefined)?.synthetic ?? {};
  const data = parseData(p.value) ?? { synthetic: {} };
  const choice = "folder" in data ? data.folder : SYNTHETIC;
  const folders = datasets ?? [];
  const synthetic = "synthetic" in data ? data.synthetic : null;
  const emit = (next: DataSource) => p.onChange(JSON.stringify(next));
  const setSynthetic = (key: "count" | "seed", text: string) => {
    const rest = { ...synthetic };
    delete rest[key];
    // Text that is not a number is sent as typed, so the server's message names the field.
    emit({ synthetic: text.trim() === "" ? rest : { ...rest, [key]: Number.isFinite(Number(text)) ? Number(text) : text } });
  };
  return (
    <div className="data-picker">
      <select
        id={p.id}
        value={choice}
        onChange={(e) => emit(e.target.value === SYNTHETIC ? { synthetic: {} } : { folder: e.target.value })}
        aria-invalid={p.invalid}
        aria-describedby={p.describedBy}
      >
        <option value={SYNTHETIC}>synthetic images</option>
        {folders.map((d) => (
          <option key={d.folder} value={d.folder}>
            {`${d.folder} · ${d.negatives} normal, ${d.positives} cracked${d.hasMasks ? ", masks" : ""}`}
          </option>
        ))}
        {choice !== SYNTHETIC && !folders.some((d) => d.folder === choice) && <option value={choice}>{`${choice}${loading ? "" : " (not found in the data roots)"}`}</option>}
      </select>
      {synthetic && (
        <div className="data-picker-synthetic">
          {(["count", "seed"] as const).map((key) => (
            <label key={key} className="field inline">
              <span>{key === "count" ? "images" : "seed"}</span>
              <input
                type="number"
                step={1}
                min={key === "count" ? 4 : 0}
                value={synthetic[key] === undefined ? "" : String(synthetic[key])}
                placeholder={String(defaults[key] ?? "")}
                onChange={(e) => setSynthetic(key, e.target.value)}
                aria-label={`synthetic ${key}`}
              />
            </label>
          ))}
        </div>
      )}
    </div>
  );
}
