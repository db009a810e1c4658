"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { errorText } from "@/app/_lib/errors";
import { useTRPC } from "@/app/trpc";

/** A run's tags and notes: members edit them in place, everyone else reads them. */
export function RunNotes({ run, writable }: { run: { id: string; tags: string[]; notes: string }; writable: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [tags, setTags] = useState(run.tags.join(", "));
  const [notes, setNotes] = useState(run.notes);
  useEffect(() => {
    if (editing) return;
    setTags(run.tags.join(", "));
    setNotes(run.notes);
  }, [run.tags, run.notes, editing]);
  const save = useMutation(
    trpc.runs.update.mutationOptions({
      onSuccess: () => {
        setEditing(false);
        void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ id: run.id }) });
        void queryClient.invalidateQueries({ queryKey: trpc.runs.tags.queryKey() });
      },
    }),
  );

  return (
    <section className="card section" aria-label="Notes">
      <div className="section-head">
        <h2>Tags &amp; notes</h2>
        {writable && !editing && (
          <button type="button" className="btn ghost small" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
      </div>
      {editing ? (
        <form
          className="stack"
          aria-label="Edit tags and notes"
          onSubmit={(e) => {
            e.preventDefault();
            const list = [...new Set(tags.split(",").map((t) => t.trim()).filter(Boolean))];
            save.mutate({ id: run.id, tags: list, notes });
          }}
        >
          <label className="field">
            <span className="field-label">Tags</span>
            <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma-separated, e.g. week4, ddim" aria-label="Run tags" />
          </label>
          <label className="field">
            <span className="field-label">Notes</span>
            <textarea rows={5} value={notes} onChange={(e) => setNotes(e.target.value)} aria-label="Run notes" />
          </label>
          {save.error && (
            <p className="alert error" role="alert">
              {errorText(save.error)}
            </p>
          )}
          <div className="form-actions">
            <button type="button" className="btn ghost" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="btn primary" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save"}
            </button>
          </div>
        </form>
      ) : (
        <>
          <p className="tags">
            {run.tags.length ? run.tags.map((t) => <span key={t} className="tag">{t}</span>) : <span className="muted">No tags.</span>}
          </p>
          <p className="notes-text">{run.notes || <span className="muted">No notes.</span>}</p>
        </>
      )}
    </section>
  );
}
