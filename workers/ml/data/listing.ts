/**
 * Lists a folder dataset (ROOT/Negative, ROOT/Positive, ROOT/Masks) without decoding anything, so the web
 * server can list datasets without loading the image decoder. Its paths are the user's data, never the app's
 * files: `turbopackIgnore` keeps `next build` from tracing the whole project through them.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

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
      if (!maskByStem.has(stem) || ext === ".png") maskByStem.set(stem, path.join(/* turbopackIgnore: true */ masksDir, file));
    }
  }

  const entries: FolderEntry[] = [];
  for (const [dir, label, className] of [
    [negativeDir, 0, "Negative"],
    [positiveDir, 1, "Positive"],
  ] as const) {
    if (!dir) continue;
    for (const file of await listFiles(dir)) {
      const filePath = path.join(/* turbopackIgnore: true */ dir, file);
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
