/**
 * Data roots: the only folders runs may read datasets from. A dataset folder is resolved with realpath, so
 * neither `..` nor a symlink can lead out of them. Checked by the server when a run is launched and by the
 * worker before it reads. The refusal is the same for a folder outside the roots and one that does not exist,
 * so it never tells whether some outside path exists.
 */
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { listFolderDataset } from "./listing";

/** `CRACKDIFF_DATA_ROOTS` (paths separated by `:`), else the repository's `data/` and `<data dir>/datasets`. */
export function dataRoots(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string[] {
  const configured = env.CRACKDIFF_DATA_ROOTS?.split(path.delimiter).map((p) => p.trim()).filter(Boolean);
  if (configured?.length) return configured.map((p) => path.resolve(cwd, p));
  return [path.resolve(cwd, "data"), path.resolve(cwd, env.CRACKDIFF_DATA_DIR ?? ".data", "datasets")];
}

export class DataRootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataRootError";
  }
}

const inside = (p: string, root: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

async function realDir(p: string): Promise<string | null> {
  try {
    const real = await realpath(p);
    return (await stat(real)).isDirectory() ? real : null;
  } catch {
    return null;
  }
}

/**
 * The real path of a dataset folder inside one of `roots`: an absolute path, or one relative to a root (tried in
 * order). Throws DataRootError otherwise.
 */
export async function resolveDatasetFolder(folder: string, roots: readonly string[] = dataRoots()): Promise<string> {
  const realRoots = (await Promise.all(roots.map(realDir))).filter((r): r is string => r !== null);
  const candidates = path.isAbsolute(folder) ? [folder] : roots.map((root) => path.resolve(root, folder));
  for (const candidate of candidates) {
    // Outside every root on its face: refused without touching the file system.
    if (!roots.some((root) => inside(path.resolve(candidate), path.resolve(root)))) continue;
    const real = await realDir(candidate);
    if (real && realRoots.some((root) => inside(real, root))) return real;
  }
  throw new DataRootError(`no dataset folder "${folder}" inside the data roots (${roots.join(", ")})`);
}

export interface DatasetFolder {
  /** What a run config's `data.folder` says: the path relative to its data root. */
  folder: string;
  negatives: number;
  positives: number;
  hasMasks: boolean;
}

/**
 * The dataset folders (ROOT/Negative, ROOT/Positive …) inside the data roots, up to two levels down
 * (`road-crack-sample/train`), for launch forms to pick from. A name found in two roots is listed once, as the
 * first root has it, which is also the one a relative `data.folder` resolves to.
 */
export async function listDatasetFolders(roots: readonly string[] = dataRoots()): Promise<DatasetFolder[]> {
  const found = new Map<string, DatasetFolder>();
  const visit = async (realRoot: string, relative: string, depth: number): Promise<void> => {
    const real = await realDir(path.join(realRoot, relative));
    if (!real || !inside(real, realRoot)) return;
    if (relative && !found.has(relative)) {
      const listing = await listFolderDataset(real).catch(() => null);
      if (listing) {
        const positives = listing.entries.filter((e) => e.label === 1).length;
        found.set(relative, { folder: relative, negatives: listing.entries.length - positives, positives, hasMasks: listing.hasMasks });
        return;
      }
    }
    if (depth === 2) return;
    // a data root, never the app's files: not for `next build` to trace
    const names = await readdir(/* turbopackIgnore: true */ real, { withFileTypes: true }).catch(() => []);
    for (const d of names.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!d.name.startsWith(".") && (d.isDirectory() || d.isSymbolicLink())) await visit(realRoot, path.join(relative, d.name), depth + 1);
    }
  };
  for (const root of roots) {
    const realRoot = await realDir(root);
    if (realRoot) await visit(realRoot, "", 0);
  }
  return [...found.values()].sort((a, b) => a.folder.localeCompare(b.folder));
}
