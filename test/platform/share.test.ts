/**
 * The research plan, dashboards, view-only share links and report export, through tRPC procedures (createCaller,
 * no HTTP) on a real Postgres: who may call what, what a share link shows and refuses, and the export's contents.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { createDb } from "../../db/client";
import { writePoints } from "../../db/metrics";
import { researchPlan, seedResearchPlan } from "../../db/plan";
import { createBoss } from "../../db/queue";
import { media, runs, users, type Role } from "../../db/schema";
import { hashPassword } from "../../server/auth/password";
import { markdownToHtml } from "../../server/markdown";
import { appRouter } from "../../server/routers";
import type { Services } from "../../server/services";
import { sharedMedia } from "../../server/share";
import { createCallerFactory, createContextInner } from "../../server/trpc";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

const createCaller = createCallerFactory(appRouter);
let database: TestDatabase;
let services: Services & { close(): Promise<void> };
const ids: Record<Role, string> = { admin: "", member: "", viewer: "" };
const as = async (role: Role | null) => createCaller(await createContextInner({ services, userId: role ? ids[role] : null }));

/** Two evaluated runs (shown on the dashboard) and one that is not, each with a loss curve and a heatmap PNG. */
const fixture = { shownA: "", shownB: "", hidden: "", mediaA: 0, mediaHidden: 0 };

async function makeRun(name: string, summary: Record<string, number>, shade: number) {
  const [run] = await services.db.insert(runs).values({ kind: "heal-eval", name, status: "finished", config: {}, summary }).returning();
  await writePoints(services.sql, run!.id, Array.from({ length: 30 }, (_, i) => ({ key: "train/loss", step: i + 1, value: 1 / (i + 1 + shade), wallTime: Date.now() })));
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: shade, g: 0, b: 0 } } }).png().toBuffer();
  const [image] = await services.db.insert(media).values({ runId: run!.id, key: "heatmap", step: 30, png, caption: `${name} heatmap` }).returning();
  return { id: run!.id, mediaId: image!.id };
}

before(async () => {
  database = await createTestDatabase();
  const { db, sql, close } = createDb(database.url);
  services = { db, sql, boss: createBoss(database.url), close };
  const passwordHash = await hashPassword("correct horse battery");
  for (const role of ["admin", "member", "viewer"] as const) {
    const [row] = await db.insert(users).values({ email: `${role}@lab.test`, name: `${role} person`, role, passwordHash }).returning();
    ids[role] = row!.id;
  }
  const a = await makeRun("ddim-10 eval", { image_auroc: 0.97, pixel_auroc: 0.91, ms_per_image: 76 }, 10);
  const b = await makeRun("ddpm-250 eval", { image_auroc: 0.95, pixel_auroc: 0.9, ms_per_image: 1584 }, 20);
  const h = await makeRun("secret unshared run", { image_auroc: 0.5, pixel_auroc: 0.5, ms_per_image: 1 }, 30);
  Object.assign(fixture, { shownA: a.id, shownB: b.id, hidden: h.id, mediaA: a.mediaId, mediaHidden: h.mediaId });
});

after(async () => {
  await services?.close();
  await database?.drop();
});

async function week(n: number) {
  const plan = await (await as("viewer")).plan.list();
  return plan.find((m) => m.week === n)!;
}

async function makeDashboard() {
  const member = await as("member");
  return member.dashboards.create({
    title: "Week 4: DDPM vs DDIM",
    body: "DDIM keeps the **accuracy** at a fraction of the cost.\n\n<script>alert(1)</script>",
    panels: [
      { type: "runs", runIds: [fixture.shownA, fixture.shownB] },
      { type: "chart", runIds: [fixture.shownA, fixture.shownB], metric: "train/loss" },
      { type: "gallery", runId: fixture.shownA },
      { type: "milestone", milestoneId: (await week(4)).id },
    ],
  });
}

