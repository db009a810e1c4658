/**
 * A lab as the web server sees it, for tests that go through its HTTP handlers in-process: a throwaway database
 * that the server's own services() connect to, one account per role (and a disabled one), real session cookies
 * sealed with the server's secret (as sign-in issues them), and a run with an image and an artifact.
 */
import { encode } from "next-auth/jwt";
import { saveArtifact } from "../../db/artifacts";
import { dashboards, media, runs, shareLinks, users, type Role } from "../../db/schema";
import { SESSION_MAX_AGE_S } from "../../server/auth/options";
import { hashPassword } from "../../server/auth/password";
import { appRouter } from "../../server/routers";
import { services } from "../../server/services";
import { newShareToken } from "../../server/share";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { createTestDatabase, type TestDatabase } from "./db";

/** Everyone who may knock: the table columns of the access matrix. */
export const callers = ["anonymous", "share", "disabled", "viewer", "member", "admin"] as const;
export type Caller = (typeof callers)[number];

export const PASSWORD = "correct horse battery";
export const SETUP_TOKEN = "the-token-npm-start-printed";

export interface Lab {
  ids: Record<Role | "disabled", string>;
  run: { id: string; mediaId: number; artifactId: number };
  /** A live view-only link to a dashboard whose gallery shows the run's image: what a share-link holder has. */
  shareToken: string;
  /** The Cookie header a caller's browser would send (none for anonymous and share-link holders). */
  cookie(caller: Caller): Promise<string | null>;
  /** A tRPC caller as that account, with no HTTP in between. */
  caller(role: Role | null): Promise<AppCaller>;
  close(): Promise<void>;
}

const createCaller = createCallerFactory(appRouter);
type AppCaller = ReturnType<typeof createCaller>;
const SECRET = "a-test-session-secret-of-enough-length";

export async function startLab(prefix = "crackdiff_lab"): Promise<Lab> {
  const adminUrl = process.env.DATABASE_URL;
  const database: TestDatabase = await createTestDatabase(prefix);
  // The server's modules read these on first use; nothing has used them yet in this test process.
  process.env.DATABASE_URL = database.url;
  process.env.NEXTAUTH_SECRET = SECRET;
  process.env.CRACKDIFF_SETUP_TOKEN = SETUP_TOKEN;
  delete process.env.NEXTAUTH_URL;
  const { db } = services();

  const passwordHash = await hashPassword(PASSWORD);
  const ids = {} as Lab["ids"];
  for (const role of ["admin", "member", "viewer", "disabled"] as const) {
    const [row] = await db
      .insert(users)
      .values({ email: `${role}@lab.test`, name: role, role: role === "disabled" ? "member" : role, passwordHash })
      .returning();
    ids[role] = row!.id;
  }
  const caller = async (role: Role | null) => createCaller(await createContextInner({ services: services(), userId: role ? ids[role] : null }));

  // The disabled account signed in while it was active; then an admin disabled it (which raises its version).
  const disabledCookie = await sessionCookie(ids.disabled, 0);
  await (await caller("admin")).users.update({ id: ids.disabled, disabled: true });

  const [run] = await db.insert(runs).values({ kind: "smoke", name: "lab run", config: { steps: 1 }, status: "finished", launchedBy: ids.member }).returning();
  const [image] = await db.insert(media).values({ runId: run!.id, key: "heatmap", step: 0, png: Buffer.from("\x89PNG fake") }).returning();
  const artifact = await saveArtifact(services().sql, { runId: run!.id, name: "checkpoint", kind: "checkpoint" }, Buffer.from("checkpoint bytes"));

  const [dashboard] = await db
    .insert(dashboards)
    .values({ title: "For the supervisors", panels: [{ type: "gallery", runId: run!.id, keys: ["heatmap"] }], createdBy: ids.member })
    .returning();
  const share = newShareToken();
  await db.insert(shareLinks).values({ tokenHash: share.tokenHash, dashboardId: dashboard!.id, createdBy: ids.member });

  return {
    ids,
    run: { id: run!.id, mediaId: image!.id, artifactId: artifact.id },
    shareToken: share.token,
    async cookie(who) {
      if (who === "anonymous" || who === "share") return null;
      if (who === "disabled") return disabledCookie;
      return sessionCookie(ids[who], 0);
    },
    caller,
    async close() {
      await services().sql.end({ timeout: 5 });
      process.env.DATABASE_URL = adminUrl;
      await database.drop();
    },
  };
}

