import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { listFolderDataset, loadFolderDataset } from "../../workers/ml/data/folder";
import { splitOf, stableHash32 } from "../../workers/ml/data/split";

/** A raw 8-bit image (H×W×C) as PNG or JPEG. */
async function encode(pixels: Uint8Array, width: number, height: number, channels: 1 | 3, format: "png" | "jpeg") {
  const img = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer();
}

/** A 40×40 grey image with a dark vertical band at columns 16..23, and its mask (band = 255). */
function bandImage(): { image: Uint8Array; mask: Uint8Array } {
  const image = new Uint8Array(40 * 40).fill(180);
  const mask = new Uint8Array(40 * 40);
  for (let y = 0; y < 40; y++) for (let x = 16; x < 24; x++) (image[y * 40 + x] = 30), (mask[y * 40 + x] = 255);
  return { image, mask };
}

/**
 * Negative: grey.png (30×20, 1 channel), red.png (25×25 RGB), photo.jpg (90×60 RGB), broken.jpg (truncated),
 * notes.txt, .DS_Store. Positive: band.png (+ mask), plain.jpg (no mask), badmask.png (+ corrupt mask).
 */
async function makeDataset(root: string) {
  for (const dir of ["Negative", "Positive", "Masks"]) await mkdir(path.join(root, dir), { recursive: true });
  const neg = (f: string) => path.join(root, "Negative", f);
  const pos = (f: string) => path.join(root, "Positive", f);
  await writeFile(neg("grey.png"), await encode(new Uint8Array(30 * 20).fill(100), 30, 20, 1, "png"));
  const red = new Uint8Array(25 * 25 * 3);
  for (let i = 0; i < red.length; i += 3) red[i] = 255;
  await writeFile(neg("red.png"), await encode(red, 25, 25, 3, "png"));
  const photo = Uint8Array.from({ length: 90 * 60 * 3 }, (_, i) => (i * 7) % 256);
  const jpeg = await encode(photo, 90, 60, 3, "jpeg");
  await writeFile(neg("photo.jpg"), jpeg);
  await writeFile(neg("broken.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(neg("notes.txt"), "not an image");
  await writeFile(neg(".DS_Store"), "finder junk");
  const { image, mask } = bandImage();
  await writeFile(pos("band.png"), await encode(image, 40, 40, 1, "png"));
  await writeFile(path.join(root, "Masks", "band.png"), await encode(mask, 40, 40, 1, "png"));
  await writeFile(pos("plain.jpg"), await encode(new Uint8Array(50 * 50 * 3).fill(120), 50, 50, 3, "jpeg"));
  await writeFile(pos("badmask.png"), await encode(image, 40, 40, 1, "png"));
  await writeFile(path.join(root, "Masks", "badmask.png"), "garbage");
}

async function withDataset(body: (root: string) => Promise<void>) {
  const root = await mkdtemp(path.join(os.tmpdir(), "crackdiff-data-"));
  try {
    await makeDataset(root);
    await body(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test("loads PNG and JPEG of any size, in class-then-name order, skipping and counting bad files", async () => {
  await withDataset(async (root) => {
    const data = await loadFolderDataset(root, { size: 20 });
    assert.equal(data.size, 20);
    assert.equal(data.channels, 1);
    assert.deepEqual(
      data.samples.map((s) => [s.id, s.label]),
      [
        ["Negative/grey", 0],
        ["Negative/photo", 0],
        ["Negative/red", 0],
        ["Positive/badmask", 1],
        ["Positive/band", 1],
        ["Positive/plain", 1],
      ],
    );
    for (const s of data.samples) {
      assert.equal(s.image.length, 20 * 20);
      assert.ok(s.image.every((v) => v >= 0 && v <= 1));
    }
    const grey = data.samples[0]!;
    assert.ok(grey.image.every((v) => Math.abs(v - 100 / 255) < 1e-6), "a flat grey image stays flat after resizing");
    const skipped = Object.fromEntries(data.skipped.map((s) => [path.basename(s.path), s.reason]));
    assert.deepEqual(Object.keys(skipped).sort(), ["badmask.png", "broken.jpg", "notes.txt"]);
    assert.match(skipped["broken.jpg"]!, /jpeg|premature|corrupt/i);
    assert.match(skipped["notes.txt"]!, /not an image/);
    assert.match(skipped["badmask.png"]!, /^mask: /);
  });
});

test("masks are resized with nearest neighbour and stay aligned with their image", async () => {
  await withDataset(async (root) => {
    const data = await loadFolderDataset(root, { size: 20 }); // exactly half of 40
    const byId = new Map(data.samples.map((s) => [s.id, s]));
    const band = byId.get("Positive/band")!;
    assert.ok(band.mask);
    assert.ok(band.mask.every((v) => v === 0 || v === 1));
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        const inBand = x >= 8 && x < 12; // columns 16..23 of 40
        assert.equal(band.mask[y * 20 + x], inBand ? 1 : 0, `mask at (${x}, ${y})`);
        if (inBand) assert.ok(band.image[y * 20 + x]! < 0.2, "masked pixels are the dark band");
      }
    }
    // Negatives get all-zero masks once the dataset has masks; a positive without a readable mask has none.
    assert.ok(byId.get("Negative/photo")!.mask!.every((v) => v === 0));
    assert.equal(byId.get("Positive/plain")!.mask, null);
    assert.equal(byId.get("Positive/badmask")!.mask, null);
  });
});

test("grayscale by default, RGB with channels 3", async () => {
  await withDataset(async (root) => {
    const rgb = await loadFolderDataset(root, { size: 8, channels: 3 });
    const byId = new Map(rgb.samples.map((s) => [s.id, s]));
    const red = byId.get("Negative/red")!.image;
    assert.equal(red.length, 8 * 8 * 3);
    assert.deepEqual([...red.subarray(0, 3)], [1, 0, 0]);
    const grey = byId.get("Negative/grey")!.image;
    assert.ok(grey.every((v) => Math.abs(v - 100 / 255) < 1e-6), "a grey image is replicated into R, G and B");

    const gray = await loadFolderDataset(root, { size: 8 });
    const redGray = gray.samples.find((s) => s.id === "Negative/red")!.image;
    assert.equal(redGray.length, 8 * 8);
    // Relative luminance of pure red (Rec. 709: Y = 0.2126, in linear light), sRGB-encoded again: ≈ 0.4985.
    const expected = 1.055 * 0.2126 ** (1 / 2.4) - 0.055;
    assert.ok(Math.abs(redGray[0]! - expected) < 2 / 255, `red's luminance ${expected}, got ${redGray[0]}`);
  });
});

test("hash splits are deterministic, per id, and near the requested fraction", async () => {
  // Pinned values: a change here would silently reshuffle every dataset's train/test split.
  assert.equal(stableHash32("Positive/00001"), 106064347);
  assert.equal(stableHash32("Negative/00001"), 3003291413);
  const ids = Array.from({ length: 4000 }, (_, i) => `Negative/${String(i).padStart(5, "0")}`);
  for (const fraction of [0.1, 0.3, 0.5]) {
    const test = ids.filter((id) => splitOf(id, fraction) === "test").length / ids.length;
    assert.ok(Math.abs(test - fraction) < 0.03, `fraction ${fraction}: got ${test}`);
  }
  assert.ok(ids.every((id) => splitOf(id, 0) === "train" && splitOf(id, 1) === "test"));
  // Nested: raising the fraction only moves images from train to test.
  assert.ok(ids.every((id) => splitOf(id, 0.2) === "train" || splitOf(id, 0.4) === "test"));
  assert.throws(() => splitOf("x", 1.5), /testFraction/);
  // The validation band sits after the test band: adding it never moves an image into or out of test.
  const val = ids.filter((id) => splitOf(id, 0.3, 0.1) === "val").length / ids.length;
  assert.ok(Math.abs(val - 0.1) < 0.03, `validation share ${val}`);
  assert.ok(ids.every((id) => (splitOf(id, 0.3, 0.1) === "test") === (splitOf(id, 0.3) === "test")));
  assert.throws(() => splitOf("x", 0.7, 0.5), /valFraction/);

  await withDataset(async (root) => {
    const all = await loadFolderDataset(root, { size: 4 });
    const train = await loadFolderDataset(root, { size: 4, split: "train", testFraction: 0.5 });
    const test = await loadFolderDataset(root, { size: 4, split: "test", testFraction: 0.5 });
    const trainIds = train.samples.map((s) => s.id);
    const testIds = test.samples.map((s) => s.id);
    assert.equal(trainIds.filter((id) => testIds.includes(id)).length, 0);
    assert.deepEqual([...trainIds, ...testIds].sort(), all.samples.map((s) => s.id).sort());
    assert.deepEqual(testIds, all.samples.map((s) => s.id).filter((id) => splitOf(id, 0.5) === "test"));
  });
});

test("a missing or misshapen dataset folder is a clear error", async () => {
  const missing = path.join(os.tmpdir(), "crackdiff-no-such-dataset");
  await assert.rejects(loadFolderDataset(missing, { size: 8 }), (err: Error) => {
    assert.match(err.message, /crackdiff-no-such-dataset does not exist/);
    assert.match(err.message, /Negative.*Positive/);
    return true;
  });
  const empty = await mkdtemp(path.join(os.tmpdir(), "crackdiff-empty-"));
  try {
    await mkdir(path.join(empty, "images"));
    await assert.rejects(listFolderDataset(empty), /neither a Negative nor a Positive folder/);
    await mkdir(path.join(empty, "Positive"));
    assert.deepEqual((await loadFolderDataset(empty, { size: 8 })).samples, []); // the layout is right, just empty
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
  await withDataset(async (root) => {
    await assert.rejects(loadFolderDataset(root, { size: 0 }), /size/);
    await assert.rejects(loadFolderDataset(root, { size: 8, channels: 2 as 1 }), /channels/);
  });
});
