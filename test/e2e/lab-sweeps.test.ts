/**
 * End to end, on real runs through Chromium: a member launches a sweep of tiny teachers (seed × 2) and watches
 * both finish, compares them, launches a sweep of heal evaluations over those teachers (teacher × sampler ×
 * steps), opens and sorts the leaderboard and its failure gallery, and tags, annotates and archives a run.
 * Screenshots of the sweep, compare and leaderboard pages for the README (helpers/e2e-app.ts's screenshotDir).
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { defaultHealOptions } from "../../workers/ml/heal-defaults";
import { eventually } from "../helpers/db";
import { launchChromium, noChromium, START_TIMEOUT_MS, startApp, type RunningApp, screenshotDir } from "../helpers/e2e-app";

const skip = noChromium;
const UI_TIMEOUT_MS = 30_000;
const RUNS_TIMEOUT_MS = 10 * 60_000;
const admin = { name: "Ada Admin", email: "ada@lab.test", password: "admin-password-1" };

let app: RunningApp | undefined;
let browser: Browser | undefined;
let page: Page;
let teacherIds: string[] = [];

before(
  async () => {
    if (skip) return;
    app = await startApp();
    browser = await launchChromium();
    const context = await browser.newContext({ baseURL: app.baseURL, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(60_000);
    page = await context.newPage();
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

const pathIs = (p: string | RegExp) => (url: URL) => (typeof p === "string" ? url.pathname === p : p.test(url.pathname));

/** Runs a test's steps; on failure adds a screenshot and the app's last lines to the error. */
async function withEvidence(name: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    let shot = "(no screenshot)";
    try {
      shot = path.join(os.tmpdir(), `crackdiff-e2e-${name}-${Date.now()}.png`);
      await page.screenshot({ path: shot, fullPage: true });
    } catch {
      shot = "(no screenshot)";
    }
    const detail = `${err instanceof Error ? err.message : String(err)}\npage: ${page?.url()}\nscreenshot: ${shot}\n--- app log (last lines) ---\n${app?.log()}`;
    throw Object.assign(new Error(detail), { cause: err });
  }
}

async function shoot(name: string) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.mouse.move(0, 0); // no chart tooltip left open
  await page.evaluate(() => window.scrollTo(0, 0)); // else the sticky top bar lands mid-page
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** The dataset picker: generated images, 60 of them, seed 3. */
async function pickSyntheticData(form: Locator) {
  await form.getByLabel("data", { exact: true }).selectOption("synthetic");
  await form.getByLabel("synthetic count").fill("60");
  await form.getByLabel("synthetic seed").fill("3");
}

/** Picks a kind in the launch form and waits until its defaults are filled in. */
async function chooseKind(form: Locator, kind: string, defaultField: string, defaultValue: string) {
  await eventually(async () => (await form.getByLabel("Kind").locator("option").count()) > 0, "the run kinds");
  await form.getByLabel("Kind").selectOption(kind);
  await eventually(async () => (await form.getByLabel(defaultField, { exact: true }).inputValue()) === defaultValue, `the ${kind} defaults`);
}

async function setAxis(form: Locator, index: number, field: string, values: string) {
  if ((await form.getByLabel(`Sweep field ${index}`, { exact: true }).count()) === 0) await form.getByRole("button", { name: "Add field" }).click();
  await form.getByLabel(`Sweep field ${index}`, { exact: true }).fill(field);
  const input = form.getByLabel(`Sweep values ${index}`, { exact: true });
  // A field that names runs offers them to pick (a multiple select); any other takes typed values.
  if ((await input.evaluate((e) => e.tagName)) === "SELECT") await input.selectOption(values.split(", "));
  else await input.fill(values);
}

