"use client";
import { memo, useMemo, useState } from "react";
import { Area, CartesianGrid, ComposedChart, Line, ReferenceArea, Tooltip, XAxis, YAxis } from "recharts";
import { formatValue } from "@/app/_lib/format";

/** A drawn point: one logged value, or a bucket of several (value = their mean, min/max = their extremes). */
export interface Point {
  step: number;
  value: number;
  min?: number;
  max?: number;
}

/** Exponential moving average with TensorBoard's debiasing, so the first points are not pulled to zero. */
export function smooth(points: Point[], weight: number): number[] {
  if (weight <= 0) return points.map((p) => p.value);
  let last = 0;
  let n = 0;
  return points.map((p) => {
    if (!Number.isFinite(p.value)) return p.value;
    last = last * weight + (1 - weight) * p.value;
    n++;
    return last / (1 - Math.pow(weight, n));
  });
}

export const MetricChart = memo(function MetricChart({
  metricKey,
  points,
  total,
  smoothing,
  logScale,
  zoomed,
  onZoom,
}: {
  metricKey: string;
  points: Point[];
  /** Points stored in the whole series (drawn: `points.length`, some of them buckets). */
  total: number;
  smoothing: number;
  logScale: boolean;
  /** The chart shows a step range, not the whole series. */
  zoomed: boolean;
  /** A range was dragged across the chart (inclusive steps), or null to show the whole series again. */
  onZoom: (range: { from: number; to: number } | null) => void;
}) {
  const data = useMemo(() => {
    const s = smooth(points, smoothing);
    return points.map((p, i) => ({ step: p.step, value: p.value, smoothed: s[i], range: [p.min ?? p.value, p.max ?? p.value] }));
  }, [points, smoothing]);
  const bucketed = points.some((p) => p.min !== undefined && p.min !== p.max);
  const canLog = logScale && points.every((p) => (p.min ?? p.value) > 0);
  const last = points[points.length - 1];
  const smoothed = smoothing > 0;
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const label = (l: string | number | undefined) => (l === undefined ? undefined : Number(l));

  return (
    <figure className="chart card" aria-label={`Chart ${metricKey}`} data-points={points.length} data-total={total}>
      <figcaption>
        <span className="chart-title mono">{metricKey}</span>
        {last && (
          <span className="chart-last muted">
            step {last.step} · <span className="mono">{formatValue(last.value)}</span>
          </span>
        )}
      </figcaption>
      {points.length === 0 ? (
        <div className="chart-empty muted small">loading…</div>
      ) : (
        <ComposedChart
          responsive
          style={{ width: "100%", height: 220, userSelect: "none" }}
          data={data}
          margin={{ top: 8, right: 12, bottom: 4, left: 0 }}
          onMouseDown={(e) => {
            const a = label(e.activeLabel);
            if (a !== undefined) setDrag({ a, b: a });
          }}
          onMouseMove={(e) => {
            const b = label(e.activeLabel);
            if (drag && b !== undefined) setDrag({ ...drag, b });
          }}
          onMouseUp={() => {
            if (drag && drag.a !== drag.b) onZoom({ from: Math.min(drag.a, drag.b), to: Math.max(drag.a, drag.b) });
            setDrag(null);
          }}
        >
          <CartesianGrid stroke="var(--grid)" strokeDasharray="3 3" vertical={false} />
          <XAxis
            dataKey="step"
            type="number"
            domain={["dataMin", "dataMax"]}
            allowDecimals={false}
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            stroke="var(--border)"
            tickMargin={4}
          />
          <YAxis
            scale={canLog ? "log" : "auto"}
            domain={["auto", "auto"]}
            allowDataOverflow={false}
            tick={{ fontSize: 11, fill: "var(--muted)" }}
            tickFormatter={(v: number) => formatValue(v)}
            stroke="var(--border)"
            width={56}
          />
          <Tooltip
            isAnimationActive={false}
            contentStyle={{ background: "var(--surface)", border: "1px solid var(--border)", borderRadius: 6, fontSize: 12 }}
            labelFormatter={(step) => `step ${step}`}
            formatter={(v, name) =>
              Array.isArray(v)
                ? [`${formatValue(v[0] as number)} … ${formatValue(v[1] as number)}`, "min … max"]
                : [formatValue(v as number), name === "smoothed" ? "smoothed" : metricKey]
            }
          />
          {bucketed && (
            // Every bucket's extremes, so a spike between drawn points still shows.
            <Area type="linear" dataKey="range" name="min … max" stroke="none" fill="var(--chart)" fillOpacity={0.18} isAnimationActive={false} />
          )}
          <Line
            type="linear"
            dataKey="value"
            name={metricKey}
            stroke="var(--chart)"
            strokeOpacity={smoothed ? 0.28 : 1}
            strokeWidth={1.5}
            dot={points.length <= 24 ? { r: 2.5, strokeWidth: 0, fill: "var(--chart)", fillOpacity: smoothed ? 0.4 : 1 } : false}
            isAnimationActive={false}
          />
          {smoothed && (
            <Line type="linear" dataKey="smoothed" name="smoothed" stroke="var(--chart)" strokeWidth={2} dot={false} isAnimationActive={false} />
          )}
          {drag && drag.a !== drag.b && <ReferenceArea x1={drag.a} x2={drag.b} fill="var(--chart)" fillOpacity={0.12} />}
        </ComposedChart>
      )}
      <div className="chart-foot muted small">
        <span className="chart-count">
          {points.length.toLocaleString()} of {total.toLocaleString()} points shown
        </span>
        {zoomed ? (
          <button type="button" className="btn ghost small" onClick={() => onZoom(null)}>
            Show all
          </button>
        ) : (
          points.length > 1 && <span>drag across the chart to zoom</span>
        )}
      </div>
    </figure>
  );
});
