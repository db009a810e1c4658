/**
 * Folder datasets in the layout of the public crack sets:
 *   ROOT/Negative/*            normal images (label 0)
 *   ROOT/Positive/*            cracked images (label 1)
 *   ROOT/Masks/<stem>.png      optional crack masks for the positives (crack = bright, > 127)
 * JPEG or PNG (anything sharp reads), any size. Sample ids are "<Class>/<stem>" (e.g. "Positive/00001"):
 * the public sets reuse file names across the two classes, so the stem alone is not unique.
 */
import { decodeImage, decodeMask } from "../image";
import { listFolderDataset, type FolderEntry } from "./listing";
import { inSplit } from "./split";
import type { LoadedDataset, LoadOptions, Sample } from "./types";

export { DATASET_LAYOUT, listFolderDataset, type FolderEntry, type FolderListing } from "./listing";

export interface FolderLoadOptions extends Partial<LoadOptions> {
  size: number;
  /** How many files are decoded at once (sharp works on libuv's thread pool). Default 8. */
  concurrency?: number;
  /** Called after each decoded file, e.g. to show progress on stderr. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Loads a folder dataset: decodes every image of the requested split (grayscale by default, RGB with
 * channels 3), resizes to size × size, and loads masks for positives (nearest neighbour, > 127 = crack).
 * Corrupt or unreadable files are skipped and listed with the reason, never fatal. Order is deterministic:
 * by class (Negative first), then by file name.
 */
export async function loadFolderDataset(root: string, opts: FolderLoadOptions): Promise<LoadedDataset> {
  const { size, channels = 1, split = "all", testFraction = 0.3, valFraction = 0, concurrency = 8, onProgress } = opts;
  if (!Number.isInteger(size) || size < 1 || size > 4096) throw new Error(`size must be an integer in 1..4096, got ${size}`);
  if (channels !== 1 && channels !== 3) throw new Error(`channels must be 1 or 3, got ${String(channels)}`);
  if (!["all", "train", "val", "test", "train+test"].includes(split)) throw new Error(`split must be train, val, test or all, got "${String(split)}"`);
  if (!(testFraction >= 0 && testFraction <= 1)) throw new Error(`testFraction must be in [0, 1], got ${testFraction}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);

  const listing = await listFolderDataset(root);
  const entries = listing.entries.filter((e) => inSplit(e.id, split, testFraction, valFraction));

  // One slot per entry so the output order does not depend on which decode finishes first.
  const results: ({ sample: Sample; maskError?: string } | { error: string } | undefined)[] = new Array(entries.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < entries.length) {
      const index = next++;
      results[index] = await loadEntry(entries[index]!, size, channels, listing.hasMasks);
      onProgress?.(++done, entries.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));

  const samples: Sample[] = [];
  const skipped = [...listing.skipped];
  results.forEach((result, i) => {
    const entry = entries[i]!;
    if (!result || "error" in result) {
      skipped.push({ path: entry.path, reason: result?.error ?? "not decoded" });
      return;
    }
    if (result.maskError) skipped.push({ path: entry.maskPath!, reason: `mask: ${result.maskError}` });
    samples.push(result.sample);
  });
  return { samples, size, channels, skipped };
}

async function loadEntry(
  entry: FolderEntry,
  size: number,
  channels: 1 | 3,
  hasMasks: boolean,
): Promise<{ sample: Sample; maskError?: string } | { error: string }> {
  let image: Float32Array;
  try {
    image = await decodeImage(entry.path, { size, channels });
  } catch (err) {
    return { error: errorText(err) };
  }
  let mask: Uint8Array | null = null;
  let maskError: string | undefined;
  if (entry.label === 0 && hasMasks) {
    mask = new Uint8Array(size * size); // a normal image has no crack pixels
  } else if (entry.maskPath) {
    try {
      mask = await decodeMask(entry.maskPath, size);
    } catch (err) {
      maskError = errorText(err); // keep the image; only its pixel-level ground truth is lost
    }
  }
  return { sample: { id: entry.id, label: entry.label, image, mask, source: entry.path }, maskError };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
