"use client";
import { memo, useMemo } from "react";
import { CartesianGrid, Line, LineChart, Tooltip, XAxis, YAxis } from "recharts";
import { formatValue } from "@/app/_lib/format";

export interface Point {
  step: number;
  value: number;
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
  smoothing,
  logScale,
}: {
  metricKey: string;
  points: Point[];
  smoothing: number;
  logScale: boolean;
}) {
  const data = useMemo(() => {
    const s = smooth(points, smoothing);
    return points.map((p, i) => ({ step: p.step, value: p.value, smoothed: s[i] }));
  }, [points, smoothing]);
  const canLog = logScale && points.every((p) => p.value > 0);
  const last = points[points.length - 1];
  const smoothed = smoothing > 0;

  return (
    <figure className="chart card" aria-label={`Chart ${metricKey}`} data-points={points.length}>
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
        <LineChart responsive style={{ width: "100%", height: 220 }} data={data} margin={{ top: 8, right: 12, bottom: 4, left: 0 }}>
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
            formatter={(v, name) => [formatValue(v as number), name === "smoothed" ? "smoothed" : metricKey]}
          />
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
        </LineChart>
      )}
    </figure>
  );
});
