/**
 * Dataset folders stay inside the data roots: `..` and symlinks cannot leave them, the launch refuses with a
 * field error that reads the same whether an outside path exists or not, and the worker's loader checks again
 * before it reads a file. Launch forms pick from the folders inside the roots and from the finished runs a field
 * may name; a launch naming any other run is refused.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { runs } from "../../db/schema";
import { services } from "../../server/services";
import { dataRoots, DataRootError, listDatasetFolders, resolveDatasetFolder } from "../../workers/ml/data/roots";
import { loadRunData } from "../../workers/ml/runners/data";
import { startLab, type Lab } from "../helpers/lab";

let base = "";
let root = "";
let outside = "";
let lab: Lab;

async function dataset(dir: string) {
  await mkdir(path.join(dir, "Negative"), { recursive: true });
  const png = await sharp(Buffer.alloc(8 * 8, 120), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
  await writeFile(path.join(dir, "Negative", "a.png"), png);
}

before(async () => {
  base = await realpath(await mkdtemp(path.join(os.tmpdir(), "crackdiff-roots-")));
  root = path.join(base, "root");
  outside = path.join(base, "outside", "secret");
  await dataset(path.join(root, "good"));
  await dataset(path.join(root, "collection", "train")); // a dataset one level down
  await mkdir(path.join(root, "empty", "Other"), { recursive: true }); // neither class folder: not a dataset
  await dataset(outside);
  await symlink(outside, path.join(root, "escape")); // a link inside the root to a folder outside it
  await symlink(path.join(root, "good"), path.join(root, "alias")); // a link that stays inside
  lab = await startLab("crackdiff_roots");
});

after(async () => {
  await lab?.close();
  if (base) await rm(base, { recursive: true, force: true });
});

/** The refusal with the asked-for folder blanked out: what it tells beyond echoing the input. */
async function refusal(folder: string): Promise<string> {
  const err = await resolveDatasetFolder(folder, [root]).then(
    () => assert.fail(`${folder} was accepted`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DataRootError, String(err));
  return err.message.replace(folder, "…");
}

describe("resolving a dataset folder", () => {
  test("inside a root: relative to it or absolute, through links that stay inside", async () => {
    const good = path.join(root, "good");
    assert.equal(await resolveDatasetFolder("good", [root]), good);
    assert.equal(await resolveDatasetFolder(good, [root]), good);
    assert.equal(await resolveDatasetFolder("alias", [root]), good);
    assert.equal(await resolveDatasetFolder(path.join(root, "alias", "..", "good"), [root]), good);
  });

  test("`..`, absolute paths and symlinks that leave the root are refused, alike whether the target exists", async () => {
    const messages = new Set([
      await refusal("escape"), // symlink out
      await refusal(path.join(root, "escape")),
      await refusal("../outside/secret"), // .. out, exists
      await refusal(path.join(root, "..", "outside", "secret")),
      await refusal(outside), // absolute, exists
      await refusal("/definitely/not/there"), // absolute, missing
      await refusal("missing-inside"), // inside, missing
    ]);
    assert.equal(messages.size, 1, `the refusals differ: ${[...messages].join(" | ")}`);
    assert.match([...messages][0]!, /inside the data roots/);
  });

  test("the roots come from CRACKDIFF_DATA_ROOTS, else the repository's data/ and the data folder's datasets/", () => {
    assert.deepEqual(dataRoots({ CRACKDIFF_DATA_ROOTS: `/srv/a${path.delimiter}rel` }, "/repo"), ["/srv/a", "/repo/rel"]);
    assert.deepEqual(dataRoots({}, "/repo"), ["/repo/data", "/repo/.data/datasets"]);
    assert.deepEqual(dataRoots({ CRACKDIFF_DATA_DIR: "/var/lab" }, "/repo"), ["/repo/data", "/var/lab/datasets"]);
  });
});

describe("listing dataset folders", () => {
  test("every dataset up to two levels down, with its counts; nothing outside a root, nothing that is not a dataset", async () => {
    const listed = await listDatasetFolders([root]);
    assert.deepEqual(
      listed.map((d) => d.folder),
      ["alias", "collection/train", "good"],
    );
    assert.deepEqual(listed.find((d) => d.folder === "good"), { folder: "good", negatives: 1, positives: 0, hasMasks: false });
    for (const d of listed) assert.equal(await resolveDatasetFolder(d.folder, [root]).then(() => true), true, `${d.folder} resolves`);
  });
});

describe("the worker's loader", () => {
  test("checks the roots before it reads anything", async () => {
    const options = { size: 8, channels: 1 as const, split: "all" as const, testFraction: 0.3, valFraction: 0.1, roots: [root] };
    await assert.rejects(loadRunData({ folder: "escape" }, options), DataRootError);
    await assert.rejects(loadRunData({ folder: outside }, options), DataRootError);
    assert.equal((await loadRunData({ folder: "good" }, options)).samples.length, 1);
    // The command line reads wherever its user can.
    assert.equal((await loadRunData({ folder: outside }, { ...options, roots: "anywhere" })).samples.length, 1);
  });
});

describe("launching a run", () => {
  test("a folder outside the roots is a field error that does not tell whether it exists", async () => {
    process.env.CRACKDIFF_DATA_ROOTS = root;
    const member = await lab.caller("member");
    const launch = (folder: string) => member.runs.launch({ kind: "ddpm-train", config: { data: { folder } } });
    const refusals: string[] = [];
    for (const folder of [path.join(root, "escape"), outside, path.join(base, "outside", "nothing-here"), "../outside/secret"]) {
      const err = await launch(folder).then(
        () => assert.fail(`${folder} was launched`),
        (e: { code?: string; message: string }) => e,
      );
      assert.equal(err.code, "BAD_REQUEST");
      assert.match(err.message, /data\.folder/);
      refusals.push(err.message.replace(folder, "…"));
    }
    assert.equal(new Set(refusals).size, 1, refusals.join(" | "));
    const run = await launch("good");
    assert.equal(run.status, "queued");
  });

  test("a run a config names must be a finished run of a fitting kind; the form offers exactly those", async () => {
    process.env.CRACKDIFF_DATA_ROOTS = root;
    const { db } = services();
    const insert = async (kind: string, status: "finished" | "queued") =>
      (await db.insert(runs).values({ kind, name: `${kind} ${status}`, config: {}, status }).returning({ id: runs.id }))[0]!.id;
    const teacher = await insert("ddpm-train", "finished");
    const training = await insert("ddpm-train", "queued");
    const ae = await insert("ae-train", "finished");
    const smoke = await insert("smoke", "finished");
    const member = await lab.caller("member");
    const data = { folder: "good" };
    const refusal = (kind: "eval" | "student-train", config: Record<string, unknown>) =>
      member.runs.launch({ kind, config: { data, ...config } }).then(
        () => assert.fail(`${JSON.stringify(config)} was launched`),
        (e: { code?: string; message: string }) => (assert.equal(e.code, "BAD_REQUEST", e.message), e.message),
      );
    assert.match(await refusal("eval", { modelRunId: "00000000-0000-4000-8000-000000000000" }), /modelRunId: no run with id/);
    assert.match(await refusal("eval", { modelRunId: "not a uuid; drop table runs" }), /modelRunId: no run with id/);
    assert.match(await refusal("eval", { modelRunId: smoke }), /modelRunId: run .* is of kind smoke, not ddpm-train or ae-train or student-train/);
    assert.match(await refusal("eval", { modelRunId: training }), /modelRunId: run .* is queued; it must have finished/);
    assert.match(await refusal("student-train", { teacherRunId: ae }), /teacherRunId: run .* is of kind ae-train, not ddpm-train/);
    assert.equal((await member.runs.launch({ kind: "eval", config: { data, modelRunId: ae } })).status, "queued");
    assert.equal((await member.runs.launch({ kind: "student-train", config: { data, teacherRunId: teacher } })).status, "queued");

    const choices = await (await lab.caller("viewer")).runs.launchChoices();
    assert.deepEqual(choices.runs.teacherRunId!.map((r) => r.id), [teacher]);
    assert.deepEqual(new Set(choices.runs.modelRunId!.map((r) => r.id)), new Set([teacher, ae]));
    assert.deepEqual(choices.datasets.map((d) => d.folder), ["alias", "collection/train", "good"]);
  });
});