/** On a sweep's page: waits until every child finished and returns their run ids, in grid order. */
async function waitForSweep(children: number): Promise<string[]> {
  const rows = page.getByRole("table", { name: "Sweep runs" }).locator("tbody tr");
  await eventually(async () => {
    const statuses = await rows.locator(".badge").evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
    const failed = statuses.find((s) => s && !["queued", "running", "finished"].includes(s));
    if (failed) throw new assert.AssertionError({ message: `a sweep run ended ${failed}` });
    return statuses.length === children && statuses.every((s) => s === "finished");
  }, `${children} sweep runs to finish`, RUNS_TIMEOUT_MS);
  const hrefs = await rows.locator("td a").evaluateAll((els) => els.map((e) => e.getAttribute("href") ?? ""));
  return hrefs.map((h) => h.replace("/runs/", ""));
}

const columnValues = (column: string) =>
  page
    .getByRole("table", { name: "Leaderboard" })
    .locator(`tbody td[data-column="${column}"]`)
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-value"))));

test("set-up, then a sweep of two teachers launches and both finish", { skip, timeout: RUNS_TIMEOUT_MS + 3 * 60_000 }, () =>
  withEvidence("teacher-sweep", async () => {
    await page.goto(await app!.setupLink);
    await page.getByLabel("Name").fill(admin.name);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password", { exact: true }).fill(admin.password);
    await page.getByLabel("Confirm password").fill(admin.password);
    await page.getByRole("button", { name: "Create admin account" }).click();
    await page.waitForURL(pathIs("/"));

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sweeps" }).click();
    await page.getByRole("heading", { name: "No sweeps yet" }).waitFor();
    await page.getByRole("link", { name: "New sweep" }).click();
    await page.waitForURL(pathIs("/runs/new"));
    const form = page.getByRole("form", { name: "Launch a run" });
    await chooseKind(form, "ddpm-train", "iters", "1500");
    assert.ok(await form.getByRole("radio", { name: "Sweep" }).isChecked(), "the sweep link opens the form in sweep mode");
    await form.getByLabel("Name").fill("teachers");
    await form.getByLabel("Tags").fill("e2e-teachers");
    await pickSyntheticData(form);
    for (const [field, value] of Object.entries({ size: "32", crop: "0", iters: "300", batch: "8", width: "8", depth: "2", warmup: "20", evalEvery: "150" })) {
      await form.getByLabel(field, { exact: true }).fill(value);
    }
    await setAxis(form, 1, "seed", "0, 1");
    await form.getByRole("button", { name: "Launch sweep (2 runs)" }).click();
    await page.waitForURL(pathIs(/^\/sweeps\/[0-9a-f-]{36}$/));
    await page.getByRole("heading", { name: "teachers" }).waitFor();
    teacherIds = await waitForSweep(2);
    assert.equal(new Set(teacherIds).size, 2);
  }),
);

