/** The whole data model in one file. Every table the UI lists has an index for that list's query. */
import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigserial,
  boolean,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
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
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    notes: text("notes").notNull().default(""),
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
  },
  (t) => [
    index("runs_created_idx").on(t.createdAt.desc()),
    index("runs_status_idx").on(t.status, t.heartbeatAt),
    index("runs_parent_idx").on(t.parentId),
    index("runs_kind_idx").on(t.kind, t.createdAt.desc()),
  ],
);

/** One row per (run, key, step): a point sent twice (a retried batch) overwrites, never duplicates. */
export const metrics = pgTable(
  "metrics",
  {
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    step: integer("step").notNull(),
    value: doublePrecision("value").notNull(),
    wallTime: timestamp("wall_time", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.key, t.step] })],
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

/** Checkpoints and other files a run produces. */
export const artifacts = pgTable(
  "artifacts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind").notNull(),
    bytes: bytea("bytes").notNull(),
    size: integer("size").notNull(),
    meta: jsonb("meta").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("artifacts_run_name_idx").on(t.runId, t.name)],
);

export const runLogs = pgTable(
  "run_logs",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: uuid("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    line: text("line").notNull(),
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

/** The research plan: one row per weekly milestone. */
export const milestones = pgTable(
  "milestones",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    week: integer("week").notNull(),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    dueDate: timestamp("due_date", { withTimezone: true }),
    doneAt: timestamp("done_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [index("milestones_week_idx").on(t.week)],
);

/** Read-only dashboards for supervisors: the token in the URL is the only credential. */
export const shareLinks = pgTable("share_links", {
  token: text("token").primaryKey(),
  title: text("title").notNull(),
  /** What the link shows, e.g. { runIds: [...] } or { tag: "week3" }. */
  scope: jsonb("scope").$type<Record<string, unknown>>().notNull(),
  createdBy: uuid("created_by").notNull().references(() => users.id),
  createdAt: createdAt(),
  expiresAt: timestamp("expires_at", { withTimezone: true }),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
});
