/**
 * The access matrix: every tRPC procedure and every route handler under app/api, called over their real HTTP
 * handlers (in-process, with real session cookies) by each kind of caller, against the table below. Both lists
 * are enumerated, so a new procedure or route without a row in the table fails here until its access is decided.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import superjson from "superjson";
import type { AccessLevel } from "../../server/access";
import { allProcedures, callers, startLab, validInputs, type Caller, type Lab } from "../helpers/lab";

/**
 * Who each access level lets through. A share-link holder has no account, only a view-only link's token: it
 * opens public doors and, for the media route, the images its link's dashboard shows (`shared`).
 */
type Level = AccessLevel | "shared";
const allowedAt: Record<Level, readonly Caller[]> = {
  public: callers,
  shared: ["share", "viewer", "member", "admin"],
  reader: ["viewer", "member", "admin"],
  member: ["member", "admin"],
  admin: ["admin"],
};

let lab: Lab;

/** Every procedure's access level (its valid input, so an allowed call reaches the handler: validInputs). */
const procedures: Record<string, AccessLevel> = {
  "auth.status": "public",
  "auth.setup": "public",
  "auth.invite": "public",
  "auth.acceptInvite": "public",
  "users.me": "reader",
  "users.list": "admin",
  "users.create": "admin",
  "users.invite": "admin",
  "users.invites": "admin",
  "users.revokeInvite": "admin",
  "users.update": "admin",
  "runs.kinds": "reader",
  "runs.launchChoices": "reader",
  "runs.list": "reader",
  "runs.get": "reader",
  "runs.metrics": "reader",
  "runs.logs": "reader",
  "runs.launch": "member",
  "runs.relaunch": "member",
  "runs.cancel": "member",
  "runs.resume": "member",
  "runs.update": "member",
  "runs.metricsCsv": "reader",
  "runs.metricsAfter": "reader",
  "runs.compare": "reader",
  "runs.tags": "reader",
  "runs.summaryKeys": "reader",
  "sweeps.launch": "member",
  "sweeps.list": "reader",
  "sweeps.get": "reader",
  "leaderboards.get": "reader",
  "leaderboards.failures": "reader",
  "leaderboards.csv": "reader",
  "system.workers": "reader",
  "plan.list": "reader",
  "plan.owners": "reader",
  "plan.update": "member",
  "plan.linkRun": "member",
  "plan.unlinkRun": "member",
  "dashboards.list": "reader",
  "dashboards.get": "reader",
  "dashboards.create": "member",
  "dashboards.update": "member",
  "dashboards.delete": "member",
  "dashboards.report": "reader",
  "share.create": "member",
  "share.list": "member",
  "share.revoke": "member",
  // The share-link holder's one door: the token is the credential (test/platform/share.test.ts tests what it opens).
  "share.view": "public",
};

/** Every route handler, by method and its folder's route pattern. */
const routes: Record<string, { access: Level; url: () => string; body?: () => string; status?: number } | { skip: string }> = {
  "GET /api/health": { access: "public", url: () => "/api/health" },
  "GET /api/media/[id]": { access: "shared", url: () => `/api/media/${lab.run.mediaId}` },
  "GET /api/artifacts/[id]": { access: "reader", url: () => `/api/artifacts/${lab.run.artifactId}` },
  // The tRPC door itself is open; each procedure's rules are the rows above (all called through it).
  "GET /api/trpc/[trpc]": { access: "public", url: () => "/api/trpc/auth.status" },
  "POST /api/trpc/[trpc]": {
    access: "public",
    url: () => "/api/trpc/auth.acceptInvite",
    body: () => JSON.stringify(superjson.serialize({ token: "no-such-invitation", name: "N", password: "0123456789" })),
    status: 404, // reached: the invitation does not exist
  },
  "GET /api/export/leaderboard": { access: "reader", url: () => "/api/export/leaderboard" },
  "GET /api/export/run-metrics/[id]": { access: "reader", url: () => `/api/export/run-metrics/${lab.run.id}` },
  "GET /api/auth/[...nextauth]": { skip: "NextAuth's own handler, which needs Next's request scope: sign-in runs through it in test/e2e/lab.test.ts" },
  "POST /api/auth/[...nextauth]": { skip: "NextAuth's own handler, which needs Next's request scope: sign-in runs through it in test/e2e/lab.test.ts" },
};

