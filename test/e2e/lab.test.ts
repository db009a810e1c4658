/**
 * End to end: the real app (`server/start.ts`: migrations, `next build` when needed, web server, one worker)
 * on a throwaway database, driven through Chromium. The first visitor sets the lab up, the admin adds a
 * member and invites a viewer, the viewer cannot launch, the member launches a `smoke` run and watches it
 * finish with its loss chart and its PNG.
 *
 * Needs DATABASE_URL (a server where it may CREATE DATABASE; `npm test` provides one) and Chromium at
 * /usr/bin/chromium (or CHROMIUM_PATH); skipped, saying why, without Chromium.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { eventually } from "../helpers/db";
import { launchChromium, noChromium as skip, startApp, START_TIMEOUT_MS, type RunningApp } from "../helpers/e2e-app";

const RUN_TIMEOUT_MS = 8 * 60_000;
const UI_TIMEOUT_MS = 30_000;

const suffix = randomBytes(4).toString("hex");
const admin = { name: "Ada Admin", email: `admin-${suffix}@lab.test`, password: "admin-password-1" };
const member = { name: "Max Member", email: `member-${suffix}@lab.test`, password: "member-password-1" };
const viewer = { name: "Vera Viewer", email: `viewer-${suffix}@lab.test`, password: "viewer-password-1" };
const runName = `e2e smoke ${suffix}`;

let app: RunningApp | undefined;
let baseURL = "";
/** Browser-side lines, shown with the app's output on failure. */
const browserLog: string[] = [];
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let inviteLink = "";
const cspViolations: string[] = [];
const artifactsDir = path.join(os.tmpdir(), `crackdiff-e2e-${suffix}`);

const pathIs = (p: string | RegExp) => (url: URL) => (typeof p === "string" ? url.pathname === p : p.test(url.pathname));

async function signIn(email: string, password: string) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(pathIs("/signin"), { timeout: UI_TIMEOUT_MS });
}

/** The role shown in the top bar, e.g. "member". */
async function navRole(): Promise<string> {
  return (await page.locator(".topbar .role").textContent({ timeout: UI_TIMEOUT_MS }))?.trim() ?? "";
}

before(
  async () => {
    if (skip) return;
    app = await startApp();
    baseURL = app.baseURL;
    browser = await launchChromium();
    context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(60_000);
    page = await context.newPage();
    page.on("pageerror", (err) => browserLog.push(`[browser] page error: ${err.message}`));
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
  },
  { timeout: START_TIMEOUT_MS + 120_000 },
);

after(
  async () => {
    await browser?.close().catch(() => {});
    await app?.stop();
  },
  { timeout: 180_000 },
);

/** On failure: a screenshot and the app's last lines, to see what happened. */
async function withEvidence(name: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    let shot = "";
    try {
      mkdirSync(artifactsDir, { recursive: true });
      shot = path.join(artifactsDir, `${name}.png`);
      await page.screenshot({ path: shot, fullPage: true });
    } catch {
      shot = "(no screenshot)";
    }
    const detail = `${err instanceof Error ? err.message : String(err)}\npage: ${page?.url()}\nscreenshot: ${shot}\n--- app log (last lines) ---\n${app?.log()}\n${browserLog.slice(-10).join("\n")}`;
    throw Object.assign(new Error(detail), { cause: err });
  }
}

