/** Loads a run's images from its data source (synthetic or a folder) for one split. */
import type { DataSource } from "../config";
import { loadFolderDataset } from "../data/folder";
import { dataRoots, resolveDatasetFolder } from "../data/roots";
import { inSplit } from "../data/split";
import { generateSynthetic } from "../data/synthetic";
import type { LoadedDataset, Split } from "../data/types";

export interface RunDataOptions {
  size: number;
  channels: 1 | 3;
  split: Split;
  testFraction: number;
  /** Share held out as the validation split (thresholds, defaults, in-training evaluation). */
  valFraction: number;
  onProgress?: (done: number, total: number) => void;
  /** Where folder datasets may be: the data roots unless given; "anywhere" for the command line's own user. */
  roots?: readonly string[] | "anywhere";
}

export async function loadRunData(source: DataSource, options: RunDataOptions): Promise<LoadedDataset> {
  const { size, channels, split, testFraction, valFraction } = options;
  if ("folder" in source) {
    const roots = options.roots ?? dataRoots();
    const folder = roots === "anywhere" ? source.folder : await resolveDatasetFolder(source.folder, roots);
    return loadFolderDataset(folder, { size, channels, split, testFraction, valFraction, onProgress: options.onProgress });
  }
  const { count, seed } = source.synthetic;
  if (source.synthetic.size !== undefined && source.synthetic.size !== size) {
    throw new Error(`synthetic size ${source.synthetic.size} differs from the run's size ${size}`);
  }
  if (channels !== 1) throw new Error("the synthetic generator renders grayscale images only (channels 1)");
  const samples = generateSynthetic({ count, size, seed }).filter((s) => inSplit(s.id, split, testFraction, valFraction));
  return { samples, size, channels, skipped: [] };
}

/**
 * The split a model trains on: "train" leaves out validation and test; "all" leaves out only validation,
 * which no training ever sees.
 */
export function trainingSplit(split: "train" | "all"): Split {
  return split === "all" ? "train+test" : "train";
}

/** Reports unreadable files of a load in the run's log (they are skipped, never fatal). */
export function logSkipped(log: (line: string) => void, dataset: LoadedDataset): void {
  if (dataset.skipped.length === 0) return;
  const first = dataset.skipped[0]!;
  log(`skipped ${dataset.skipped.length} unreadable file(s), e.g. ${first.path}: ${first.reason}`);
}

/** A short description of the source for logs and checkpoint metadata. */
export function describeSource(source: DataSource): string {
  return "folder" in source
    ? `folder ${source.folder}`
    : `synthetic count=${source.synthetic.count} seed=${source.synthetic.seed}`;
}
