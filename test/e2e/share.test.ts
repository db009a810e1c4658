/**
 * End to end, in Chromium: a member runs two `smoke` runs, edits a week of the plan and links a run as its
 * evidence, builds a dashboard from the runs, shares it, opens the link signed out in a fresh browser (it sees
 * the dashboard and is refused everything else), revokes it (refused at once) and exports the report.
 * Takes the README's screenshots of the plan, a dashboard and the shared view on these real runs
 * (helpers/e2e-app.ts's screenshotDir).
 *
 * Needs DATABASE_URL (a server where it may CREATE DATABASE; `npm test` provides one) and Chromium at
 * /usr/bin/chromium (or CHROMIUM_PATH); skipped, saying why, without Chromium.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createDb } from "../../db/client";
import { users } from "../../db/schema";
import { hashPassword } from "../../server/auth/password";
import { eventually } from "../helpers/db";
import { launchChromium, noChromium, START_TIMEOUT_MS, startApp, type RunningApp, screenshotDir } from "../helpers/e2e-app";

const skip = noChromium;
const UI_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 8 * 60_000;

const suffix = randomBytes(4).toString("hex");
const member = { name: "Max Member", email: `member-${suffix}@lab.test`, password: "member-password-1" };
const runNames = [`smoke baseline ${suffix}`, `smoke longer ${suffix}`];
const dashboardTitle = "Week 1: the pipeline end to end";

let app: RunningApp | undefined;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
const runPaths: string[] = [];
let shareLink = "";

const pathIs = (p: string | RegExp) => (url: URL) => (typeof p === "string" ? url.pathname === p : p.test(url.pathname));

before(
  async () => {
    if (skip) return;
    app = await startApp();
    // Accounts straight into the database: signing up is the lab test's subject, not this one's.
    const { db, close } = createDb(app.database.url, { max: 1 });
    const passwordHash = await hashPassword(member.password);
    await db.insert(users).values([
      { email: `admin-${suffix}@lab.test`, name: "Ada Admin", role: "admin", passwordHash },
      { email: member.email, name: member.name, role: "member", passwordHash },
    ]);
    await close();
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: app.baseURL, viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(60_000);
    page = await context.newPage();
  },
  { timeout: START_TIMEOUT_MS + 120_000 },
);

after(async () => {
  await browser?.close().catch(() => {});
  await app?.stop();
}, { timeout: 180_000 });

/** On failure: a screenshot and the app's last lines, to see what happened. */
async function withEvidence(name: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    const dir = path.join(os.tmpdir(), `crackdiff-e2e-share-${suffix}`);
    mkdirSync(dir, { recursive: true });
    const shot = path.join(dir, `${name}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    throw Object.assign(new Error(`${err instanceof Error ? err.message : String(err)}\npage: ${page?.url()}\nscreenshot: ${shot}\n--- app log ---\n${app?.log()}`), { cause: err });
  }
}

async function screenshot(p: Page, name: string, fullPage = true) {
  mkdirSync(screenshotDir, { recursive: true });
  await p.evaluate(() => window.scrollTo(0, 0)); // a full-page shot of a scrolled page repeats the sticky bar
  await p.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage });
}

test("a member runs two smoke runs", { skip, timeout: RUN_TIMEOUT_MS + 4 * 60_000 }, () =>
  withEvidence("runs", async () => {
    await page.goto("/signin");
    await page.getByLabel("Email").fill(member.email);
    await page.getByLabel("Password").fill(member.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(pathIs("/"));
    for (const [i, name] of runNames.entries()) {
      await page.goto("/runs/new");
      const form = page.getByRole("form", { name: "Launch a run" });
      await eventually(async () => (await form.getByLabel("Kind").inputValue()) === "smoke", "the smoke kind in the form");
      await form.getByLabel("Name").fill(name);
      await form.getByLabel("steps", { exact: true }).fill(String(40 + 40 * i));
      await form.getByLabel("seed", { exact: true }).fill(String(i));
      await form.getByRole("button", { name: "Launch run" }).click();
      await page.waitForURL(pathIs(/^\/runs\/[0-9a-f-]{36}$/));
      runPaths.push(new URL(page.url()).pathname);
      const status = await eventually(async () => {
        const s = await page.locator(".run-head h1 .badge").getAttribute("data-status", { timeout: 2000 });
        return s && !["queued", "running"].includes(s) ? s : null;
      }, `${name} to end`, RUN_TIMEOUT_MS);
      assert.equal(status, "finished");
    }
  }),
);

test("a member edits a week of the plan and links a run as its evidence", { skip, timeout: 3 * 60_000 }, () =>
  withEvidence("plan", async () => {
    assert.equal(runPaths.length, 2, "needs the runs");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Plan" }).click();
    await page.waitForURL(pathIs("/plan"));
    await eventually(async () => (await page.getByRole("list", { name: "Weeks" }).getByRole("article").count()) === 7, "the seven weeks");
    const week = page.getByRole("article", { name: "Week 1", exact: true });
    await week.getByLabel("Status of week 1").selectOption("in-progress");
    await week.getByLabel("Owner of week 1").selectOption({ label: member.name });
    await week.getByRole("button", { name: "Edit notes" }).click();
    await week.getByLabel("Notes of week 1").fill("The pipeline runs end to end: **loss falls** on both smoke runs.");
    await week.getByRole("button", { name: "Save notes" }).click();
    await week.locator(".markdown strong").filter({ hasText: "loss falls" }).waitFor();

    for (const name of runNames) {
      await week.getByLabel("Find a run").fill(name);
      const option = week.getByLabel("Run to link").locator("option").filter({ hasText: name });
      await option.waitFor({ state: "attached" });
      await week.getByLabel("Run to link").selectOption({ label: (await option.textContent())! });
      await week.getByRole("button", { name: "Link run" }).click();
      await week.getByRole("table", { name: "Week 1 key figure" }).getByRole("row").filter({ hasText: name }).waitFor();
    }

    // It was saved: a reload shows the same.
    await page.reload();
    const again = page.getByRole("article", { name: "Week 1", exact: true });
    await eventually(async () => (await again.getByLabel("Status of week 1").inputValue()) === "in-progress", "the saved status");
    assert.equal(await again.getByLabel("Owner of week 1").locator("option:checked").textContent(), member.name);
    const figure = again.getByRole("table", { name: "Week 1 key figure" });
    assert.equal(await figure.getByRole("row").count(), 3, "a header and the two linked runs");
    assert.match((await figure.textContent()) ?? "", /final_loss/);
    await screenshot(page, "plan", false); // the first week; the whole plan is seven cards tall
  }),
);

let sharedImage = "";
let unsharedImage = "";

test("a member builds a dashboard and shares it", { skip, timeout: 3 * 60_000 }, () =>
  withEvidence("dashboard", async () => {
    // The second run's image is not on the dashboard: a share link must refuse it.
    await page.goto(runPaths[1]!);
    unsharedImage = (await page.getByRole("region", { name: "Media" }).locator("img").first().getAttribute("src"))!;
    assert.match(unsharedImage, /^\/api\/media\/\d+$/);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboards" }).click();
    await page.waitForURL(pathIs("/dashboards"));
    const create = page.getByRole("form", { name: "New dashboard" });
    await create.getByLabel("Title").fill(dashboardTitle);
    await create.getByRole("button", { name: "Create dashboard" }).click();
    await page.waitForURL(pathIs(/^\/dashboards\/[0-9a-f-]{36}$/));
    const editor = page.getByRole("form", { name: "Edit dashboard" });
    await editor.getByLabel("Dashboard text").fill("Two **smoke** runs: the loss falls in both.\n\n- the longer run ends lower\n- heatmaps below");

    const add = editor.getByRole("group", { name: "Add a panel" });
    const choose = async (names: string[]) => {
      for (const name of names) await add.getByRole("group", { name: "Runs" }).getByLabel(name).check();
    };
    await add.getByLabel("Panel type").selectOption("runs");
    await choose(runNames);
    await add.getByRole("button", { name: "Add panel" }).click();
    await add.getByLabel("Panel type").selectOption("chart");
    await choose(runNames);
    await eventually(async () => (await add.getByLabel("Metric").locator("option").allTextContents()).includes("train/loss"), "the metric choices");
    await add.getByLabel("Metric").selectOption("train/loss");
    await add.getByRole("button", { name: "Add panel" }).click();
    await add.getByLabel("Panel type").selectOption("gallery");
    await choose([runNames[0]!]);
    await add.getByRole("button", { name: "Add panel" }).click();
    await add.getByLabel("Panel type").selectOption("milestone");
    await eventually(async () => (await add.getByLabel("Week").locator("option").count()) === 8, "the weeks to choose from");
    await add.getByLabel("Week").selectOption({ index: 1 });
    await add.getByRole("button", { name: "Add panel" }).click();
    assert.equal(await editor.getByRole("region", { name: "Panels" }).getByRole("listitem").count(), 4);
    await editor.getByRole("button", { name: "Save dashboard" }).click();

    // The saved dashboard: its text, the runs table, the chart's two lines, the heatmap, the week.
    await page.getByRole("heading", { name: dashboardTitle }).waitFor();
    await page.getByRole("region", { name: "Dashboard text" }).locator("strong").filter({ hasText: "smoke" }).waitFor();
    const table = page.getByRole("region", { name: "Panel Runs" }).getByRole("table");
    for (const name of runNames) await table.getByRole("row").filter({ hasText: name }).waitFor();
    const chart = page.getByRole("region", { name: "Panel train/loss" });
    await eventually(async () => (await chart.locator("path.recharts-line-curve").count()) === 2, "two curves");
    const image = page.locator(".panel-gallery img").first();
    await eventually(() => image.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), "the heatmap to load");
    await page.getByRole("region", { name: /^Panel Week 1/ }).getByText("loss falls").waitFor();
    await screenshot(page, "dashboard");

    const share = page.getByRole("region", { name: "Share" });
    await share.getByRole("button", { name: "Create share link" }).click();
    shareLink = await eventually(async () => share.getByLabel("Share link", { exact: true }).inputValue({ timeout: 1000 }), "the share link");
    assert.match(shareLink, new RegExp(`^${app!.baseURL}/share/[\\w-]{43}$`), "256 random bits, base64url");
    await share.getByRole("table", { name: "Share links" }).getByRole("row").filter({ hasText: "active" }).waitFor();
  }),
);

test("the link opens the dashboard signed out and nothing else; revoked, it stops at once", { skip, timeout: 3 * 60_000 }, async () => {
  assert.ok(shareLink, "needs the link");
  // A fresh browser context: no cookies, no session.
  const guest = await browser!.newContext({ baseURL: app!.baseURL, viewport: { width: 1280, height: 900 } });
  guest.setDefaultTimeout(UI_TIMEOUT_MS);
  const visitor = await guest.newPage();
  try {
    await withEvidence("shared", async () => {
      await visitor.goto(shareLink);
      await visitor.getByRole("heading", { name: dashboardTitle }).waitFor();
      for (const name of runNames) await visitor.getByRole("region", { name: "Panel Runs" }).getByRole("row").filter({ hasText: name }).waitFor();
      assert.equal(await visitor.getByRole("link", { name: runNames[0] }).count(), 0, "no links into the lab");
      const image = visitor.locator(".panel-gallery img").first();
      await eventually(() => image.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), "the shared heatmap to load");
      sharedImage = (await image.getAttribute("src"))!;
      assert.match(sharedImage, /^\/api\/media\/\d+\?share=/);
      await eventually(async () => (await visitor.locator("path.recharts-line-curve").count()) === 2, "the chart");
      await screenshot(visitor, "shared");

      // Everything else is refused.
      const token = new URL(shareLink).pathname.split("/").pop()!;
      const get = (url: string) => guest.request.get(url, { maxRedirects: 0 });
      assert.equal((await get(sharedImage)).status(), 200);
      assert.equal((await get(`${unsharedImage}?share=${token}`)).status(), 403, "an image of a run the dashboard does not show");
      assert.equal((await get(sharedImage.replace(/\?.*$/, ""))).status(), 401, "the image without the token");
      assert.equal((await get("/api/trpc/runs.list")).status(), 401);
      assert.equal((await get("/api/trpc/dashboards.list")).status(), 401);
      await visitor.goto(runPaths[0]!);
      await visitor.waitForURL(pathIs("/signin"));
      await visitor.goto("/dashboards");
      await visitor.waitForURL(pathIs("/signin"));

      // The member revokes it: the page and its images are refused at once.
      await withEvidence("revoke", async () => {
        const share = page.getByRole("region", { name: "Share" });
        await share.getByRole("button", { name: "Revoke" }).click();
        await share.getByRole("table", { name: "Share links" }).getByRole("row").filter({ hasText: "revoked" }).waitFor();
      });
      await visitor.goto(shareLink);
      await visitor.getByRole("alert", { name: "Share link refused" }).getByText("was revoked").waitFor();
      assert.equal(await visitor.getByRole("heading", { name: dashboardTitle }).count(), 0);
      assert.equal((await get(sharedImage)).status(), 403);
    });
  } finally {
    await guest.close();
  }
});

test("the report exports as one self-contained HTML file and as Markdown", { skip, timeout: 2 * 60_000 }, () =>
  withEvidence("export", async () => {
    const [html] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export report (HTML)" }).click()]);
    assert.match(html.suggestedFilename(), /^week-1-the-pipeline-end-to-end-\d{4}-\d{2}-\d{2}\.html$/);
    const text = readFileSync((await html.path())!, "utf8");
    assert.match(text, new RegExp(`<h1>${dashboardTitle}</h1>`));
    for (const name of runNames) assert.ok(text.includes(name), `the report names ${name}`);
    assert.equal((text.match(/<polyline /g) ?? []).length, 2, "the chart, as SVG");
    assert.match(text, /src="data:image\/png;base64,/);
    assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//, "nothing from elsewhere");

    // It renders offline, on its own.
    const offline = await browser!.newContext({ offline: true });
    const report = await offline.newPage();
    await report.setContent(text);
    assert.equal(await report.locator("svg polyline").count(), 2);
    assert.ok(await report.locator("img").first().evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0));
    await offline.close();

    const [md] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Markdown" }).click()]);
    assert.match(md.suggestedFilename(), /\.md$/);
    const markdown = readFileSync((await md.path())!, "utf8");
    assert.match(markdown, new RegExp(`^# ${dashboardTitle}\n`));
    assert.match(markdown, /Two \*\*smoke\*\* runs/);
    assert.match(markdown, /\| run \| kind \| status \|/);
  }),
);