test("compare the two teachers: overlaid curves, config diff, images with one step slider", { skip, timeout: 4 * 60_000 }, () =>
  withEvidence("compare", async () => {
    assert.equal(teacherIds.length, 2, "needs the teacher sweep");
    await page.goto("/");
    await page.getByLabel("Tag").selectOption("e2e-teachers");
    const table = page.getByRole("table", { name: "Runs" });
    await eventually(async () => (await table.locator("tbody tr").count()) === 2, "the two teachers in the list");
    await table.getByLabel("Select teachers · seed=0").check();
    await table.getByLabel("Select teachers · seed=1").check();
    await page.getByRole("link", { name: "Compare (2)" }).click();
    await page.waitForURL(pathIs("/compare"));

    const loss = page.getByRole("figure", { name: "Compare train/loss" });
    await eventually(async () => (await loss.locator("path.recharts-line-curve").count()) === 2, "two loss curves");
    assert.equal(await loss.getAttribute("data-lines"), "2");

    // The config diff shows only what differs (the seed), or everything.
    const diff = page.getByRole("region", { name: "Config diff" });
    const diffRows = diff.locator("tbody tr");
    assert.deepEqual(await diffRows.locator("th").allTextContents(), ["seed"]);
    await diff.getByLabel("Only differences").uncheck();
    assert.ok((await diffRows.count()) > 5, "all fields when not only differences");
    await diff.getByLabel("Only differences").check();

    // Both runs' summaries side by side.
    await page.getByRole("region", { name: "Summaries" }).getByText("final_loss").waitFor();

    // One slider moves every run's samples to the same step.
    const images = page.getByRole("region", { name: "Images side by side" });
    const slider = images.getByLabel("Step of every image");
    await slider.focus();
    await page.keyboard.press("Home"); // a real key press, so React sees the change
    const samples = page.getByRole("group", { name: "Images samples" }).locator("img");
    assert.equal(await samples.count(), 2);
    const alts = await samples.evaluateAll((els) => els.map((e) => (e as HTMLImageElement).alt));
    assert.ok(alts.every((a) => / at step 150$/.test(a)), alts.join(" | "));
    await eventually(() => samples.evaluateAll((els) => els.every((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0)), "the images to load");

    // Wall time on the x-axis keeps both curves.
    await page.getByLabel("x-axis").selectOption("time");
    await eventually(async () => (await loss.locator("path.recharts-line-curve").count()) === 2, "two loss curves over wall time");
    await page.getByLabel("x-axis").selectOption("step");
    await slider.focus();
    await page.keyboard.press("End");
    await shoot("compare");
  }),
);

test("a sweep of evaluations over both teachers feeds the leaderboard, which sorts", { skip, timeout: RUNS_TIMEOUT_MS + 3 * 60_000 }, () =>
  withEvidence("leaderboard", async () => {
    assert.equal(teacherIds.length, 2, "needs the teacher sweep");
    await page.goto("/runs/new?mode=sweep");
    const form = page.getByRole("form", { name: "Launch a run" });
    await chooseKind(form, "heal-eval", "t0", String(defaultHealOptions.t0));
    await form.getByLabel("Name").fill("samplers");
    // The teacher is picked from the finished ddpm-train runs: exactly the sweep's two teachers.
    const teacherPicker = form.getByLabel("teacherRunId", { exact: true });
    await eventually(async () => (await teacherPicker.locator("option").count()) === 3, "the two teachers in the picker");
    const offered = await teacherPicker.locator("option").evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value).filter(Boolean));
    assert.deepEqual(offered.sort(), [...teacherIds].sort());
    await teacherPicker.selectOption(teacherIds[0]!);
    await pickSyntheticData(form);
    await shoot("launch");
    await form.getByLabel("t0", { exact: true }).fill("100");
    await form.getByLabel("hardest", { exact: true }).fill("2");
    await setAxis(form, 1, "teacherRunId", teacherIds.join(", "));
    await setAxis(form, 2, "sampler", "ddim, ddpm");
    await setAxis(form, 3, "steps", "2, 999");
    // A child with steps > t0 is invalid: nothing is launched, and the message names the run and the field.
    await form.getByRole("button", { name: "Launch sweep (8 runs)" }).click();
    await page.getByRole("alert").filter({ hasText: "The sweep was not launched" }).filter({ hasText: "steps must be at most t0" }).waitFor();
    assert.ok(pathIs("/runs/new")(new URL(page.url())));
    await setAxis(form, 3, "steps", "2, 5");
    await form.getByRole("button", { name: "Launch sweep (8 runs)" }).click();
    await page.waitForURL(pathIs(/^\/sweeps\/[0-9a-f-]{36}$/));
    await waitForSweep(8);

    // The sweep's own leaderboard: one row per sampler × steps, the two teachers averaged.
    const sweepBoard = page.getByRole("region", { name: "Sweep leaderboard" }).getByRole("table", { name: "Leaderboard" });
    await eventually(
      async () => (await sweepBoard.locator("tbody tr td:nth-child(2)").allTextContents()).join(" ") === "2 2 2 2",
      "the sweep's leaderboard: four rows of two runs",
    );
    await shoot("sweep");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Leaderboards" }).click();
    await page.waitForURL(pathIs("/leaderboards"));
    const board = page.getByRole("table", { name: "Leaderboard" });
    await eventually(async () => (await board.locator("tbody tr").count()) === 4, "four rows");
    const methods = await board.locator("tbody tr").evaluateAll((els) => els.map((e) => e.getAttribute("data-method")));
    assert.deepEqual(methods, ["DDPM-2", "DDPM-5", "DDIM-2", "DDIM-5"]);
    assert.deepEqual(await board.locator("tbody tr td:nth-child(2)").allTextContents(), ["2", "2", "2", "2"], "each row averages two teachers");

    await board.getByRole("button", { name: /^Image AUROC/ }).click();
    assert.equal(await board.locator("th", { has: page.getByRole("button", { name: /^Image AUROC/ }) }).getAttribute("aria-sort"), "descending");
    const auroc = await columnValues("image_auroc");
    assert.deepEqual(auroc, [...auroc].sort((a, b) => b - a));

    await board.getByRole("button", { name: /^calls \/ image/ }).click();
    const calls = await columnValues("calls_per_image");
    assert.deepEqual(calls, [2, 2, 5, 5], "ascending: fewest network calls first");
    const best = await board.locator('tbody td.best[data-column="calls_per_image"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-value"))));
    assert.deepEqual(best, [2, 2], "both rows tied for the fewest calls are marked best");

    const csvHref = await page.getByRole("link", { name: "Download CSV" }).getAttribute("href");
    const csv = await page.request.get(csvHref!);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()["content-type"] ?? "", /text\/csv/);
    assert.equal((await csv.text()).trim().split("\r\n").length, 5);

    await page.getByRole("region", { name: "Speed versus accuracy" }).locator(".recharts-scatter-symbol").first().waitFor();
    await shoot("leaderboard");

    // The failure gallery: every evaluation's hardest cases with their scores, filtered by method.
    const gallery = page.getByRole("region", { name: "Failure gallery" });
    await eventually(async () => (await gallery.locator(".failure-card").count()) === 8, "eight evaluations in the failure gallery");
    await gallery.getByLabel("Failure gallery method").selectOption("DDIM-5");
    await eventually(async () => (await gallery.locator(".failure-card").count()) === 2, "the DDIM-5 evaluations only");
    const scores = await gallery.locator(".failure-scores li").allTextContents();
    assert.ok(scores.length >= 4 && scores.every((t) => /score [\d.e-]+$/.test(t)), scores.join(" | "));
  }),
);

