/**
 * The platform end to end, below the browser: tRPC procedures (called in-process through createCaller), the
 * real queue on a real Postgres, and a real worker running real run kinds.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDb } from "../../db/client";
import { liveWorkerCount } from "../../db/liveness";
import { createBoss } from "../../db/queue";
import { users, type Role } from "../../db/schema";
import { hashPassword } from "../../server/auth/password";
import { appRouter } from "../../server/routers";
import type { Services } from "../../server/services";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { runners } from "../../workers/ml/kinds";
import { startWorker, type RunnerRegistry, type Worker } from "../../workers/worker";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";

const createCaller = createCallerFactory(appRouter);
let database: TestDatabase;
let services: Services & { close(): Promise<void> };
const ids: Record<Role, string> = { admin: "", member: "", viewer: "" };

const as = async (role: Role | null) =>
  createCaller(await createContextInner({ services, userId: role ? ids[role] : null }));

async function waitForStatus(runId: string, statuses: string[]) {
  const caller = await as("viewer");
  return eventually(async () => {
    const run = await caller.runs.get({ id: runId });
    return statuses.includes(run.status) ? run : undefined;
  }, `run ${runId} to reach ${statuses.join("/")}`, 120_000);
}

before(async () => {
  database = await createTestDatabase();
  const { db, sql, close } = createDb(database.url);
  services = { db, sql, boss: createBoss(database.url), close };
  const passwordHash = await hashPassword("correct horse battery");
  for (const role of ["admin", "member", "viewer"] as const) {
    const [row] = await db.insert(users).values({ email: `${role}@lab.test`, name: role, role, passwordHash }).returning();
    ids[role] = row!.id;
  }
});

after(async () => {
  await services?.close();
  await database?.drop();
});

describe("access rules", () => {
  test("unauthenticated calls are rejected", async () => {
    const anon = await as(null);
    await assert.rejects(anon.runs.list(), { code: "UNAUTHORIZED" });
    await assert.rejects(anon.runs.launch({ kind: "smoke", config: {} }), { code: "UNAUTHORIZED" });
    await assert.rejects(anon.users.me(), { code: "UNAUTHORIZED" });
  });

  test("viewers read but cannot write", async () => {
    const viewer = await as("viewer");
    assert.ok(Array.isArray((await viewer.runs.list()).runs));
    await assert.rejects(viewer.runs.launch({ kind: "smoke", config: {} }), { code: "FORBIDDEN" });
    await assert.rejects(viewer.users.list(), { code: "FORBIDDEN" });
  });

  test("lab procedures: everyone signed in reads, only members write", async () => {
    const [anon, viewer, member] = await Promise.all([as(null), as("viewer"), as("member")]);
    const missing = { id: "00000000-0000-4000-8000-000000000000" };
    const sweep = { kind: "smoke" as const, name: "grid", config: { steps: 2 }, grid: [{ field: "seed", values: [1, 2] }] };
    const reads = (c: typeof viewer) => [
      () => c.runs.tags(),
      () => c.runs.summaryKeys(),
      () => c.runs.list({ tag: "x", archived: "only", sort: { by: "summary", key: "final_loss", dir: "desc" } }),
      () => c.runs.compare({ ids: [missing.id] }),
      () => c.runs.metricsCsv(missing),
      () => c.sweeps.list(),
      () => c.sweeps.get(missing),
      () => c.leaderboards.get({}),
      () => c.leaderboards.csv({}),
      () => c.leaderboards.failures({ method: "DDIM-10" }),
    ];
    for (const read of reads(anon)) await assert.rejects(read(), { code: "UNAUTHORIZED" });
    // A viewer gets through the access rule: an answer, or "no such run/sweep" for the made-up id.
    for (const read of reads(viewer)) await read().catch((err: { code?: string }) => assert.equal(err.code, "NOT_FOUND"));

    await assert.rejects(anon.runs.update({ ...missing, notes: "x" }), { code: "UNAUTHORIZED" });
    await assert.rejects(viewer.runs.update({ ...missing, notes: "x" }), { code: "FORBIDDEN" });
    await assert.rejects(member.runs.update({ ...missing, notes: "x" }), { code: "NOT_FOUND" });
    await assert.rejects(anon.sweeps.launch(sweep), { code: "UNAUTHORIZED" });
    await assert.rejects(viewer.sweeps.launch(sweep), { code: "FORBIDDEN" });
    await assert.rejects(member.sweeps.launch({ ...sweep, grid: [] }), { code: "BAD_REQUEST" });
  });

  test("members cannot manage people", async () => {
    const member = await as("member");
    await assert.rejects(member.users.invite({ email: "x@lab.test", role: "member" }), { code: "FORBIDDEN" });
  });

  test("a disabled account loses access at once", async () => {
    const admin = await as("admin");
    const created = await admin.users.create({ email: "leaver@lab.test", name: "Leaver", role: "member", password: "a long password" });
    await admin.users.update({ id: created.id, disabled: true });
    const ctx = await createContextInner({ services, userId: created.id });
    assert.equal(ctx.user, null);
  });

  test("the last admin cannot be demoted", async () => {
    const admin = await as("admin");
    await assert.rejects(admin.users.update({ id: ids.admin, role: "member" }), /at least one active admin/);
  });

  test("first-visitor set-up is refused once accounts exist", async () => {
    const anon = await as(null);
    assert.deepEqual(await anon.auth.status(), { setupNeeded: false });
    process.env.CRACKDIFF_SETUP_TOKEN = "the-printed-set-up-token";
    await assert.rejects(anon.auth.setup({ token: "the-printed-set-up-token", email: "new@lab.test", name: "N", password: "0123456789" }), { code: "CONFLICT" });
  });

  test("an invitation creates an account with its role, once", async () => {
    const admin = await as("admin");
    const { token } = await admin.users.invite({ email: "guest@lab.test", role: "viewer" });
    const anon = await as(null);
    assert.deepEqual(await anon.auth.invite({ token }), { email: "guest@lab.test", role: "viewer" });
    await anon.auth.acceptInvite({ token, name: "Guest", password: "guest password 1" });
    await assert.rejects(anon.auth.acceptInvite({ token, name: "Again", password: "guest password 1" }), { code: "NOT_FOUND" });
  });
});

describe("config validation", () => {
  test("rejects bad input with a message naming the field", async () => {
    const member = await as("member");
    await assert.rejects(member.runs.launch({ kind: "smoke", config: { steps: -3 } }), (err: Error) => {
      assert.match(err.message, /invalid smoke config: steps/);
      return true;
    });
    await assert.rejects(member.runs.launch({ kind: "smoke", config: { stepz: 3 } }), /stepz/);
    await assert.rejects(member.runs.launch({ kind: "nope" as "smoke", config: {} }), { code: "BAD_REQUEST" });
    await assert.rejects(member.runs.list({ cursor: "not-a-cursor" }), (err: Error & { code?: string }) => {
      assert.equal(err.code, "BAD_REQUEST");
      assert.match(err.message, /^cursor:/);
      return true;
    });
  });

  test("a rejected launch leaves neither a run nor a job behind", async () => {
    const member = await as("member");
    const before = (await member.runs.list()).total;
    await assert.rejects(member.runs.launch({ kind: "smoke", config: { batchSize: 0 } }));
    assert.equal((await member.runs.list()).total, before);
    const [jobs] = await services.sql`select count(*)::int as n from pgboss.job`;
    assert.equal(jobs!.n, 0);
  });
});

describe("runs through a worker", () => {
  let worker: Worker;
  // The real runners, plus one kind wired to fail, so the worker's error path runs for real.
  const failing: RunnerRegistry = {
    ...runners,
    smoke: async () => async (config, ctx) => {
      if (config.seed === 666) {
        ctx.logger.metrics(1, { "train/loss": 1 });
        throw new Error("the dataset exploded");
      }
      return (await runners.smoke())(config, ctx);
    },
  };

  before(async () => {
    worker = await startWorker({ url: database.url, runners: failing, log: () => {} });
  });
  after(async () => {
    await worker?.stop();
  });

  test("the worker counts as live", async () => {
    assert.equal(await liveWorkerCount(services.sql), 1);
  });

  test("launch → claim → metrics → finish, with a PNG stored", async () => {
    const member = await as("member");
    const run = await member.runs.launch({ kind: "smoke", name: "first", config: { steps: 25 } });
    assert.equal(run.status, "queued");
    const done = await waitForStatus(run.id, ["finished", "failed"]);
    assert.equal(done.status, "finished", done.error ?? "");
    assert.equal(done.workerId, worker.id);
    assert.ok(done.backend, "the run records its backend");
    assert.ok(done.device, "the run records its device");
    assert.ok(Number.isFinite(done.summary.final_loss));
    assert.deepEqual(done.metricKeys, ["train/loss"]);
    const [series] = await member.runs.metrics({ runIds: [run.id] });
    assert.equal(series!.points.length, 25);
    assert.deepEqual(series!.points.map((p) => p.step), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal(done.media.length, 1);
    const [png] = await services.sql`select png from media where run_id = ${run.id}`;
    assert.deepEqual([...png!.png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]); // PNG signature
    const logs = await member.runs.logs({ id: run.id });
    assert.ok(logs.some((l) => l.line.includes("final loss")));
  });

  test("a cancelled running run ends as killed", async () => {
    const member = await as("member");
    const run = await member.runs.launch({ kind: "smoke", config: { steps: 5000 } });
    await waitForStatus(run.id, ["running"]);
    await eventually(async () => ((await member.runs.get({ id: run.id })).metricKeys.length ? true : undefined), "first metrics");
    assert.equal((await member.runs.cancel({ id: run.id })).status, "running");
    const done = await waitForStatus(run.id, ["killed", "finished", "failed"]);
    assert.equal(done.status, "killed");
    const [series] = await member.runs.metrics({ runIds: [run.id] });
    assert.ok(series!.points.length < 5000, "the run stopped early");
    await assert.rejects(member.runs.cancel({ id: run.id }), /already killed/);
  });

  test("a run cancelled while queued is never executed", async () => {
    const member = await as("member");
    const blocker = await member.runs.launch({ kind: "smoke", config: { steps: 5000 } });
    await waitForStatus(blocker.id, ["running"]);
    const queued = await member.runs.launch({ kind: "smoke", config: { steps: 5 } });
    assert.equal((await member.runs.cancel({ id: queued.id })).status, "killed");
    await member.runs.cancel({ id: blocker.id });
    await waitForStatus(blocker.id, ["killed"]);
    // The worker has since taken the queued job off the queue and must have skipped it.
    await eventually(async () => {
      const [row] = await services.sql`select count(*)::int as n from pgboss.job where state in ('created', 'active')`;
      return row!.n === 0 ? true : undefined;
    }, "the queue to drain");
    const run = await member.runs.get({ id: queued.id });
    assert.equal(run.status, "killed");
    assert.equal(run.startedAt, null);
  });

  test("a runner that throws ends the run as failed with its error", async () => {
    const member = await as("member");
    const run = await member.runs.launch({ kind: "smoke", config: { seed: 666 } });
    const done = await waitForStatus(run.id, ["failed", "finished"]);
    assert.equal(done.status, "failed");
    assert.match(done.error ?? "", /the dataset exploded/);
    // What it logged before failing is kept.
    const [series] = await member.runs.metrics({ runIds: [run.id] });
    assert.equal(series!.points.length, 1);
  });

  test("a second worker joins the pool and takes runs too", async () => {
    const second = await startWorker({ url: database.url, runners: failing, log: () => {} });
    try {
      assert.equal(await liveWorkerCount(services.sql), 2);
      const member = await as("member");
      const a = await member.runs.launch({ kind: "smoke", config: { steps: 5000 } });
      const b = await member.runs.launch({ kind: "smoke", config: { steps: 5000 } });
      const [ra, rb] = await Promise.all([waitForStatus(a.id, ["running"]), waitForStatus(b.id, ["running"])]);
      assert.deepEqual(new Set([ra.workerId, rb.workerId]), new Set([worker.id, second.id]));
      await member.runs.cancel({ id: a.id });
      await member.runs.cancel({ id: b.id });
      await Promise.all([waitForStatus(a.id, ["killed"]), waitForStatus(b.id, ["killed"])]);
    } finally {
      await second.stop();
    }
  });

  test("members resume crashed runs; viewers cannot; other states are refused", async () => {
    const [run] = await services.sql<{ id: string }[]>`
      insert into runs (kind, name, config, status, attempt) values ('smoke', 'crashed', '{"steps": 2}'::jsonb, 'crashed', 2) returning id`;
    const viewer = await as("viewer");
    await assert.rejects(viewer.runs.resume({ id: run!.id }), { code: "FORBIDDEN" });
    const member = await as("member");
    assert.deepEqual(await member.runs.resume({ id: run!.id }), { id: run!.id, status: "queued" });
    const [row] = await services.sql`select status, attempt from runs where id = ${run!.id}`;
    assert.deepEqual({ ...row }, { status: "queued", attempt: 3 });
    await assert.rejects(member.runs.resume({ id: run!.id }), { code: "BAD_REQUEST", message: /only a crashed run can be resumed; this one is (queued|running|finished)/ });
    await waitForStatus(run!.id, ["finished"]);
  });

  test("relaunch copies kind and config", async () => {
    const member = await as("member");
    const run = await member.runs.launch({ kind: "smoke", name: "orig", config: { steps: 3, seed: 4 } });
    await waitForStatus(run.id, ["finished"]);
    const again = await member.runs.relaunch({ id: run.id });
    assert.equal(again.name, "orig (again)");
    assert.deepEqual(again.config, run.config);
    await waitForStatus(again.id, ["finished"]);
  });
});