test("the first visitor sets up the lab; the admin adds a member and invites a viewer", { skip, timeout: 5 * 60_000 }, () =>
  withEvidence("setup", async () => {
    // Without the link `npm start` printed, nobody can claim the fresh lab.
    await page.goto("/");
    await page.waitForURL(pathIs("/setup"));
    await page.getByRole("status").filter({ hasText: "npm start" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Create admin account" }).count(), 0);
    await page.goto("/setup?token=not-the-printed-token");
    await page.getByLabel("Name").fill("Intruder");
    await page.getByLabel("Email").fill(`intruder-${suffix}@lab.test`);
    await page.getByLabel("Password", { exact: true }).fill(admin.password);
    await page.getByLabel("Confirm password").fill(admin.password);
    await page.getByRole("button", { name: "Create admin account" }).click();
    await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();

    const setupLink = await app!.setupLink;
    assert.ok(setupLink.startsWith(`${baseURL}/setup?token=`), setupLink);
    await page.goto(setupLink);
    await page.getByLabel("Name").fill(admin.name);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password", { exact: true }).fill(admin.password);
    await page.getByLabel("Confirm password").fill(admin.password);
    await page.getByRole("button", { name: "Create admin account" }).click();
    await page.waitForURL(pathIs("/"));
    await page.getByRole("heading", { name: "No runs yet" }).waitFor();
    assert.equal(await navRole(), "admin");

    // Set-up is closed once an account exists.
    await page.goto("/setup");
    await page.waitForURL(pathIs(/^\/(signin)?$/));

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Team" }).click();
    await page.waitForURL(pathIs("/team"));
    const create = page.getByRole("form", { name: "Create account" });
    await create.getByLabel("Name").fill(member.name);
    await create.getByLabel("Email").fill(member.email);
    await create.getByLabel("Role").selectOption("member");
    await create.getByLabel("Password").fill(member.password);
    await create.getByRole("button", { name: "Create account" }).click();
    const members = page.getByRole("table", { name: "Team members" });
    await members.getByRole("row").filter({ hasText: member.email }).waitFor();
    assert.equal(await members.getByLabel(`Role of ${member.email}`).inputValue(), "member");

    const invite = page.getByRole("form", { name: "Invite" });
    await invite.getByLabel("Email").fill(viewer.email);
    await invite.getByLabel("Role").selectOption("viewer");
    await invite.getByRole("button", { name: "Create invitation link" }).click();
    inviteLink = await eventually(async () => page.getByLabel("Invitation link").inputValue({ timeout: 1000 }), "the invitation link");
    assert.match(inviteLink, new RegExp(`^${baseURL}/invite/[\\w-]{20,}$`));

    await signOut();
  }),
);

test("an invited viewer joins and cannot launch runs", { skip, timeout: 3 * 60_000 }, () =>
  withEvidence("viewer", async () => {
    assert.ok(inviteLink, "needs the invitation from the set-up test");
    await page.goto(inviteLink);
    await page.getByText(viewer.email).first().waitFor();
    await page.getByLabel("Name").fill(viewer.name);
    await page.getByLabel("Password", { exact: true }).fill(viewer.password);
    await page.getByLabel("Confirm password").fill(viewer.password);
    await page.getByRole("button", { name: "Join and sign in" }).click();
    await page.waitForURL(pathIs("/"));
    assert.equal(await navRole(), "viewer");
    await page.getByRole("heading", { name: "Runs", exact: true }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Launch run" }).count(), 0, "viewers get no launch button on the runs list");
    assert.equal(await page.getByRole("link", { name: "Team" }).count(), 0, "only admins see Team");

    await page.goto("/runs/new");
    await page.getByRole("status").filter({ hasText: "read-only" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Launch run" }).count(), 0, "viewers get no launch button on the form");

    await signOut();
  }),
);

test("a member launches a smoke run and watches it finish", { skip, timeout: RUN_TIMEOUT_MS + 4 * 60_000 }, () =>
  withEvidence("member-run", async () => {
    // A wrong password is refused clearly.
    await signIn(member.email, "not-the-password");
    await page.getByRole("alert").filter({ hasText: "Wrong email or password" }).waitFor();
    assert.ok(pathIs("/signin")(new URL(page.url())));

    await signIn(member.email, member.password);
    await page.waitForURL(pathIs("/"));
    assert.equal(await navRole(), "member");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Launch" }).click();
    await page.waitForURL(pathIs("/runs/new"));
    const form = page.getByRole("form", { name: "Launch a run" });
    await eventually(async () => (await form.getByLabel("Kind").inputValue()) === "smoke", "the smoke kind in the form");
    await form.getByLabel("Name").fill(runName);
    await form.getByLabel("Tags").fill("e2e, smoke");
    const steps = form.getByLabel("steps", { exact: true });
    assert.equal(await steps.inputValue(), "60", "fields are prefilled with the schema's defaults");

    // The server validates the config and the message names the field.
    await steps.fill("999999");
    await form.getByRole("button", { name: "Launch run" }).click();
    const error = await eventually(async () => {
      const text = await page.getByRole("alert").filter({ hasText: "not launched" }).textContent({ timeout: 1000 });
      return text?.includes("steps") ? text : null;
    }, "the validation error");
    assert.match(error, /steps/);
    assert.ok(pathIs("/runs/new")(new URL(page.url())), "a rejected launch stays on the form");

    await steps.fill("40");
    await form.getByRole("button", { name: "Launch run" }).click();
    await page.waitForURL(pathIs(/^\/runs\/[0-9a-f-]{36}$/));
    const runPath = new URL(page.url()).pathname;
    await page.getByRole("heading", { name: runName }).waitFor();

    const badge = page.locator(".run-head h1 .badge");
    const final = await eventually(async () => {
        const status = await badge.getAttribute("data-status", { timeout: 2000 });
        return status && !["queued", "running"].includes(status) ? status : null;
      }, "the run to end",
      RUN_TIMEOUT_MS,
    );
    if (final !== "finished") {
      const why = await page.getByLabel("Run error").textContent({ timeout: 2000 }).catch(() => "(no error text)");
      assert.fail(`the smoke run ended ${final}: ${why}`);
    }

    // The loss chart has a drawn line.
    const chart = page.getByRole("figure", { name: "Chart train/loss" });
    await eventually(async () => {
      const d = await chart.locator("path.recharts-line-curve").first().getAttribute("d", { timeout: 1000 });
      return d && d.length > 20;
    }, "the loss curve");
    // It says how much of the series it draws: all 40 steps of this short run.
    await eventually(async () => ((await chart.locator(".chart-count").textContent({ timeout: 1000 })) ?? "").includes("40 of 40 points shown"), "the point count");
    // The PNG loaded.
    const img = page.getByRole("region", { name: "Media" }).locator("img").first();
    await eventually(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), "the PNG to load");
    // Summary and config are there.
    await page.getByRole("region", { name: "Summary" }).getByText("final_loss").waitFor();
    await eventually(async () => ((await page.getByRole("region", { name: "Config" }).textContent()) ?? "").includes('"steps": 40'), "the config");

    // The runs list shows it, finished, and links to it.
    await page.getByRole("link", { name: "Runs" }).first().click();
    await page.waitForURL(pathIs("/"));
    const row = page.getByRole("table", { name: "Runs" }).getByRole("row").filter({ hasText: runName });
    await eventually(async () => (await row.locator(".badge").getAttribute("data-status", { timeout: 1000 })) === "finished", "the run in the list, finished");
    assert.equal(await row.getByRole("link", { name: runName }).getAttribute("href"), runPath);
    assert.match((await row.textContent()) ?? "", new RegExp(member.name));
  }),
);

test("every response carries the security headers, and no page broke the content security policy", { skip, timeout: 60_000 }, async () => {
  for (const p of ["/signin", "/api/health", "/api/media/1", "/api/trpc/auth.status"]) {
    const res = await fetch(`${baseURL}${p}`, { redirect: "manual" });
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'self'/, `${p}: content-security-policy`);
    assert.match(csp, /frame-ancestors 'none'/, `${p}: frame-ancestors`);
    assert.match(csp, /object-src 'none'/, `${p}: object-src`);
    assert.equal(res.headers.get("x-frame-options"), "DENY", `${p}: x-frame-options`);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", `${p}: x-content-type-options`);
    assert.equal(res.headers.get("referrer-policy"), "no-referrer", `${p}: referrer-policy`);
    assert.equal(res.headers.get("x-powered-by"), null, `${p}: x-powered-by`);
  }
  // The pages above ran under the policy: the set-up, team, launch and run pages, charts and images included.
  assert.deepEqual(cspViolations, []);
});
