"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { formatValue } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";

/**
 * Each evaluation's hardest false positives (highest-scored normal images) and false negatives (lowest-scored
 * cracked ones): panels of image | healed | heatmap rows, with the scores beside them. Where failure analysis starts.
 */
export function FailureGallery({ dataset, sweepId }: { dataset: string; sweepId?: string }) {
  const trpc = useTRPC();
  const [method, setMethod] = useState("");
  const gallery = useQuery(trpc.leaderboards.failures.queryOptions({ dataset, sweepId, method: method || undefined }));
  const g = gallery.data;
  return (
    <section className="section" aria-label="Failure gallery">
      <div className="section-head">
        <h2>Failure gallery</h2>
        <label className="field inline">
          <span>Method</span>
          <select value={method} onChange={(e) => setMethod(e.target.value)} aria-label="Failure gallery method">
            <option value="">All</option>
            {(g?.methods ?? []).map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
      </div>
      {g && g.evaluations.length === 0 && <p className="muted">No evaluation here logged its hardest cases.</p>}
      <div className="failure-grid">
        {(g?.evaluations ?? []).map((e) => (
          <div key={e.id} className="card failure-card">
            <div className="section-head">
              <Link href={`/runs/${e.id}`}>{e.name}</Link>
              <span className="kind">{e.method}</span>
            </div>
            <div className="failure-panels">
              {e.panels.map((p) => (
                <figure key={p.mediaId} aria-label={`${e.name} ${p.kind}`}>
                  <figcaption className="small">
                    <strong>{p.kind}</strong> <span className="muted">rows: image | healed | heatmap</span>
                  </figcaption>
                  <div className="failure-panel">
                    <img src={`/api/media/${p.mediaId}`} alt={`${p.kind} of ${e.name}`} className="pixelated" />
                    <ol className="failure-scores small mono">
                      {p.cases.map((c) => (
                        <li key={c.id}>
                          {c.id} <span className="muted">score {formatValue(c.score)}</span>
                        </li>
                      ))}
                    </ol>
                  </div>
                </figure>
              ))}
            </div>
          </div>
        ))}
      </div>
    </section>
  );
}