describe("the research plan", () => {
  test("is seeded with the seven weeks, each with tasks, questions and a due date", async () => {
    const plan = await (await as("viewer")).plan.list();
    assert.deepEqual(plan.map((m) => m.week), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(plan.map((m) => m.title), researchPlan.map((w) => w.title));
    for (const m of plan) {
      assert.ok(m.tasks.length > 0 && m.questions.length > 0, `week ${m.week} has tasks and questions`);
      assert.equal(m.status, "planned");
      assert.ok(m.dueDate instanceof Date);
    }
    assert.match(plan[3]!.questions.join(" "), /DDPM vs DDIM/);
  });

  test("members edit a week and link runs; a second seed keeps their edits", async () => {
    const member = await as("member");
    const w4 = await week(4);
    const due = new Date("2026-12-24T00:00:00Z");
    await member.plan.update({ id: w4.id, status: "in-progress", ownerId: ids.member, dueDate: due, notes: "DDIM-10 is *enough*." });
    await member.plan.linkRun({ milestoneId: w4.id, runId: fixture.shownA });
    await member.plan.linkRun({ milestoneId: w4.id, runId: fixture.shownB });
    await member.plan.linkRun({ milestoneId: w4.id, runId: fixture.shownB }); // twice is once
    await seedResearchPlan(services.db);
    const after = await week(4);
    assert.equal(after.status, "in-progress");
    assert.equal(after.owner, "member person");
    assert.equal(after.dueDate?.toISOString(), due.toISOString());
    assert.equal(after.notes, "DDIM-10 is *enough*.");
    assert.deepEqual(after.runs.map((r) => r.name), ["ddim-10 eval", "ddpm-250 eval"]);
    // The week's key figure: its runs' image AUROC, pixel AUROC and speed.
    assert.deepEqual(after.columns, ["image_auroc", "pixel_auroc", "ms_per_image"]);
    assert.equal((await (await as("viewer")).plan.list()).length, 7);

    await member.plan.unlinkRun({ milestoneId: w4.id, runId: fixture.shownB });
    assert.deepEqual((await week(4)).runs.map((r) => r.name), ["ddim-10 eval"]);
    await member.plan.linkRun({ milestoneId: w4.id, runId: fixture.shownB });
  });

  test("bad edits are refused naming the field", async () => {
    const member = await as("member");
    const w1 = await week(1);
    await assert.rejects(member.plan.update({ id: w1.id, ownerId: "00000000-0000-4000-8000-000000000000" }), /ownerId: no such person/);
    await assert.rejects(member.plan.linkRun({ milestoneId: w1.id, runId: "00000000-0000-4000-8000-000000000000" }), /runId: no such run/);
    await assert.rejects(member.plan.update({ id: w1.id, status: "finished" as "done" }), (err: { code?: string; message: string }) => {
      assert.equal(err.code, "BAD_REQUEST");
      assert.match(err.message, /status/);
      return true;
    });
  });
});

describe("access rules", () => {
  test("signed-out callers reach none of the new procedures except share.view", async () => {
    const anon = await as(null);
    const someId = { id: fixture.shownA };
    const link = { milestoneId: (await week(1)).id, runId: fixture.shownA };
    const refusals: [string, Promise<unknown>][] = [
      ["plan.list", anon.plan.list()],
      ["plan.owners", anon.plan.owners()],
      ["plan.update", anon.plan.update({ id: link.milestoneId, status: "done" })],
      ["plan.linkRun", anon.plan.linkRun(link)],
      ["plan.unlinkRun", anon.plan.unlinkRun(link)],
      ["dashboards.list", anon.dashboards.list()],
      ["dashboards.get", anon.dashboards.get(someId)],
      ["dashboards.create", anon.dashboards.create({ title: "x", body: "", panels: [] })],
      ["dashboards.update", anon.dashboards.update({ ...someId, title: "x", body: "", panels: [] })],
      ["dashboards.delete", anon.dashboards.delete(someId)],
      ["dashboards.report", anon.dashboards.report(someId)],
      ["share.create", anon.share.create({ dashboardId: fixture.shownA, expiresInDays: null })],
      ["share.list", anon.share.list({ dashboardId: fixture.shownA })],
      ["share.revoke", anon.share.revoke(someId)],
    ];
    for (const [name, call] of refusals) await assert.rejects(call, { code: "UNAUTHORIZED" }, name);
  });

  test("viewers read the plan and dashboards but change nothing and cannot share", async () => {
    const viewer = await as("viewer");
    const { id } = await makeDashboard();
    const w1 = await week(1);
    assert.equal((await viewer.plan.list()).length, 7);
    assert.ok((await viewer.plan.owners()).some((o) => o.id === ids.viewer));
    assert.ok((await viewer.dashboards.list()).some((d) => d.id === id));
    assert.equal((await viewer.dashboards.get({ id })).title, "Week 4: DDPM vs DDIM");
    assert.match((await viewer.dashboards.report({ id })).html, /<html/);
    const link = { milestoneId: w1.id, runId: fixture.shownA };
    const refusals: [string, Promise<unknown>][] = [
      ["plan.update", viewer.plan.update({ id: w1.id, status: "done" })],
      ["plan.linkRun", viewer.plan.linkRun(link)],
      ["plan.unlinkRun", viewer.plan.unlinkRun(link)],
      ["dashboards.create", viewer.dashboards.create({ title: "mine", body: "", panels: [] })],
      ["dashboards.update", viewer.dashboards.update({ id, title: "renamed", body: "", panels: [] })],
      ["dashboards.delete", viewer.dashboards.delete({ id })],
      ["share.create", viewer.share.create({ dashboardId: id, expiresInDays: null })],
      ["share.list", viewer.share.list({ dashboardId: id })],
    ];
    for (const [name, call] of refusals) await assert.rejects(call, { code: "FORBIDDEN" }, name);
    const link1 = await (await as("member")).share.create({ dashboardId: id, expiresInDays: null });
    await assert.rejects(viewer.share.revoke({ id: link1.id }), { code: "FORBIDDEN" }, "share.revoke");
    assert.equal((await week(1)).status, "planned", "nothing changed");
  });

  test("members and admins create, edit and delete dashboards", async () => {
    for (const role of ["member", "admin"] as const) {
      const caller = await as(role);
      const { id } = await caller.dashboards.create({ title: `${role}'s`, body: "", panels: [] });
      await caller.dashboards.update({ id, title: `${role}'s, renamed`, body: "text", panels: [{ type: "gallery", runId: fixture.shownB }] });
      assert.equal((await caller.dashboards.get({ id })).title, `${role}'s, renamed`);
      const link = await caller.share.create({ dashboardId: id, expiresInDays: 7 });
      assert.equal((await caller.share.list({ dashboardId: id }))[0]!.state, "active");
      await caller.dashboards.delete({ id });
      await assert.rejects(caller.dashboards.get({ id }), { code: "NOT_FOUND" });
      await assert.rejects((await as(null)).share.view({ token: link.token }), { code: "NOT_FOUND" }, "its links go with it");
    }
  });
});

describe("dashboards", () => {
  test("load the panels' runs, curves, images and milestone", async () => {
    const { id } = await makeDashboard();
    const d = await (await as("viewer")).dashboards.get({ id });
    const [table, chart, gallery, milestone] = d.loaded;
    assert.equal(table?.type, "runs");
    assert.deepEqual(table.type === "runs" && table.runs.map((r) => r.name), ["ddim-10 eval", "ddpm-250 eval"]);
    assert.ok(chart?.type === "chart" && chart.series.length === 2 && chart.series.every((s) => s.points.length === 30));
    assert.ok(gallery?.type === "gallery" && gallery.media.length === 1 && gallery.media[0]!.id === fixture.mediaA);
    assert.ok(milestone?.type === "milestone" && milestone.milestone?.week === 4);
  });

  test("a chart panel of a long series reads a bounded number of buckets and keeps its extent", async () => {
    const [run] = await services.db.insert(runs).values({ kind: "ddpm-train", name: "long run", status: "finished", config: {} }).returning();
    const n = 20_000;
    await writePoints(services.sql, run!.id, Array.from({ length: n }, (_, i) => ({ key: "train/loss", step: i, value: i === 12_345 ? 99 : 1, wallTime: Date.now() })));
    const { id } = await (await as("member")).dashboards.create({ title: "long", body: "", panels: [{ type: "chart", runIds: [run!.id], metric: "train/loss" }] });
    const [chart] = (await (await as("viewer")).dashboards.get({ id })).loaded;
    assert.ok(chart?.type === "chart");
    const points = chart.series[0]!.points;
    assert.ok(points.length > 100 && points.length <= 400, `${points.length} points`);
    assert.equal(points[0]!.step, 0);
    assert.ok(points.some((p) => p.value > 1), "the spike's bucket stands out");
  });

  test("chosen columns and image keys narrow what a panel, and its share link, shows", async () => {
    const member = await as("member");
    const { id } = await member.dashboards.create({
      title: "narrow",
      body: "",
      panels: [
        { type: "runs", runIds: [fixture.shownA], keys: ["ms_per_image"] },
        { type: "gallery", runId: fixture.shownA, keys: ["samples"] },
      ],
    });
    const [table, gallery] = (await member.dashboards.get({ id })).loaded;
    assert.deepEqual(table?.type === "runs" && table.columns, ["ms_per_image"]);
    assert.deepEqual(gallery?.type === "gallery" && gallery.media, []);
    const { token } = await member.share.create({ dashboardId: id, expiresInDays: null });
    assert.equal((await sharedMedia(services.db, token, fixture.mediaA)).ok, false, "a heatmap key the gallery leaves out");
  });

  test("panels naming missing runs or bad fields are refused, naming them", async () => {
    const member = await as("member");
    await assert.rejects(
      member.dashboards.create({ title: "t", body: "", panels: [{ type: "gallery", runId: "00000000-0000-4000-8000-000000000000" }] }),
      /panels\.0: no run with id/,
    );
    await assert.rejects(member.dashboards.create({ title: "  ", body: "", panels: [] }), (err: { code?: string; message: string }) => {
      assert.equal(err.code, "BAD_REQUEST");
      assert.match(err.message, /title/);
      return true;
    });
    await assert.rejects(member.dashboards.create({ title: "t", body: "", panels: [{ type: "chart", runIds: [], metric: "m" }] }), /at least one run/);
  });
});

describe("share links", () => {
  test("a valid link shows its dashboard and only what it references", async () => {
    const { id } = await makeDashboard();
    const { token } = await (await as("member")).share.create({ dashboardId: id, expiresInDays: 30 });
    assert.ok(Buffer.from(token, "base64url").length * 8 >= 128, "at least 128 random bits");

    // Stored hashed: the token itself is nowhere in the table.
    const rows = await services.sql`select * from share_links`;
    assert.ok(rows.some((r) => r.token_hash === createHash("sha256").update(token).digest("hex")));
    assert.ok(!JSON.stringify(rows).includes(token));

    const shared = await (await as(null)).share.view({ token });
    assert.equal(shared.dashboard.title, "Week 4: DDPM vs DDIM");
    const payload = JSON.stringify(shared);
    assert.ok(payload.includes(fixture.shownA) && payload.includes(fixture.shownB));
    assert.ok(!payload.includes(fixture.hidden) && !payload.includes("secret unshared run"), "no unreferenced run");
    assert.ok(!payload.includes(ids.member), "no user ids");

    const image = await sharedMedia(services.db, token, fixture.mediaA);
    assert.ok(image.ok && image.png.subarray(1, 4).toString() === "PNG");
    const other = await sharedMedia(services.db, token, fixture.mediaHidden);
    assert.deepEqual(other, { ok: false, status: 403, message: "this share link does not show that image" });
    assert.equal((await sharedMedia(services.db, token, 987654)).ok, false);
  });

  test("an expired link is refused", async () => {
    const { id } = await makeDashboard();
    const { token, id: linkId } = await (await as("member")).share.create({ dashboardId: id, expiresInDays: 1 });
    await (await as(null)).share.view({ token });
    await services.sql`update share_links set expires_at = now() - interval '1 second' where id = ${linkId}`;
    await assert.rejects((await as(null)).share.view({ token }), { code: "FORBIDDEN", message: "this share link has expired" });
    assert.deepEqual(await sharedMedia(services.db, token, fixture.mediaA), { ok: false, status: 403, message: "this share link has expired" });
    assert.equal((await (await as("member")).share.list({ dashboardId: id }))[0]!.state, "expired");
  });

  test("a revoked link is refused at once; unknown tokens are refused", async () => {
    const member = await as("member");
    const { id } = await makeDashboard();
    const { token, id: linkId } = await member.share.create({ dashboardId: id, expiresInDays: null });
    const anon = await as(null);
    assert.equal((await anon.share.view({ token })).dashboard.id, id);
    assert.equal((await sharedMedia(services.db, token, fixture.mediaA)).ok, true);
    await member.share.revoke({ id: linkId });
    await assert.rejects(anon.share.view({ token }), { code: "FORBIDDEN", message: "this share link was revoked" });
    assert.deepEqual(await sharedMedia(services.db, token, fixture.mediaA), { ok: false, status: 403, message: "this share link was revoked" });
    assert.equal((await member.share.list({ dashboardId: id }))[0]!.state, "revoked");
    await assert.rejects(anon.share.view({ token: token.slice(0, -2) + "xx" }), { code: "NOT_FOUND" });
    await assert.rejects(anon.share.view({ token: "' or 1=1 --" }), { code: "NOT_FOUND" });
  });
});

describe("leaderboard panels", () => {
  test("show their dataset's board as it stands, in the app, through a share link that names no run, and in the report", async () => {
    const viewer = await as("viewer");
    const { dataset, rows } = await viewer.leaderboards.get({});
    const member = await as("member");
    const { id } = await member.dashboards.create({ title: "Board", body: "", panels: [{ type: "leaderboard", dataset }] });
    const [panel] = (await viewer.dashboards.get({ id })).loaded;
    assert.ok(panel?.type === "leaderboard");
    assert.equal(panel.title, `Leaderboard: ${dataset}`);
    assert.deepEqual(panel.rows.map((r) => [r.method, r.runs]), rows.map((r) => [r.method, r.runIds.length]));
    assert.deepEqual(panel.rows[0]!.metrics.image_auroc, rows[0]!.metrics.image_auroc);

    const { token } = await member.share.create({ dashboardId: id, expiresInDays: null });
    const payload = JSON.stringify(await (await as(null)).share.view({ token }));
    assert.ok(payload.includes('"image_auroc"'), "the board's figures");
    for (const runId of [fixture.shownA, fixture.shownB, fixture.hidden]) assert.ok(!payload.includes(runId), "no run ids");
    assert.ok(!payload.includes("secret unshared run"), "no run names");

    const { html, markdown } = await viewer.dashboards.report({ id });
    assert.match(html, /<th>method<\/th><th>runs<\/th><th>Image AUROC ↑<\/th>/);
    assert.match(markdown, /\| method \| runs \| Image AUROC ↑ \|/);
    await assert.rejects(member.dashboards.create({ title: "t", body: "", panels: [{ type: "leaderboard", dataset: " " }] }), /choose a dataset/);
  });
});

describe("report export", () => {
  test("is one self-contained HTML file and its Markdown", async () => {
    const { id } = await makeDashboard();
    const report = await (await as("viewer")).dashboards.report({ id });
    assert.match(report.filename, /^week-4-ddpm-vs-ddim-\d{4}-\d{2}-\d{2}$/);
    const { html, markdown } = report;
    assert.match(html, /<style>/);
    assert.match(html, /<svg [^>]*aria-label="train\/loss"/, "the chart as inline SVG");
    assert.equal((html.match(/<polyline /g) ?? []).length, 2, "one line per run");
    assert.match(html, /<img alt="heatmap" src="data:image\/png;base64,[A-Za-z0-9+/=]{40,}"/, "images inline");
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "nothing fetched from elsewhere");
    assert.doesNotMatch(html, /<script/, "text is escaped");
    assert.match(html, /<strong>accuracy<\/strong>/);
    assert.match(html, /<td>ddim-10 eval<\/td><td>heal-eval<\/td><td>finished<\/td><td class="num">0\.97<\/td><td class="num">0\.91<\/td><td class="num">76<\/td>/);
    assert.ok(!html.includes("secret unshared run"));
    assert.match(markdown, /^# Week 4: DDPM vs DDIM\n/);
    assert.match(markdown, /\| ddpm-250 eval \| heal-eval \| finished \| 0\.95 \| 0\.9 \| 1584 \|/);
    assert.match(markdown, /DDIM keeps the \*\*accuracy\*\*/);
  });
});

describe("markdown", () => {
  test("renders the common forms and escapes everything else", () => {
    assert.equal(markdownToHtml("# Title\n\nSome *em* and **strong** and `a<b`."), "<h1>Title</h1>\n<p>Some <em>em</em> and <strong>strong</strong> and <code>a&lt;b</code>.</p>");
    assert.equal(markdownToHtml("- one\n- two\n\n1. first"), "<ul><li>one</li><li>two</li></ul>\n<ol><li>first</li></ol>");
    assert.equal(markdownToHtml("[ok](https://x.org/a?b=1&c=2) [bad](javascript:alert(1))"), '<p><a href="https://x.org/a?b=1&amp;c=2" rel="noreferrer">ok</a> [bad](javascript:alert(1))</p>');
    assert.equal(markdownToHtml('<img src=x onerror="alert(1)">'), "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>");
    assert.equal(markdownToHtml("```\n<b>\n```"), "<pre><code>&lt;b&gt;</code></pre>");
  });
});
