/**
 * The runs list, paged by keyset: a page starts after the last row of the previous one (its sort value and id,
 * carried in an opaque cursor), so page 200 costs what page 1 costs. Each filter has an index in that order.
 */
import { and, asc, desc, eq, ilike, isNotNull, isNull, sql, type SQL } from "drizzle-orm";
import type { Database } from "./client";
import { runs, users, type RunStatus } from "./schema";

export interface RunsFilter {
  status?: RunStatus;
  kind?: string;
  /** Part of the name, case-insensitive. */
  search?: string;
  parentId?: string;
  sweepId?: string;
  /** Runs carrying this tag. */
  tag?: string;
  /** Archived runs: hidden (the default), included, or the only ones listed. */
  archived?: "hide" | "include" | "only";
}

/** Newest first, or by a number in the runs' summaries (runs without it last). */
export type RunsSort = { by: "created" } | { by: "summary"; key: string; dir: "asc" | "desc" };

export class InvalidCursorError extends Error {
  constructor() {
    super("cursor: not a cursor this list returned (it belongs to another sort, or was altered)");
    this.name = "InvalidCursorError";
  }
}

type CursorValue = string | number | null;

function encodeCursor(value: CursorValue, id: string): string {
  return Buffer.from(JSON.stringify([value, id])).toString("base64url");
}

function decodeCursor(cursor: string, sort: RunsSort): [CursorValue, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError();
  }
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[1] !== "string" || !uuid.test(parsed[1])) throw new InvalidCursorError();
  const [value, id] = parsed as [unknown, string];
  const ok = sort.by === "created" ? typeof value === "string" && !Number.isNaN(Date.parse(value)) : value === null || typeof value === "number";
  if (!ok) throw new InvalidCursorError();
  return [value as CursorValue, id];
}

function filterConditions(f: RunsFilter): SQL[] {
  const where: SQL[] = [];
  if (f.status) where.push(eq(runs.status, f.status));
  if (f.kind) where.push(eq(runs.kind, f.kind));
  if (f.search) where.push(ilike(runs.name, `%${f.search.replace(/[%_\\]/g, "\\$&")}%`));
  if (f.parentId) where.push(eq(runs.parentId, f.parentId));
  if (f.sweepId) where.push(eq(runs.sweepId, f.sweepId));
  if (f.tag) where.push(sql`${runs.tags} @> array[${f.tag}::text]`);
  if ((f.archived ?? "hide") === "hide") where.push(isNull(runs.archivedAt));
  if (f.archived === "only") where.push(isNotNull(runs.archivedAt));
  return where;
}

/** The sort's value per row (what the cursor carries), its ORDER BY, and "after the cursor" as a condition. */
function ordering(sort: RunsSort) {
  if (sort.by === "created") {
    return {
      value: sql<string>`${runs.createdAt}::text`,
      orderBy: [desc(runs.createdAt), desc(runs.id)],
      after: ([at, id]: [CursorValue, string]) => sql`(${runs.createdAt}, ${runs.id}) < (${at}::timestamptz, ${id}::uuid)`,
    };
  }
  const v = sql<number | null>`(case when jsonb_typeof(${runs.summary} -> ${sort.key}::text) = 'number'
    then (${runs.summary} ->> ${sort.key}::text)::float8 end)`;
  const beyond = sort.dir === "desc" ? sql.raw("<") : sql.raw(">");
  const direction = sort.dir === "desc" ? desc : asc;
  return {
    value: v,
    orderBy: [sql`${v} ${sql.raw(sort.dir)} nulls last`, direction(runs.id)],
    after: ([value, id]: [CursorValue, string]) =>
      value === null
        ? sql`(${v} is null and ${runs.id} ${beyond} ${id}::uuid)`
        : sql`(${v} ${beyond} ${value}::float8 or (${v} = ${value}::float8 and ${runs.id} ${beyond} ${id}::uuid) or ${v} is null)`,
  };
}

export interface RunsPageQuery {
  filter?: RunsFilter;
  sort?: RunsSort;
  limit: number;
  /** From the previous page's `nextCursor`; absent for the first page. */
  cursor?: string;
}

export async function listRuns(db: Database, q: RunsPageQuery) {
  const sort = q.sort ?? { by: "created" };
  const order = ordering(sort);
  const where = filterConditions(q.filter ?? {});
  const after = q.cursor ? order.after(decodeCursor(q.cursor, sort)) : undefined;
  const [rows, [count]] = await Promise.all([
    db
      .select({
        id: runs.id,
        kind: runs.kind,
        name: runs.name,
        status: runs.status,
        tags: runs.tags,
        archivedAt: runs.archivedAt,
        sweepId: runs.sweepId,
        summary: runs.summary,
        createdAt: runs.createdAt,
        startedAt: runs.startedAt,
        finishedAt: runs.finishedAt,
        backend: runs.backend,
        launchedBy: users.name,
        sortValue: order.value,
      })
      .from(runs)
      .leftJoin(users, eq(users.id, runs.launchedBy))
      .where(and(...where, after))
      .orderBy(...order.orderBy)
      .limit(q.limit + 1),
    db.select({ n: sql<number>`count(*)::int` }).from(runs).where(and(...where)),
  ]);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    runs: page.map(({ sortValue: _, ...r }) => r),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.sortValue, last.id) : null,
    total: count?.n ?? 0,
  };
}
