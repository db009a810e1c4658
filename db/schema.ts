/** The whole data model in one file. Every table the UI lists has an index for that list's query. */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  pgView,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });
const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const roleEnum = pgEnum("role", ["admin", "member", "viewer"]);
export type Role = (typeof roleEnum.enumValues)[number];

/** Run states as the trackers users know them; `crashed` = its worker stopped heartbeating. */
export const runStatusEnum = pgEnum("run_status", ["queued", "running", "finished", "failed", "killed", "crashed"]);
export type RunStatus = (typeof runStatusEnum.enumValues)[number];
export const terminalStatuses: readonly RunStatus[] = ["finished", "failed", "killed", "crashed"];

export const users = pgTable("users", {
  id: uuid("id").primaryKey().defaultRandom(),
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  role: roleEnum("role").notNull(),
  passwordHash: text("password_hash").notNull(),
  disabled: boolean("disabled").notNull().default(false),
  /** Sessions carry the version they were issued at; raising it (on disabling) ends every open session. */
  sessionVersion: integer("session_version").notNull().default(0),
  createdAt: createdAt(),
});

/** Failed sign-ins per key ("account:<email>" or "address:<ip>") in the current window: the rate limit. */
export const signInFailures = pgTable("sign_in_failures", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  windowStart: timestamp("window_start", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * An admin's invitation: the link carries the token; the invitee picks a name and password. Only the token's
 * SHA-256 is stored, so a leaked database holds no usable links.
 */
export const invites = pgTable("invites", {
  id: uuid("id").primaryKey().defaultRandom(),
  tokenHash: text("token_hash").notNull().unique(),
  email: text("email").notNull(),
  role: roleEnum("role").notNull(),
  createdBy: uuid("created_by").notNull().references(() => users.id),
  createdAt: createdAt(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  usedAt: timestamp("used_at", { withTimezone: true }),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
});

export const runs = pgTable(
  "runs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    kind: text("kind").notNull(),
    name: text("name").notNull(),
    status: runStatusEnum("status").notNull().default("queued"),
    config: jsonb("config").$type<Record<string, unknown>>().notNull(),
    /** The sweep (or study) this run belongs to. */
    parentId: uuid("parent_id").references((): AnyPgColumn => runs.id, { onDelete: "set null" }),
    launchedBy: uuid("launched_by").references(() => users.id),
    /** The sweep that launched this run, one child per grid point. */
    sweepId: uuid("sweep_id").references((): AnyPgColumn => sweeps.id, { onDelete: "set null" }),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    notes: text("notes").notNull().default(""),
    /** Archived runs are hidden from the runs list unless asked for. */
    archivedAt: timestamp("archived_at", { withTimezone: true }),
    createdAt: createdAt(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }),
    workerId: text("worker_id"),
    backend: text("backend"),
    device: text("device"),
    summary: jsonb("summary").$type<Record<string, number | string | null>>().notNull().default({}),
    error: text("error"),
    cancelRequested: boolean("cancel_requested").notNull().default(false),
    /** How many times the run was put back in the queue after a crash or a worker's shutdown. */
    attempt: integer("attempt").notNull().default(0),
  },
  // The runs list pages by keyset on (created_at, id), newest first: a backward scan of each of these indexes
  // yields that order for its filter, so a page reads only its own rows.
  (t) => [
    index("runs_created_idx").on(t.createdAt, t.id),
    index("runs_status_idx").on(t.status, t.heartbeatAt),
    index("runs_status_created_idx").on(t.status, t.createdAt, t.id),
    index("runs_parent_idx").on(t.parentId, t.createdAt, t.id),
    index("runs_kind_idx").on(t.kind, t.createdAt, t.id),
    index("runs_sweep_idx").on(t.sweepId, t.createdAt, t.id),
    index("runs_tags_idx").using("gin", t.tags),
  ],
);

/**
 * A grid over config fields of one run kind: one child run per grid point (`runs.sweep_id`). The base config
 * and the grid are kept so the sweep page can say which values each child took.
 */
export const sweeps = pgTable(
  "sweeps",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
    baseConfig: jsonb("base_config").$type<Record<string, unknown>>().notNull(),
    /** [{ field: "sampler", values: ["ddpm", "ddim"] }, …]; a field may be a dotted path into the config. */
    grid: jsonb("grid").$type<{ field: string; values: unknown[] }[]>().notNull(),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    launchedBy: uuid("launched_by").references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [index("sweeps_created_idx").on(t.createdAt.desc())],
);

/**
 * One row per series (a run's key): its integer id, which the points and rollups are keyed by instead of
 * (run, key), and its size and extent, kept with every write so a chart knows its range at once. It holds the
 * key to `runs`; deleting a series deletes its chunks and rollups by a trigger (set in the migration), as they
 * have no foreign key. `key` has the "C" collation (set in the migration): keys compare byte by byte.
 */
export const metricSeries = pgTable(
  "metric_series",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    count: integer("count").notNull(),
    firstStep: integer("first_step").notNull(),
    lastStep: integer("last_step").notNull(),
  },
  (t) => [uniqueIndex("metric_series_run_key_idx").on(t.runId, t.key)],
);

/**
 * A series' points, stored in chunks: one row holds the points one write brought for one aligned block of
 * CHUNK_STEPS steps (db/metrics.ts), as parallel arrays in step order. A 10,000-point batch is a few dozen rows
 * instead of 10,000, which is what makes ingestion cheap. Chunks of one block written at different times may
 * interleave, but never share a step: the writer skips points already stored. Wall times are ms after the
 * chunk's `wall_time`. Rows stay in the heap page, uncompressed (storage settings in the migration).
 * The `metrics` view below unnests them into one row per point.
 */
