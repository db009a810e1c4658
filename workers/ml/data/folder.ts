/**
 * Folder datasets in the layout of the public crack sets (DESIGN.md §2):
 *   ROOT/Negative/*            normal images (label 0)
 *   ROOT/Positive/*            cracked images (label 1)
 *   ROOT/Masks/<stem>.png      optional crack masks for the positives (crack = bright, > 127)
 * JPEG or PNG (anything sharp reads), any size. Sample ids are "<Class>/<stem>" (e.g. "Positive/00001"):
 * the public sets reuse file names across the two classes, so the stem alone is not unique.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { decodeImage, decodeMask } from "../image";
import { inSplit } from "./split";
import type { LoadedDataset, LoadOptions, Sample } from "./types";

export const DATASET_LAYOUT =
  "expected ROOT/Negative/* (normal), ROOT/Positive/* (cracked) and optionally ROOT/Masks/<same stem>.png";

/** Extensions tried as images; other files in a class folder are reported as skipped. */
const IMAGE_EXTENSIONS = new Set([".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".avif"]);

export interface FolderEntry {
  /** "Negative/<stem>" or "Positive/<stem>": unique in the dataset, hashed for the split. */
  id: string;
  label: 0 | 1;
  path: string;
  /** The positive's mask file, if the dataset has one for it. */
  maskPath: string | null;
}

export interface FolderListing {
  root: string;
  /** Sorted by class (Negative first), then by file name. */
  entries: FolderEntry[];
  /** True when ROOT/Masks exists: negatives then get all-zero masks, positives their mask (or null if missing). */
  hasMasks: boolean;
  /** Files in a class folder that are not images by their extension. */
  skipped: { path: string; reason: string }[];
}

/** Lists a folder dataset without decoding anything. Throws when ROOT is missing or has neither class folder. */
export async function listFolderDataset(root: string): Promise<FolderListing> {
  const rootDir = path.resolve(root);
  let rootNames: string[];
  try {
    if (!(await stat(rootDir)).isDirectory()) throw new Error("not a directory");
    rootNames = await readdir(rootDir);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (err as Error).message;
    throw new Error(`dataset folder ${rootDir} ${why}; ${DATASET_LAYOUT}`);
  }
  const negativeDir = await findSubdir(rootDir, rootNames, "Negative");
  const positiveDir = await findSubdir(rootDir, rootNames, "Positive");
  const masksDir = await findSubdir(rootDir, rootNames, "Masks");
  if (!negativeDir && !positiveDir) {
    throw new Error(`dataset folder ${rootDir} has neither a Negative nor a Positive folder; ${DATASET_LAYOUT}`);
  }

  const skipped: FolderListing["skipped"] = [];
  const maskByStem = new Map<string, string>();
  if (masksDir) {
    for (const file of await listFiles(masksDir)) {
      const ext = path.extname(file).toLowerCase();
      if (!IMAGE_EXTENSIONS.has(ext)) continue;
      const stem = path.basename(file, path.extname(file));
      // Prefer the documented .png when a stem has several mask files.
      if (!maskByStem.has(stem) || ext === ".png") maskByStem.set(stem, path.join(masksDir, file));
    }
  }

  const entries: FolderEntry[] = [];
  for (const [dir, label, className] of [
    [negativeDir, 0, "Negative"],
    [positiveDir, 1, "Positive"],
  ] as const) {
    if (!dir) continue;
    for (const file of await listFiles(dir)) {
      const filePath = path.join(dir, file);
      const ext = path.extname(file).toLowerCase();
      if (!IMAGE_EXTENSIONS.has(ext)) {
        skipped.push({ path: filePath, reason: `not an image file (extension "${ext || "none"}")` });
        continue;
      }
      const stem = path.basename(file, path.extname(file));
      entries.push({
        id: `${className}/${stem}`,
        label,
        path: filePath,
        maskPath: label === 1 ? (maskByStem.get(stem) ?? null) : null,
      });
    }
  }
  return { root: rootDir, entries, hasMasks: masksDir !== null, skipped };
}

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

/** The sub-folder whose name matches `name` (exact first, then ignoring case), or null. */
async function findSubdir(rootDir: string, names: string[], name: string): Promise<string | null> {
  const match = names.find((n) => n === name) ?? names.find((n) => n.toLowerCase() === name.toLowerCase());
  if (!match) return null;
  const dir = path.join(rootDir, match);
  return (await stat(dir)).isDirectory() ? dir : null;
}

/** Plain files of a folder (hidden files such as .DS_Store ignored), sorted by code point for stability. */
async function listFiles(dir: string): Promise<string[]> {
  const dirents = await readdir(dir, { withFileTypes: true });
  return dirents
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && !d.name.startsWith("."))
    .map((d) => d.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
