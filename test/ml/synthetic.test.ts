import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadFolderDataset } from "../../workers/ml/data/folder";
import { generateSynthetic, generateSyntheticWithInfo, writeSyntheticDataset } from "../../workers/ml/data/synthetic";

const sameArray = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

test("same seed gives identical images and masks; another seed differs", () => {
  const a = generateSynthetic({ count: 12, size: 32, seed: 3 });
  const b = generateSynthetic({ count: 12, size: 32, seed: 3 });
  const c = generateSynthetic({ count: 12, size: 32, seed: 4 });
  assert.equal(a.length, 12);
  a.forEach((s, i) => {
    assert.equal(s.id, b[i]!.id);
    assert.ok(sameArray(s.image, b[i]!.image), `image ${s.id} is reproducible`);
    assert.ok(sameArray(s.mask!, b[i]!.mask!), `mask ${s.id} is reproducible`);
    assert.ok(!sameArray(s.image, c[i]!.image), `seed 4 draws a different ${s.id}`);
  });
  // Image k does not depend on how many images were asked for.
  const more = generateSynthetic({ count: 20, size: 32, seed: 3 });
  assert.ok(sameArray(more[0]!.image, a[0]!.image));
  assert.ok(sameArray(more.find((s) => s.id === "Positive/pos-0002")!.image, a.find((s) => s.id === "Positive/pos-0002")!.image));
});

test("labels, ids and masks: masks are nonzero exactly for positives, and cracks are darker than the surround", () => {
  const samples = generateSynthetic({ count: 40, size: 48, seed: 1 });
  assert.equal(samples.filter((s) => s.label === 1).length, 20);
  assert.equal(new Set(samples.map((s) => s.id)).size, 40);
  assert.deepEqual(samples.slice(0, 2).map((s) => s.id), ["Negative/neg-0000", "Negative/neg-0001"]);
  let darker = 0;
  for (const s of samples) {
    assert.equal(s.image.length, 48 * 48);
    assert.ok(s.image.every((v) => v >= 0 && v <= 1));
    assert.ok(s.mask!.every((v) => v === 0 || v === 1));
    const crackPixels = s.mask!.reduce((n, v) => n + v, 0);
    if (s.label === 0) {
      assert.equal(crackPixels, 0, `${s.id} has no crack`);
      continue;
    }
    assert.ok(crackPixels >= 0.3 * 48, `${s.id} has a visible crack (${crackPixels} pixels)`);
    let inside = 0;
    let outside = 0;
    s.image.forEach((v, i) => (s.mask![i] ? (inside += v) : (outside += v)));
    if (inside / crackPixels < outside / (s.image.length - crackPixels) - 0.03) darker++;
  }
  assert.ok(darker >= 18, `cracks are darker than their surround in ${darker} of 20 images`);
  const quarter = generateSynthetic({ count: 40, size: 16, seed: 1, positiveFraction: 0.25 });
  assert.equal(quarter.filter((s) => s.label === 1).length, 10);
});

test("distractors appear on both classes at the requested rate and never enter the masks", () => {
  const always = generateSyntheticWithInfo({ count: 16, size: 32, seed: 2, distractorRate: 1 });
  assert.ok(always.info.every((i) => i.distractors.length >= 1));
  always.samples.forEach((s) => {
    if (s.label === 0) assert.ok(s.mask!.every((v) => v === 0), `${s.id}: a stain is not a crack`);
  });
  const never = generateSyntheticWithInfo({ count: 16, size: 32, seed: 2, distractorRate: 0 });
  assert.ok(never.info.every((i) => i.distractors.length === 0));
  // The distractors change the pixels of negatives: same scene otherwise would be identical.
  assert.ok(!sameArray(always.samples[0]!.image, never.samples[0]!.image));
  assert.throws(() => generateSynthetic({ count: 4, size: 32, seed: 0, distractorRate: 2 }), /distractorRate/);
  assert.throws(() => generateSynthetic({ count: 4, size: 4, seed: 0 }), /size/);
});

test("writeSyntheticDataset writes PNGs that round-trip through loadFolderDataset, byte-identical per seed", async () => {
  const dirA = await mkdtemp(path.join(os.tmpdir(), "crackdiff-synth-"));
  const dirB = await mkdtemp(path.join(os.tmpdir(), "crackdiff-synth-"));
  try {
    const opts = { count: 10, size: 32, seed: 5 };
    assert.deepEqual(await writeSyntheticDataset(dirA, opts), { negative: 5, positive: 5, masks: 5 });
    await writeSyntheticDataset(dirB, opts);
    const masks = await readdir(path.join(dirA, "Masks"));
    assert.deepEqual(masks.sort(), (await readdir(path.join(dirA, "Positive"))).sort(), "one mask per positive, same stem");
    for (const folder of ["Negative", "Positive", "Masks"]) {
      for (const file of await readdir(path.join(dirA, folder))) {
        const [a, b] = await Promise.all([readFile(path.join(dirA, folder, file)), readFile(path.join(dirB, folder, file))]);
        assert.ok(a.equals(b), `${folder}/${file} is byte-identical for the same seed`);
      }
    }

    const generated = generateSynthetic(opts);
    const loaded = await loadFolderDataset(dirA, { size: 32 });
    assert.deepEqual(loaded.skipped, []);
    assert.deepEqual(loaded.samples.map((s) => s.id), generated.map((s) => s.id));
    loaded.samples.forEach((s, i) => {
      const g = generated[i]!;
      assert.equal(s.label, g.label);
      assert.ok(s.image.every((v, k) => Math.abs(v - g.image[k]!) <= 0.5 / 255 + 1e-6), `${s.id}: only 8-bit rounding`);
      assert.ok(sameArray(s.mask!, g.mask!), `${s.id}: mask survives the round trip`);
    });

    // A smaller re-run replaces the earlier synthetic files and leaves other files alone.
    await writeFile(path.join(dirA, "Negative", "mine.png"), await readFile(path.join(dirA, "Negative", "neg-0000.png")));
    await writeSyntheticDataset(dirA, { count: 4, size: 32, seed: 5 });
    assert.deepEqual((await readdir(path.join(dirA, "Negative"))).sort(), ["mine.png", "neg-0000.png", "neg-0001.png"]);
    assert.deepEqual((await readdir(path.join(dirA, "Masks"))).sort(), ["pos-0000.png", "pos-0001.png"]);
    const meta = JSON.parse(await readFile(path.join(dirA, "synthetic.json"), "utf8"));
    assert.equal(meta.seed, 5);
    assert.equal(meta.images.length, 4);
  } finally {
    await rm(dirA, { recursive: true, force: true });
    await rm(dirB, { recursive: true, force: true });
  }
});