export interface ProcedureDef {
  _def: { type: "query" | "mutation" | "subscription"; inputs: unknown[] };
}

/** Every procedure of the app's router by its dotted path ("runs.get"): tRPC keeps them flat at run time. */
export const allProcedures = () => appRouter._def.procedures as unknown as Record<string, ProcedureDef>;

let counter = 0;
const unique = (what: string) => `${what}-${++counter}@lab.test`;
const missingId = "00000000-0000-4000-8000-000000000000";

/**
 * A valid input for every procedure that takes one, so a call reaches its handler. A new procedure with input
 * needs a line here (the access matrix and the bad-input properties start from these).
 */
export function validInputs(lab: Pick<Lab, "ids" | "run" | "shareToken">): Record<string, () => unknown> {
  return {
    "auth.setup": () => ({ token: SETUP_TOKEN, email: unique("setup"), name: "S", password: "0123456789" }),
    "auth.invite": () => ({ token: "no-such-invitation" }),
    "auth.acceptInvite": () => ({ token: "no-such-invitation", name: "N", password: "0123456789" }),
    "users.create": () => ({ email: unique("created"), name: "C", role: "viewer", password: "0123456789" }),
    "users.invite": () => ({ email: unique("invited"), role: "viewer" }),
    "users.revokeInvite": () => ({ id: missingId }),
    "users.update": () => ({ id: lab.ids.viewer, role: "viewer" }),
    "runs.list": () => ({}),
    "runs.get": () => ({ id: lab.run.id }),
    "runs.metrics": () => ({ runIds: [lab.run.id] }),
    "runs.logs": () => ({ id: lab.run.id }),
    "runs.launch": () => ({ kind: "smoke", config: { steps: 1 } }),
    "runs.relaunch": () => ({ id: lab.run.id }),
    "runs.cancel": () => ({ id: lab.run.id }),
    "runs.resume": () => ({ id: lab.run.id }),
    "runs.update": () => ({ id: lab.run.id, notes: "checked" }),
    "runs.metricsCsv": () => ({ id: lab.run.id }),
    "runs.metricsAfter": () => ({ runId: lab.run.id, after: { "train/loss": 10 } }),
    "runs.compare": () => ({ ids: [lab.run.id] }),
    "sweeps.launch": () => ({ kind: "smoke", name: unique("sweep"), config: { steps: 1 }, grid: [{ field: "seed", values: [0, 1] }] }),
    "sweeps.get": () => ({ id: missingId }),
    "leaderboards.get": () => ({}),
    "leaderboards.failures": () => ({}),
    "leaderboards.csv": () => ({}),
    "plan.update": () => ({ id: missingId, notes: "on track" }),
    "plan.linkRun": () => ({ milestoneId: missingId, runId: lab.run.id }),
    "plan.unlinkRun": () => ({ milestoneId: missingId, runId: lab.run.id }),
    "dashboards.get": () => ({ id: missingId }),
    "dashboards.create": () => ({ title: "Week 3", body: "notes" }),
    "dashboards.update": () => ({ id: missingId, title: "Week 3" }),
    "dashboards.delete": () => ({ id: missingId }),
    "dashboards.report": () => ({ id: missingId }),
    "share.create": () => ({ dashboardId: missingId }),
    "share.list": () => ({ dashboardId: missingId }),
    "share.revoke": () => ({ id: missingId }),
    "share.view": () => ({ token: lab.shareToken }),
  };
}

/** The cookie sign-in sets: a NextAuth JWT (encrypted with the server's secret) naming the account and its version. */
export async function sessionCookie(userId: string, sessionVersion: number, maxAge = SESSION_MAX_AGE_S): Promise<string> {
  const token = await encode({ token: { sub: userId, sessionVersion }, secret: SECRET, maxAge });
  return `next-auth.session-token=${token}`;
}