const root = path.resolve(__dirname, "..", "..");
const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Handler = (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>;

/** Route files under app/api, as "METHOD /api/…" → the handler and its folder pattern. */
async function routeHandlers(): Promise<Map<string, { handler: Handler; pattern: string }>> {
  const found = new Map<string, { handler: Handler; pattern: string }>();
  const walk = async (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (/^route\.tsx?$/.test(entry.name)) {
        const pattern = "/" + path.relative(path.join(root, "app"), dir).split(path.sep).join("/");
        const mod = (await import(full)) as Partial<Record<(typeof methods)[number], Handler>>;
        for (const m of methods) if (mod[m]) found.set(`${m} ${pattern}`, { handler: mod[m]!, pattern });
      }
    }
  };
  await walk(path.join(root, "app", "api"));
  return found;
}

/** The folder pattern's parameters for a concrete URL: /api/media/[id] + /api/media/7 → { id: "7" }. */
function paramsFor(pattern: string, url: string): Record<string, string | string[]> {
  const parts = pattern.split("/");
  const values = new URL(url, "http://lab.test").pathname.split("/");
  const params: Record<string, string | string[]> = {};
  parts.forEach((p, i) => {
    const catchAll = /^\[\.\.\.(\w+)\]$/.exec(p);
    const one = /^\[(\w+)\]$/.exec(p);
    if (catchAll) params[catchAll[1]!] = values.slice(i);
    else if (one) params[one[1]!] = values[i]!;
  });
  return params;
}

/** A request as the caller's browser sends it: its session cookie, or (a share-link holder) the link's token. */
async function request(caller: Caller, method: string, url: string, body?: string): Promise<Request> {
  const target = new URL(url, "http://lab.test");
  if (caller === "share" && target.pathname.startsWith("/api/") && !target.pathname.startsWith("/api/trpc/")) target.searchParams.set("share", lab.shareToken);
  url = target.toString();
  const headers = new Headers();
  const cookie = await lab.cookie(caller);
  if (cookie) headers.set("cookie", cookie);
  if (body) headers.set("content-type", "application/json");
  return new Request(new URL(url, "http://lab.test"), { method, headers, body });
}

let handlers: Map<string, { handler: Handler; pattern: string }>;
const trpcRoute = () => handlers.get("POST /api/trpc/[trpc]")!;

/** Calls a procedure over the tRPC route handler as the browser would; returns the HTTP status. */
async function callProcedure(caller: Caller, name: string, input: unknown): Promise<{ status: number; code?: string }> {
  const proc = allProcedures()[name]!;
  const encoded = input === undefined ? undefined : JSON.stringify(superjson.serialize(input));
  const url = `/api/trpc/${name}` + (proc._def.type === "query" && encoded ? `?input=${encodeURIComponent(encoded)}` : "");
  const req = await request(caller, proc._def.type === "query" ? "GET" : "POST", url, proc._def.type === "query" ? undefined : encoded);
  const res = await trpcRoute().handler(req, { params: Promise.resolve({ trpc: name }) });
  const payload = (await res.json()) as { error?: { json?: { data?: { code?: string } } } };
  return { status: res.status, code: payload.error?.json?.data?.code };
}

before(async () => {
  lab = await startLab("crackdiff_access");
  handlers = await routeHandlers();
});

after(async () => {
  await lab?.close();
});

