/** A sweep's grid: the cartesian product of chosen values of config fields, each point one child config. */

export interface GridAxis {
  /** A config field, or a dotted path into a nested one ("data.synthetic.seed"). */
  field: string;
  values: unknown[];
}

export interface GridPoint {
  /** The field values this point takes, in axis order. */
  assignment: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** More children than this is almost surely a typo in a value list. */
export const maxSweepChildren = 64;

export function gridSize(grid: GridAxis[]): number {
  return grid.reduce((n, axis) => n * axis.values.length, 1);
}

/** Every point of the grid, the first axis varying slowest. */
export function expandGrid(base: Record<string, unknown>, grid: GridAxis[]): GridPoint[] {
  let points: Record<string, unknown>[] = [{}];
  for (const axis of grid) points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.field]: v })));
  return points.map((assignment) => {
    const config = structuredClone(base);
    for (const [path, value] of Object.entries(assignment)) setPath(config, path, value);
    return { assignment, config };
  });
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** "sampler=ddim, steps=5": how a child is named and told apart from its siblings. */
export function describeAssignment(assignment: Record<string, unknown>): string {
  return Object.entries(assignment)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}