test("tags, notes and archive on a run page; the list filters by tag and hides archived runs", { skip, timeout: 3 * 60_000 }, () =>
  withEvidence("notes", async () => {
    assert.equal(teacherIds.length, 2, "needs the teacher sweep");
    await page.goto(`/runs/${teacherIds[1]}`);
    const notes = page.getByRole("region", { name: "Notes" });
    await notes.getByRole("button", { name: "Edit" }).click();
    await notes.getByLabel("Run tags").fill("e2e-teachers, noisy");
    await notes.getByLabel("Run notes").fill("Loss still falling at the end: train longer.");
    await notes.getByRole("button", { name: "Save" }).click();
    await notes.getByText("Loss still falling at the end: train longer.").waitFor();
    await notes.locator(".tag", { hasText: "noisy" }).waitFor();

    const csvHref = await page.getByRole("link", { name: "Download CSV" }).getAttribute("href");
    const csv = await page.request.get(csvHref!);
    assert.equal(csv.status(), 200);
    assert.match((await csv.text()).split("\r\n")[0]!, /^key,step,value,wall_time$/);
    const signedOut = await browser!.newContext({ baseURL: app!.baseURL });
    assert.equal((await signedOut.request.get(csvHref!)).status(), 401, "the export needs a signed-in user");
    await signedOut.close();

    await page.getByRole("button", { name: "Archive" }).click();
    await page.getByRole("button", { name: "Unarchive" }).waitFor();

    await page.goto("/?tag=noisy");
    await page.getByRole("heading", { name: "No runs match these filters" }).waitFor(); // archived: hidden
    await page.getByLabel("Archived").selectOption("only");
    const table = page.getByRole("table", { name: "Runs" });
    await eventually(async () => (await table.locator("tbody tr").count()) === 1, "the archived run");
    assert.match((await table.locator("tbody tr").textContent()) ?? "", /teachers · seed=1.*archived/);
  }),
);