describe("access matrix", () => {
  test("every procedure and every route has a row in the table, and every row still exists", () => {
    const names = Object.keys(allProcedures());
    assert.deepEqual(names.filter((n) => !(n in procedures)), [], "procedures without an access row: add them to `procedures`");
    assert.deepEqual(Object.keys(procedures).filter((n) => !names.includes(n)), [], "rows for procedures that no longer exist");
    assert.ok(names.length >= 20, `the router was enumerated (${names.length} procedures)`);
    const keys = [...handlers.keys()];
    assert.deepEqual(keys.filter((k) => !(k in routes)), [], "route handlers without an access row: add them to `routes`");
    assert.deepEqual(Object.keys(routes).filter((k) => !keys.includes(k)), [], "rows for routes that no longer exist");
  });

  for (const [name, access] of Object.entries(procedures)) {
    test(`${name} (${access})`, async () => {
      const input = validInputs(lab)[name];
      if (allProcedures()[name]!._def.inputs.length > 0) assert.ok(input, `${name} takes input: add a valid one to validInputs`);
      for (const caller of callers) {
        const { status, code } = await callProcedure(caller, name, input?.());
        const allowed = allowedAt[access].includes(caller);
        const denied = status === 401 || status === 403;
        if (allowed) assert.ok(!denied && status < 500, `${caller} should reach ${name}, got ${status} ${code}`);
        else assert.ok(denied, `${caller} should be refused ${name}, got ${status} ${code}`);
        if (!allowed) assert.equal(status, caller === "viewer" || caller === "member" ? 403 : 401, `${caller} on ${name}`);
      }
    });
  }

  for (const [key, row] of Object.entries(routes)) {
    test(`${key} (${"skip" in row ? "not called here" : row.access})`, { skip: "skip" in row ? row.skip : false }, async () => {
      if ("skip" in row) return;
      const [method] = key.split(" ");
      const { handler, pattern } = handlers.get(key)!;
      for (const caller of callers) {
        const url = row.url();
        const res = await handler(await request(caller, method!, url, row.body?.()), { params: Promise.resolve(paramsFor(pattern, url)) });
        const allowed = allowedAt[row.access].includes(caller);
        if (allowed) assert.equal(res.status, row.status ?? 200, `${caller} should get ${key}: ${res.status} ${await res.text()}`);
        else assert.ok(res.status === 401 || res.status === 403, `${caller} should be refused ${key}, got ${res.status}`);
      }
    });
  }

  test("files refuse without a session before looking anything up: a missing id is 401, not 404", async () => {
    const media = handlers.get("GET /api/media/[id]")!;
    const anon = await media.handler(await request("anonymous", "GET", "/api/media/999999"), { params: Promise.resolve({ id: "999999" }) });
    assert.equal(anon.status, 401);
    const viewer = await media.handler(await request("viewer", "GET", "/api/media/999999"), { params: Promise.resolve({ id: "999999" }) });
    assert.equal(viewer.status, 404);
    const bad = await media.handler(await request("viewer", "GET", "/api/media/1e3"), { params: Promise.resolve({ id: "1e3" }) });
    assert.equal(bad.status, 400);
  });

  test("a forged or expired session cookie is no session", async () => {
    const artifact = handlers.get("GET /api/artifacts/[id]")!;
    const url = `/api/artifacts/${lab.run.artifactId}`;
    const params = { params: Promise.resolve({ id: String(lab.run.artifactId) }) };
    const forged = new Request(new URL(url, "http://lab.test"), { headers: { cookie: "next-auth.session-token=eyJhbGciOiJub25lIn0.e30." } });
    assert.equal((await artifact.handler(forged, params)).status, 401);
    const { sessionCookie } = await import("../helpers/lab");
    const expired = new Request(new URL(url, "http://lab.test"), { headers: { cookie: await sessionCookie(lab.ids.admin, 0, -60) } });
    assert.equal((await artifact.handler(expired, params)).status, 401);
    const current = new Request(new URL(url, "http://lab.test"), { headers: { cookie: await sessionCookie(lab.ids.admin, 0) } });
    assert.equal((await artifact.handler(current, params)).status, 200);
  });

  test("errors reach callers as messages: no stack traces, for failed runs or refused calls", async () => {
    const { db } = (await import("../../server/services")).services();
    const { runs } = await import("../../db/schema");
    const [failed] = await db
      .insert(runs)
      .values({
        kind: "smoke",
        name: "failed run",
        config: {},
        status: "failed",
        error: "Error: dataset folder has no Negative images\n    at loadFolderDataset (/srv/crackdiff/workers/ml/data/folder.ts:52:11)\n    at async run (/srv/crackdiff/workers/worker.ts:80:7)",
      })
      .returning();
    const viewer = await lab.caller("viewer");
    assert.equal((await viewer.runs.get({ id: failed!.id })).error, "dataset folder has no Negative images");

    const req = await request("viewer", "POST", "/api/trpc/runs.launch", JSON.stringify(superjson.serialize({ kind: "smoke" })));
    const res = await trpcRoute().handler(req, { params: Promise.resolve({ trpc: "runs.launch" }) });
    const body = await res.text();
    assert.equal(res.status, 403);
    assert.match(body, /read-only/);
    assert.doesNotMatch(body, /stack|\.ts:\d+/);
  });
});
