"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Field as FormField } from "@/app/_components/Field";
import { canWrite, useMe } from "@/app/_components/Me";
import { errorText, fieldErrors } from "@/app/_lib/errors";
import { formatValue } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";
import { runReferences } from "@/workers/ml/config";
import { DataPicker, RunPicker, type LaunchChoices } from "./Pickers";
import { buildConfig, fieldsOf, initialValues, parseValueList, shapeHint, type Field, type FieldValue, type JsonSchema } from "./schema-form";

type Mode = "single" | "sweep";
interface SweepAxis {
  field: string;
  values: string;
}

export function LaunchForm({ fromRunId, initialKind, initialMode = "single" }: { fromRunId?: string; initialKind?: string; initialMode?: Mode }) {
  const trpc = useTRPC();
  const router = useRouter();
  const me = useMe();
  const writable = canWrite(me);
  const kinds = useQuery(trpc.runs.kinds.queryOptions(undefined, { staleTime: Infinity }));
  const choices = useQuery(trpc.runs.launchChoices.queryOptions());
  const source = useQuery({ ...trpc.runs.get.queryOptions({ id: fromRunId ?? "" }), enabled: !!fromRunId });
  const launch = useMutation(trpc.runs.launch.mutationOptions());
  const launchSweep = useMutation(trpc.sweeps.launch.mutationOptions());
  const [mode, setMode] = useState<Mode>(initialMode);
  const [axes, setAxes] = useState<SweepAxis[]>([{ field: "", values: "" }]);

  const [kind, setKind] = useState(initialKind ?? "");
  const [name, setName] = useState("");
  const [tags, setTags] = useState("");
  const [values, setValues] = useState<Record<string, FieldValue>>({});
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [prefilledFrom, setPrefilledFrom] = useState<string | null>(null);

  const kindList = kinds.data ?? [];
  const current = kindList.find((k) => k.kind === kind) ?? kindList[0];
  const schema = current?.schema as JsonSchema | undefined;
  const fields = useMemo(() => fieldsOf(schema), [schema]);

  // Defaults for the chosen kind; a source run's settings when launching "from" one.
  useEffect(() => {
    if (!current) return;
    if (kind !== current.kind) setKind(current.kind);
    const src = source.data && source.data.kind === current.kind ? source.data : undefined;
    if (fromRunId && source.isLoading) return;
    if (src && prefilledFrom !== src.id) {
      setPrefilledFrom(src.id);
      setName(`${src.name} (copy)`);
      setTags(src.tags.join(", "));
      setValues(initialValues(fields, src.config));
    } else if (!src) {
      setValues(initialValues(fields));
    }
  }, [current?.kind, fields, source.data, source.isLoading]);

  const pending = launch.isPending || launch.isSuccess || launchSweep.isPending || launchSweep.isSuccess;
  const launchError = mode === "sweep" ? launchSweep.error : launch.error;
  const grid = axes.filter((a) => a.field.trim()).map((a) => ({ field: a.field.trim(), values: parseValueList(a.values) }));
  const gridRuns = grid.reduce((n, a) => n * a.values.length, 1);
  const serverErrors = fieldErrors(launchError);
  const errs = { ...serverErrors, ...clientErrors };
  const errorFor = (f: Field) => errs[`config.${f.name}`];

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!current || !writable) return;
    const { config, errors } = buildConfig(fields, values);
    setClientErrors(errors);
    if (Object.keys(errors).length) return;
    launch.reset();
    launchSweep.reset();
    const tagList = tags
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    if (mode === "sweep") {
      try {
        const sweep = await launchSweep.mutateAsync({ kind: current.kind, name: name.trim(), config, grid, tags: [...new Set(tagList)] });
        router.push(`/sweeps/${sweep.id}`);
      } catch {
        // shown below
      }
      return;
    }
    try {
      const run = await launch.mutateAsync({
        kind: current.kind,
        name: name.trim() || undefined,
        config,
        tags: [...new Set(tagList)],
      });
      router.push(`/runs/${run.id}`);
    } catch {
      // shown below
    }
  }

  const setValue = (field: string, v: FieldValue) => {
    setValues((old) => ({ ...old, [field]: v }));
    if (clientErrors[`config.${field}`]) setClientErrors(({ [`config.${field}`]: _, ...rest }) => rest);
  };

  return (
    <div className="stack-lg narrow">
      <div className="page-head">
        <div>
          <h1>Launch a run</h1>
          <p className="muted">The run is queued and the next free worker picks it up. You can follow it live on its page.</p>
        </div>
      </div>

      {!writable && (
        <p className="alert info" role="status">
          You have read-only access ({me.role}): you can browse runs but not launch them. Ask an admin for member access.
        </p>
      )}
      {kinds.error && (
        <p className="alert error" role="alert">
          Could not load run kinds: {errorText(kinds.error)}
        </p>
      )}
      {source.data && prefilledFrom && (
        <p className="alert info">
          Settings copied from <Link href={`/runs/${source.data.id}`}>{source.data.name}</Link>.
        </p>
      )}

      <form method="post" className="card form-card" onSubmit={onSubmit} aria-label="Launch a run" noValidate>
        <fieldset disabled={!writable || pending} className="stack">
          <div className="segmented" role="radiogroup" aria-label="Mode">
            {(["single", "sweep"] as const).map((m) => (
              <label key={m} className={mode === m ? "active" : undefined}>
                <input type="radio" name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
                {m === "single" ? "Single run" : "Sweep"}
              </label>
            ))}
          </div>
          <div className="grid-2">
            <FormField label="Kind" hint={schema?.description}>
              <select value={current?.kind ?? ""} onChange={(e) => setKind(e.target.value)} required>
                {kindList.map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {k.kind}
                  </option>
                ))}
              </select>
            </FormField>
            <FormField label="Name" hint={mode === "sweep" ? "Names the sweep; each run adds its values." : "Optional; a name is generated when empty."} error={errs.name}>
              <input value={name} onChange={(e) => setName(e.target.value)} placeholder={current ? `${current.kind}-… (automatic)` : ""} maxLength={120} />
            </FormField>
          </div>
          <FormField label="Tags" hint="Comma-separated." error={errs.tags}>
            <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="e.g. week2, ddim, baseline" />
          </FormField>

          {mode === "sweep" && (
            <div className="sweep-grid stack" aria-label="Sweep grid" role="group">
              <div className="section-head">
                <h2>Grid</h2>
                <span className="muted small" aria-live="polite">
                  {grid.length ? `${gridRuns} run${gridRuns === 1 ? "" : "s"}` : "choose a field"}
                </span>
              </div>
              <p className="muted small">
                Comma-separated values per field; one run per combination. The fields below give every other setting. A nested field is a dotted path,
                e.g. <code>data.synthetic.seed</code>.
              </p>
              {axes.map((axis, i) => (
                <div key={i} className="sweep-axis">
                  <label className="field inline">
                    <span>Field {i + 1}</span>
                    <input
                      list="sweep-fields"
                      value={axis.field}
                      onChange={(e) => setAxes(axes.map((a, j) => (j === i ? { ...a, field: e.target.value } : a)))}
                      aria-label={`Sweep field ${i + 1}`}
                      className="mono"
                      placeholder="e.g. sampler"
                    />
                  </label>
                  <label className="field inline grow">
                    <span>values</span>
                    {axis.field.trim() in runReferences ? (
                      // Runs are picked, never typed: one child per chosen run.
                      <select
                        multiple
                        value={parseValueList(axis.values).map(String)}
                        onChange={(e) => setAxes(axes.map((a, j) => (j === i ? { ...a, values: [...e.target.selectedOptions].map((o) => o.value).join(", ") } : a)))}
                        aria-label={`Sweep values ${i + 1}`}
                      >
                        {(choices.data?.runs[axis.field.trim()] ?? []).map((r) => (
                          <option key={r.id} value={r.id}>
                            {`${r.name} · ${r.kind}`}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <input
                        value={axis.values}
                        onChange={(e) => setAxes(axes.map((a, j) => (j === i ? { ...a, values: e.target.value } : a)))}
                        aria-label={`Sweep values ${i + 1}`}
                        className="mono"
                        placeholder="e.g. ddim, ddpm"
                      />
                    )}
                  </label>
                  {axes.length > 1 && (
                    <button type="button" className="btn ghost small" onClick={() => setAxes(axes.filter((_, j) => j !== i))} aria-label={`Remove sweep field ${i + 1}`}>
                      ×
                    </button>
                  )}
                </div>
              ))}
              <datalist id="sweep-fields">
                {fields.map((f) => (
                  <option key={f.name} value={f.name} />
                ))}
              </datalist>
              <div>
                <button type="button" className="btn small" onClick={() => setAxes([...axes, { field: "", values: "" }])}>
                  Add field
                </button>
              </div>
            </div>
          )}

          <div className="section-head">
            <h2>Configuration</h2>
            <button type="button" className="btn ghost small" onClick={() => { setValues(initialValues(fields)); setClientErrors({}); launch.reset(); }}>
              Reset to defaults
            </button>
          </div>
          {fields.length === 0 && current && <p className="muted">This kind has no settings.</p>}
          <div className="config-grid">
            {fields.map((f) => (
              <ConfigField
                key={`${current?.kind}.${f.name}`}
                field={f}
                value={values[f.name] ?? ""}
                error={errorFor(f)}
                onChange={(v) => setValue(f.name, v)}
                choices={choices.data}
                choicesLoading={choices.isLoading}
              />
            ))}
          </div>
        </fieldset>

        {launchError && (
          <div className="alert error" role="alert">
            <strong>{mode === "sweep" ? "The sweep was not launched." : "The run was not launched."}</strong> {errorText(launchError)}
          </div>
        )}
        {Object.keys(clientErrors).length > 0 && (
          <div className="alert error" role="alert">
            Fix the highlighted fields: {Object.entries(clientErrors).map(([k, m]) => `${k.replace(/^config\./, "")}: ${m}`).join("; ")}
          </div>
        )}

        {writable && (
          <div className="form-actions">
            <Link href="/" className="btn ghost">
              Cancel
            </Link>
            <button type="submit" className="btn primary" disabled={!current || pending}>
              {pending ? "Launching…" : mode === "sweep" ? `Launch sweep${grid.length ? ` (${gridRuns} runs)` : ""}` : "Launch run"}
            </button>
          </div>
        )}
      </form>
    </div>
  );
}

function ConfigField({
  field,
  value,
  error,
  onChange,
  choices,
  choicesLoading,
}: {
  field: Field;
  value: FieldValue;
  error?: string;
  onChange: (v: FieldValue) => void;
  choices: LaunchChoices | undefined;
  choicesLoading: boolean;
}) {
  const s = field.schema;
  const id = `cfg-${field.name}`;
  const isData = field.name === "data" && field.kind === "json";
  const isRunRef = field.kind === "string" && field.name in runReferences;
  const hintParts = isData
    ? [s.description ?? "a dataset folder inside the data roots, or generated images"]
    : field.kind === "json"
      ? [s.description, shapeHint(s)]
      : [
          s.description,
          field.range && `range ${field.range}`,
          s.default !== undefined ? `default ${formatValue(s.default)}` : !field.required && "optional",
        ];
  const hint = hintParts.filter(Boolean).join(" · ");
  const describedBy = `${id}-hint`;
  const extra = (
    <>
      {field.required && (
        <span className="req" title="required">
          *
        </span>
      )}
      <span className="cfg-type">{isData ? "dataset" : isRunRef ? "run" : field.kind}</span>
    </>
  );

  let input: React.ReactNode;
  switch (field.kind) {
    case "boolean":
      return (
        <div className={`field cfg-field checkbox-field${error ? " invalid" : ""}`}>
          <span className="cfg-label">
            <label className="check">
              <input id={id} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} aria-describedby={describedBy} />
              <code>{field.name}</code>
            </label>
            {extra}
          </span>
          <small id={describedBy} className={error ? "field-error" : "hint"}>
            {error ?? hint}
          </small>
        </div>
      );
    case "enum":
      input = (
        <select id={id} value={String(value)} onChange={(e) => onChange(e.target.value)} aria-invalid={!!error} aria-describedby={describedBy} aria-required={field.required || undefined}>
          {!field.required && s.default === undefined && <option value="">(default)</option>}
          {field.options.map((o) => (
            <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
      break;
    case "integer":
    case "number":
      input = (
        <input
          id={id}
          type="number"
          inputMode={field.kind === "integer" ? "numeric" : "decimal"}
          step={field.kind === "integer" ? 1 : "any"}
          min={s.minimum ?? s.exclusiveMinimum}
          max={s.maximum !== undefined && Math.abs(s.maximum) < 1e15 ? s.maximum : undefined}
          value={String(value)}
          placeholder={s.default !== undefined ? String(s.default) : ""}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={!!error}
          aria-describedby={describedBy}
          aria-required={field.required || undefined}
        />
      );
      break;
    case "string":
      input = isRunRef ? (
        <RunPicker
          id={id}
          field={field.name}
          value={String(value)}
          onChange={onChange}
          choices={choices?.runs[field.name]}
          loading={choicesLoading}
          describedBy={describedBy}
          invalid={!!error}
          required={field.required}
        />
      ) : (
        <input
          id={id}
          value={String(value)}
          placeholder={typeof s.default === "string" ? s.default : ""}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={!!error}
          aria-describedby={describedBy}
          aria-required={field.required || undefined}
        />
      );
      break;
    default:
      input = isData ? (
        <DataPicker
          id={id}
          value={String(value)}
          onChange={onChange}
          datasets={choices?.datasets}
          schemaDefault={s.default}
          loading={choicesLoading}
          describedBy={describedBy}
          invalid={!!error}
        />
      ) : (
        <textarea
          id={id}
          className="mono"
          rows={Math.min(12, Math.max(3, String(value).split("\n").length))}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          spellCheck={false}
          aria-invalid={!!error}
          aria-describedby={describedBy}
          aria-required={field.required || undefined}
        />
      );
  }
  return (
    <div className={`field cfg-field${field.kind === "json" && !isData ? " wide" : ""}${error ? " invalid" : ""}`}>
      <span className="cfg-label">
        <label htmlFor={id}>
          <code>{field.name}</code>
        </label>
        {extra}
      </span>
      {input}
      <small id={describedBy} className={error ? "field-error" : "hint"} role={error ? "alert" : undefined}>
        {error ? `${field.name}: ${error}` : hint}
      </small>
    </div>
  );
}
