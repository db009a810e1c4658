/**
 * Data roots: the only folders runs may read datasets from. A dataset folder is resolved with realpath, so
 * neither `..` nor a symlink can lead out of them. Checked by the server when a run is launched and by the
 * worker before it reads. The refusal is the same for a folder outside the roots and one that does not exist,
 * so it never tells whether some outside path exists.
 */
import { realpath, stat } from "node:fs/promises";
import path from "node:path";

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