export const metricChunks = pgTable(
  "metric_chunks",
  {
    seriesId: integer("series_id").notNull(),
    firstStep: integer("first_step").notNull(),
    lastStep: integer("last_step").notNull(),
    steps: integer("steps").array().notNull(),
    vals: doublePrecision("vals").array().notNull(),
    wallTime: timestamp("wall_time", { withTimezone: true }).notNull(),
    wallMs: integer("wall_ms").array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.seriesId, t.firstStep] })],
);

/**
 * Every stored point, one row each (run, key, step, value, wall time): a view over `metric_chunks` (created in the
 * migration) for the readers that want points one by one, such as the CSV export and the dashboards. Charts read
 * the rollups, and live tails the chunks directly (db/metrics.ts).
 */
export const metrics = pgView("metrics", {
  runId: uuid("run_id").notNull(),
  key: text("key").notNull(),
  step: integer("step").notNull(),
  value: doublePrecision("value").notNull(),
  wallTime: timestamp("wall_time", { withTimezone: true }).notNull(),
}).existing();

/**
 * Multi-resolution rollups of each series: at level L (1–7) a row covers the w = 4^(L+1) steps [bucket·w, (bucket+1)·w)
 * and keeps their min, max, sum and count, so a chart of any range reads at most ~4 rows per bucket it draws.
 * Updated by the same statement that inserts the points. No foreign key: its check per upserted row would cost
 * about as much as the upsert.
 */
export const metricRollups = pgTable(
  "metric_rollups",
  {
    seriesId: integer("series_id").notNull(),
    level: smallint("level").notNull(),
    bucket: integer("bucket").notNull(),
    min: doublePrecision("min").notNull(),
    max: doublePrecision("max").notNull(),
    sum: doublePrecision("sum").notNull(),
    count: integer("count").notNull(),
    /** When the bucket's latest point was logged: charts against wall-clock time. */
    lastWallTime: timestamp("last_wall_time", { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.seriesId, t.level, t.bucket] })],
);

export const media = pgTable(
  "media",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    step: integer("step").notNull(),
    png: bytea("png").notNull(),
    caption: text("caption"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("media_run_key_step_idx").on(t.runId, t.key, t.step)],
);

/** Checkpoints and other files a run produces; their bytes live in `artifact_chunks`. */
export const artifacts = pgTable(
  "artifacts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
    size: integer("size").notNull(),
    meta: jsonb("meta").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("artifacts_run_name_idx").on(t.runId, t.name)],
);

/** An artifact's bytes in fixed-size pieces, so neither writer nor reader ever holds a whole checkpoint. */
export const artifactChunks = pgTable(
  "artifact_chunks",
  {
    artifactId: bigint("artifact_id", { mode: "number" }).notNull().references(() => artifacts.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    bytes: bytea("bytes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.artifactId, t.seq] })],
);

export const runLogs = pgTable(
  "run_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    line: text("line").notNull(),
    /** The writer's own id for the line, so a write retried after a lost reply adds it once. */
    key: text("key").unique(),
  },
  (t) => [index("run_logs_run_idx").on(t.runId, t.id)],
);

/** Live worker processes; a worker whose heartbeat is older than the timeout counts as gone. */
export const workers = pgTable(
  "workers",
  {
    id: text("id").primaryKey(),
    host: text("host").notNull(),
    pid: integer("pid").notNull(),
    backend: text("backend"),
    device: text("device"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }).notNull().defaultNow(),
    currentRunId: uuid("current_run_id"),
    stoppedAt: timestamp("stopped_at", { withTimezone: true }),
  },
  (t) => [index("workers_heartbeat_idx").on(t.heartbeatAt)],
);

/** Where a week of the research plan stands. */
export const milestoneStatusEnum = pgEnum("milestone_status", ["planned", "in-progress", "done", "blocked"]);
export type MilestoneStatus = (typeof milestoneStatusEnum.enumValues)[number];

/** The research plan: one row per week, seeded on first start (db/plan.ts). */
export const milestones = pgTable("milestones", {
  id: uuid("id").primaryKey().defaultRandom(),
  week: integer("week").notNull().unique(),
  title: text("title").notNull(),
  tasks: text("tasks").array().notNull().default(sql`'{}'::text[]`),
  questions: text("questions").array().notNull().default(sql`'{}'::text[]`),
  status: milestoneStatusEnum("status").notNull().default("planned"),
  ownerId: uuid("owner_id").references(() => users.id, { onDelete: "set null" }),
  dueDate: timestamp("due_date", { withTimezone: true }),
  /** Markdown. */
  notes: text("notes").notNull().default(""),
  createdAt: createdAt(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** Runs a milestone cites as its evidence. */
export const milestoneRuns = pgTable(
  "milestone_runs",
  {
    milestoneId: uuid("milestone_id").notNull().references(() => milestones.id, { onDelete: "cascade" }),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.milestoneId, t.runId] })],
);

/** A saved arrangement of panels (server/dashboards.ts defines them) with a title and Markdown text. */
export const dashboards = pgTable(
  "dashboards",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    title: text("title").notNull(),
    /** Markdown. */
    body: text("body").notNull().default(""),
    panels: jsonb("panels").$type<unknown[]>().notNull().default([]),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("dashboards_updated_idx").on(t.updatedAt.desc())],
);

/**
 * View-only links to one dashboard, for people without an account. Only the SHA-256 of the token is stored:
 * the token itself is shown once, to the member who creates the link.
 */
export const shareLinks = pgTable(
  "share_links",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tokenHash: text("token_hash").notNull().unique(),
    dashboardId: uuid("dashboard_id").notNull().references(() => dashboards.id, { onDelete: "cascade" }),
    createdBy: uuid("created_by").notNull().references(() => users.id),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("share_links_dashboard_idx").on(t.dashboardId)],
);
