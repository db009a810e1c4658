/** One image of a dataset, decoded and resized to the run's resolution. */
export interface Sample {
  /** "<Class>/<file stem>" (or a synthetic name); stable across runs, used for hash splits and per-image results. */
  id: string;
  /** 0 = normal (Negative), 1 = cracked (Positive). */
  label: 0 | 1;
  /** size × size × channels, row-major, values in [0, 1]. */
  image: Float32Array;
  /** size × size, 1 where crack; null when the dataset has no mask for this image. */
  mask: Uint8Array | null;
  /** Where it came from (a file path, or "synthetic:<seed>:<index>"). */
  source: string;
}

/** "train+test" is everything but the validation split (what training with split "all" uses). */
export type Split = "train" | "val" | "test" | "all" | "train+test";

export interface LoadOptions {
  size: number;
  channels: 1 | 3;
  split: Split;
  /** Fraction of each class that goes to the test split (by hash of the file name). */
  testFraction: number;
  /** Fraction that goes to the validation split (by the same hash; default 0). */
  valFraction?: number;
}

export interface LoadedDataset {
  samples: Sample[];
  size: number;
  channels: 1 | 3;
  /** Files that could not be decoded, with the reason; they are skipped, never fatal. */
  skipped: { path: string; reason: string }[];
}
