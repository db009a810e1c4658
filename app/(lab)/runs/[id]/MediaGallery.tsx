"use client";
import { useState } from "react";

export interface MediaItem {
  id: number;
  key: string;
  step: number;
  caption: string | null;
}

/** Small images (heatmaps, 32-px samples) are scaled up with crisp pixels instead of blurred. */
function RunImage({ item }: { item: MediaItem }) {
  const [size, setSize] = useState<{ w: number; h: number } | null>(null);
  // Scale up by whole factors (crisp pixels) until the image is about card-sized.
  const scale = size ? Math.max(1, Math.min(Math.floor(640 / size.w), Math.floor(360 / size.h))) : 1;
  const small = size !== null && (scale >= 2 || size.w < 128 || size.h < 128);
  return (
    <a href={`/api/media/${item.id}`} target="_blank" rel="noreferrer" className="media-frame" title="Open the original">
      <img
        src={`/api/media/${item.id}`}
        alt={`${item.key} at step ${item.step}${item.caption ? `: ${item.caption}` : ""}`}
        className={small ? "pixelated" : undefined}
        style={size ? { width: size.w * scale, maxWidth: "100%" } : undefined}
        onLoad={(e) => setSize({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })}
      />
    </a>
  );
}

function MediaCard({ mediaKey, items }: { mediaKey: string; items: MediaItem[] }) {
  const [index, setIndex] = useState<number | null>(null);
  const i = index === null ? items.length - 1 : Math.min(index, items.length - 1);
  const item = items[i]!;
  return (
    <figure className="media-card card" aria-label={`Media ${mediaKey}`}>
      <figcaption>
        <span className="chart-title mono">{mediaKey}</span>
        <span className="muted small">step {item.step}</span>
      </figcaption>
      <RunImage item={item} />
      {item.caption && <p className="caption">{item.caption}</p>}
      {items.length > 1 && (
        <label className="field inline step-slider">
          <span>Step</span>
          <input
            type="range"
            min={0}
            max={items.length - 1}
            value={i}
            onChange={(e) => setIndex(Number(e.target.value) === items.length - 1 ? null : Number(e.target.value))}
            aria-label={`${mediaKey} step`}
            aria-valuetext={`step ${item.step}`}
          />
          <span className="mono small">
            {i + 1}/{items.length}
          </span>
        </label>
      )}
    </figure>
  );
}

export function MediaGallery({ media }: { media: MediaItem[] }) {
  const byKey = new Map<string, MediaItem[]>();
  for (const m of media) {
    const list = byKey.get(m.key) ?? [];
    list.push(m);
    byKey.set(m.key, list);
  }
  return (
    <div className="media-grid">
      {[...byKey].map(([key, items]) => (
        <MediaCard key={key} mediaKey={key} items={items.sort((a, b) => a.step - b.step)} />
      ))}
    </div>
  );
}
