/**
 * The lab's procedures on real runs: a tiny teacher trains, a sweep of heal evaluations (sampler × seed) runs
 * through a real worker, and the sweep page, the leaderboard, compare, tags/notes/archive, sorting by a
 * summary metric and the CSV exports are read back from Postgres through createCaller.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createDb } from "../../db/client";
import { createBoss } from "../../db/queue";
import { users, type Role } from "../../db/schema";
import { hashPassword } from "../../server/auth/password";
import { appRouter } from "../../server/routers";
import type { Services } from "../../server/services";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { startWorker, type Worker } from "../../workers/worker";
import { createTestDatabase, eventually, type TestDatabase } from "../helpers/db";

const createCaller = createCallerFactory(appRouter);
let database: TestDatabase;
let services: Services & { close(): Promise<void> };
let worker: Worker;
const ids: Record<Role, string> = { admin: "", member: "", viewer: "" };
const as = async (role: Role) => createCaller(await createContextInner({ services, userId: ids[role] }));

const data = { synthetic: { count: 24, seed: 3 } };

before(async () => {
  database = await createTestDatabase();
  const { db, sql, close } = createDb(database.url);
  services = { db, sql, boss: createBoss(database.url), close };
  const passwordHash = await hashPassword("correct horse battery");
  for (const role of ["admin", "member", "viewer"] as const) {
    const [row] = await db.insert(users).values({ email: `${role}@lab.test`, name: role, role, passwordHash }).returning();
    ids[role] = row!.id;
  }
  worker = await startWorker({ url: database.url, log: () => {} });
});

after(async () => {
  await worker?.stop();
  await services?.close();
  await database?.drop();
});

async function finished(runId: string) {
  const viewer = await as("viewer");
  const run = await eventually(async () => {
    const r = await viewer.runs.get({ id: runId });
    return ["queued", "running"].includes(r.status) ? undefined : r;
  }, `run ${runId} to end`, 300_000);
  assert.equal(run.status, "finished", run.error ?? "");
  return run;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sampleStd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));

describe("sweeps, leaderboards and compare on real runs", () => {
  let teacherId = "";
  let sweepId = "";

  test("a sweep validates every child before creating anything", async () => {
    const member = await as("member");
    const teacher = await member.runs.launch({
      kind: "ddpm-train",
      name: "tiny teacher",
      config: { data, size: 16, crop: 0, iters: 30, batch: 4, width: 8, depth: 2, split: "all", warmup: 5 },
      tags: ["teacher"],
    });
    teacherId = teacher.id;
    const [{ n: jobsBefore }] = (await services.sql`select count(*)::int as n from pgboss.job`) as unknown as [{ n: number }];
    await assert.rejects(
      member.sweeps.launch({
        kind: "heal-eval",
        name: "bad",
        config: { teacherRunId: teacherId, data, split: "all", t0: 10 },
        grid: [{ field: "steps", values: [2, 99] }],
      }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "BAD_REQUEST");
        assert.match(err.message, /run 2 of 2 \(steps=99\).*steps: steps must be at most t0/);
        return true;
      },
    );
    const [{ n: sweepsAfter }] = (await services.sql`select count(*)::int as n from sweeps`) as unknown as [{ n: number }];
    const [{ n: jobsAfter }] = (await services.sql`select count(*)::int as n from pgboss.job`) as unknown as [{ n: number }];
    assert.equal(sweepsAfter, 0);
    assert.equal(jobsAfter, jobsBefore);
    assert.equal((await member.runs.list({ search: "bad" })).total, 0);
  });

  test("a sweep launches one child per grid point and they all finish", { timeout: 600_000 }, async () => {
    const member = await as("member");
    await finished(teacherId);
    const sweep = await member.sweeps.launch({
      kind: "heal-eval",
      name: "samplers",
      config: { teacherRunId: teacherId, data, split: "all", t0: 10, steps: 2, hardest: 1 },
      grid: [
        { field: "sampler", values: ["ddim", "ddpm"] },
        { field: "seed", values: [0, 1] },
      ],
      tags: ["sweep-test"],
    });
    sweepId = sweep.id;
    assert.equal(sweep.runs, 4);
    const got = await (await as("viewer")).sweeps.get({ id: sweep.id });
    assert.deepEqual(
      got.children.map((c) => c.assignment),
      [
        { sampler: "ddim", seed: 0 },
        { sampler: "ddim", seed: 1 },
        { sampler: "ddpm", seed: 0 },
        { sampler: "ddpm", seed: 1 },
      ],
    );
    for (const child of got.children) await finished(child.id);
    const listed = await member.runs.list({ sweepId: sweep.id });
    assert.equal(listed.total, 4);
    assert.ok(listed.runs.every((r) => r.tags.includes("sweep-test") && r.sweepId === sweep.id));
    const [summary] = await member.sweeps.list();
    assert.equal(summary!.id, sweep.id);
    assert.equal(summary!.finished, 4);
  });

  test("the sweep's leaderboard groups seeds: mean ± std per method, best marked, CSV", async () => {
    const viewer = await as("viewer");
    const children = (await viewer.sweeps.get({ id: sweepId })).children;
    const board = await viewer.leaderboards.get({ sweepId });
    assert.equal(board.datasets.length, 1);
    assert.equal(board.dataset, "synthetic count=24 seed=3 · all split");
    assert.deepEqual(board.rows.map((r) => r.method), ["DDPM-2", "DDIM-2"]);
    for (const row of board.rows) {
      const sampler = row.method.startsWith("DDIM") ? "ddim" : "ddpm";
      const mine = children.filter((c) => c.assignment.sampler === sampler);
      assert.deepEqual(new Set(row.runIds), new Set(mine.map((c) => c.id)));
      const aurocs = mine.map((c) => Number(c.summary.image_auroc));
      assert.ok(Math.abs(row.metrics.image_auroc!.mean - mean(aurocs)) < 1e-12);
      assert.ok(Math.abs(row.metrics.image_auroc!.std! - sampleStd(aurocs)) < 1e-12);
      assert.equal(row.metrics.calls_per_image!.mean, 2, "calls/image read from net_calls_per_image");
    }
    const bestAuroc = Math.max(...board.rows.map((r) => r.metrics.image_auroc!.mean));
    assert.deepEqual(board.best.image_auroc, board.rows.filter((r) => r.metrics.image_auroc!.mean === bestAuroc).map((r) => r.id));
    const fastest = Math.min(...board.rows.map((r) => r.metrics.ms_per_image!.mean));
    assert.deepEqual(board.best.ms_per_image, board.rows.filter((r) => r.metrics.ms_per_image!.mean === fastest).map((r) => r.id));

    // The whole lab's board for that dataset has the same rows (the teacher is no evaluation).
    const all = await viewer.leaderboards.get({ dataset: board.dataset });
    assert.deepEqual(all.rows.map((r) => r.runIds.length), [2, 2]);

    // The failure gallery: each evaluation's hardest false positive and negative, with the scores logged.
    const gallery = await viewer.leaderboards.failures({ sweepId, method: "DDIM-2" });
    assert.deepEqual(gallery.methods, ["DDIM-2", "DDPM-2"]);
    assert.deepEqual(new Set(gallery.evaluations.map((e) => e.id)), new Set(children.filter((c) => c.assignment.sampler === "ddim").map((c) => c.id)));
    for (const e of gallery.evaluations) {
      assert.deepEqual(e.panels.map((p) => p.kind).sort(), ["false negatives", "false positives"]);
      assert.ok(e.panels.every((p) => p.cases.length === 1 && Number.isFinite(p.cases[0]!.score)), JSON.stringify(e.panels));
    }

    const { csv, filename } = await viewer.leaderboards.csv({ sweepId });
    assert.match(filename, /^leaderboard-synthetic.*\.csv$/);
    const lines = csv.trim().split("\r\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^dataset,family,method,settings,runs,image_auroc_mean,image_auroc_std,/);
    assert.match(lines[2]!, /^synthetic count=24 seed=3 · all split,DDIM,DDIM-2,,2,/);
  });

  test("compare returns runs in the order asked, with their media; a metrics CSV holds every point", async () => {
    const viewer = await as("viewer");
    const [a, b] = (await viewer.sweeps.get({ id: sweepId })).children;
    const compared = await viewer.runs.compare({ ids: [b!.id, a!.id] });
    assert.deepEqual(compared.map((r) => r.id), [b!.id, a!.id]);
    assert.ok(compared.every((r) => r.media.some((m) => m.key === "hardest_false_negatives")));
    // Every evaluation of a split shows the same example images, so compare can put their heatmaps side by side.
    const examples = await services.sql<{ caption: string }[]>`
      select caption from media where key = 'examples' and run_id in ${services.sql([a!.id, b!.id])}`;
    assert.equal(examples.length, 2);
    const idsOf = (caption: string) => caption.split("; ").pop()!.replace(/ \([^)]*\)/g, "");
    assert.equal(idsOf(examples[0]!.caption), idsOf(examples[1]!.caption));
    assert.match(idsOf(examples[0]!.caption), /pos-.*neg-/);
    await assert.rejects(viewer.runs.compare({ ids: [a!.id, "00000000-0000-4000-8000-000000000000"] }), { code: "NOT_FOUND" });

    const { csv } = await viewer.runs.metricsCsv({ id: teacherId });
    const lines = csv.trim().split("\r\n");
    const [{ n }] = (await services.sql`select count(*)::int as n from metrics where run_id = ${teacherId}`) as unknown as [{ n: number }];
    assert.equal(lines[0], "key,step,value,wall_time");
    assert.equal(lines.length, n + 1);
    assert.match(lines[1]!, /^[\w/]+,\d+,[-\d.e]+,\d{4}-\d\d-\d\dT/);
    const series = await viewer.runs.metrics({ runIds: [teacherId], keys: ["train/loss"] });
    assert.ok(series[0]!.points.every((p) => p.wallTime > 0), "points carry their wall time");
  });

  test("tags, notes and archive: members edit, the list filters and hides archived runs", async () => {
    const member = await as("member");
    const [a, b] = (await member.sweeps.get({ id: sweepId })).children;
    await member.runs.update({ id: a!.id, tags: ["keep", "keep", "week4"], notes: "the **best** one" });
    const edited = await member.runs.get({ id: a!.id });
    assert.deepEqual(edited.tags, ["keep", "week4"]);
    assert.equal(edited.notes, "the **best** one");
    assert.deepEqual((await member.runs.list({ tag: "week4" })).runs.map((r) => r.id), [a!.id]);
    assert.ok((await member.runs.tags()).some((t) => t.tag === "week4" && t.runs === 1));

    await member.runs.update({ id: b!.id, archived: true });
    assert.ok(!(await member.runs.list({ sweepId })).runs.some((r) => r.id === b!.id), "archived runs are hidden by default");
    assert.deepEqual((await member.runs.list({ sweepId, archived: "only" })).runs.map((r) => r.id), [b!.id]);
    assert.equal((await member.runs.list({ sweepId, archived: "include" })).total, 4);
    assert.equal((await member.leaderboards.get({ sweepId })).rows.reduce((n, r) => n + r.runIds.length, 0), 3, "archived runs leave the leaderboard");
    await member.runs.update({ id: b!.id, archived: false });
    assert.equal((await member.runs.list({ sweepId })).total, 4);
    await assert.rejects(member.runs.update({ id: a!.id }), { code: "BAD_REQUEST" });
  });

  test("the list sorts by any summary metric, runs without it last", async () => {
    const viewer = await as("viewer");
    assert.ok((await viewer.runs.summaryKeys()).includes("image_auroc"));
    for (const sortDir of ["asc", "desc"] as const) {
      const { runs } = await viewer.runs.list({ sort: { by: "summary", key: "ms_per_image", dir: sortDir } });
      const values = runs.map((r) => r.summary.ms_per_image);
      const measured = values.filter((v): v is number => typeof v === "number");
      assert.equal(measured.length, 4);
      assert.deepEqual(values.slice(0, 4), measured, "runs without the metric come last");
      const sorted = [...measured].sort((x, y) => (sortDir === "asc" ? x - y : y - x));
      assert.deepEqual(measured, sorted);
      assert.equal(runs[4]!.id, teacherId);
    }
  });

  test("a relaunched child stays in its sweep", { timeout: 300_000 }, async () => {
    const member = await as("member");
    const [child] = (await member.sweeps.get({ id: sweepId })).children;
    const again = await member.runs.relaunch({ id: child!.id });
    assert.equal(again.sweepId, sweepId);
    assert.deepEqual(again.config, child!.config);
    await finished(again.id);
    assert.equal((await member.sweeps.get({ id: sweepId })).children.length, 5);
  });
});
