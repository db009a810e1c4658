import { test } from "node:test";
import assert from "node:assert/strict";
import { auroc, averagePrecision, bestF1, meanStd, pixelAp, pixelAuroc, pixelPro } from "../../workers/ml/metrics";
import { seededRandom } from "../../workers/ml/hash";

const close = (actual: number, expected: number, tol = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);

/** AUROC by its definition: P(score_pos > score_neg) + ½ P(equal), over all pairs. */
function bruteAuroc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((s, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((t, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += s > t ? 1 : s === t ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

/** AP by its definition: Σ over distinct thresholds (high → low) of ΔRecall × Precision, each counted from scratch. */
function bruteAp(scores: number[], labels: number[]): number {
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  const P = labels.filter((l) => l === 1).length;
  let ap = 0;
  let prevRecall = 0;
  for (const th of thresholds) {
    const tp = scores.filter((s, i) => s >= th && labels[i] === 1).length;
    const predicted = scores.filter((s) => s >= th).length;
    ap += (tp / P - prevRecall) * (tp / predicted);
    prevRecall = tp / P;
  }
  return ap;
}

test("hand-computed case (the sklearn documentation example)", () => {
  const scores = [0.1, 0.4, 0.35, 0.8];
  const labels = [0, 0, 1, 1];
  close(auroc(scores, labels), 0.75);
  close(averagePrecision(scores, labels), 5 / 6); // sklearn: 0.8333…
  const f1 = bestF1(scores, labels);
  close(f1.f1, 0.8);
  assert.equal(f1.threshold, 0.35);
  close(f1.precision, 2 / 3);
  close(f1.recall, 1);
});

test("ties count one half and move together", () => {
  // pos {2, 3} vs neg {1, 2}: pairs (2,1)=1 (2,2)=½ (3,1)=1 (3,2)=1 → 3.5 / 4.
  const scores = [1, 2, 2, 3];
  const labels = [0, 1, 0, 1];
  close(auroc(scores, labels), 0.875);
  // threshold 3: R=½ P=1; threshold 2 (one positive and one negative together): R=1 P=⅔.
  close(averagePrecision(scores, labels), 0.5 * 1 + 0.5 * (2 / 3));
  close(auroc([0.5, 0.5], [0, 1]), 0.5);
  close(averagePrecision([0.5, 0.5], [0, 1]), 0.5);
});

test("perfect, inverted and all-equal scores", () => {
  const labels = [0, 0, 1, 1, 1];
  close(auroc([1, 2, 3, 4, 5], labels), 1);
  close(averagePrecision([1, 2, 3, 4, 5], labels), 1);
  assert.deepEqual(bestF1([1, 2, 3, 4, 5], labels), { f1: 1, threshold: 3, precision: 1, recall: 1 });

  close(auroc([5, 4, 3, 2, 1], labels), 0);
  // thresholds 5,4 catch negatives only; 3: R=⅓ P=⅓; 2: R=⅔ P=½; 1: R=1 P=⅗.
  close(averagePrecision([5, 4, 3, 2, 1], labels), (1 / 3) * (1 / 3) + (1 / 3) * (1 / 2) + (1 / 3) * (3 / 5));

  close(auroc([7, 7, 7, 7, 7], labels), 0.5);
  close(averagePrecision([7, 7, 7, 7, 7], labels), 3 / 5); // the prevalence
  assert.deepEqual(bestF1([7, 7, 7, 7, 7], labels), { f1: 0.75, threshold: 7, precision: 0.6, recall: 1 });
});

test("undefined cases give NaN, malformed input throws", () => {
  assert.ok(Number.isNaN(auroc([0.1, 0.2], [1, 1])));
  assert.ok(Number.isNaN(auroc([0.1, 0.2], [0, 0])));
  assert.ok(Number.isNaN(auroc([], [])));
  assert.ok(Number.isNaN(averagePrecision([0.1, 0.2], [0, 0])));
  close(averagePrecision([0.1, 0.2], [1, 1]), 1);
  assert.ok(Number.isNaN(bestF1([0.1, 0.2], [0, 0]).f1));
  assert.ok(Number.isNaN(pixelAuroc(new Float32Array([0.3, 0.4]), new Uint8Array([0, 0]))));
  assert.throws(() => auroc([0.1, 0.2], [0]), /differ in length/);
  assert.throws(() => auroc([0.1, 0.2], [0, 2]), /labels must be 0 or 1/);
  assert.throws(() => auroc([0.1, Number.NaN], [0, 1]), /NaN/);
  assert.throws(() => pixelAp(new Float32Array(3), new Uint8Array(2)), /differ in length/);
});

test("random data with ties: AUROC and AP match the brute-force definitions", () => {
  const random = seededRandom(7);
  for (let trial = 0; trial < 40; trial++) {
    const n = 5 + Math.floor(random() * 200);
    const levels = trial % 2 === 0 ? 6 : 1e6; // few levels → many ties
    const labels = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
    labels[0] = 1;
    labels[1] = 0;
    // Positives score a little higher on average so the AUROC is not always near ½.
    const scores = labels.map((l) => Math.floor((random() + 0.3 * l) * levels) / levels);
    close(auroc(scores, labels), bruteAuroc(scores, labels), 1e-12);
    close(averagePrecision(scores, labels), bruteAp(scores, labels), 1e-12);
    const f1 = bestF1(scores, labels);
    const tp = scores.filter((s, i) => s >= f1.threshold && labels[i] === 1).length;
    const fp = scores.filter((s, i) => s >= f1.threshold && labels[i] === 0).length;
    close(f1.f1, (2 * tp) / (tp + fp + labels.filter((l) => l === 1).length), 1e-12);
    for (const th of new Set(scores)) {
      const tpAt = scores.filter((s, i) => s >= th && labels[i] === 1).length;
      const fpAt = scores.filter((s, i) => s >= th && labels[i] === 0).length;
      assert.ok((2 * tpAt) / (tpAt + fpAt + labels.filter((l) => l === 1).length) <= f1.f1 + 1e-12);
    }
  }
});

test("pixel metrics equal the image metrics on the same values and scale to a million pixels", () => {
  const random = seededRandom(11);
  const n = 1 << 20;
  const heat = new Float32Array(n);
  const mask = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    mask[k] = random() < 0.05 ? 255 : 0; // any nonzero counts as crack
    heat[k] = Math.round((random() + (mask[k] ? 0.5 : 0)) * 256) / 256;
  }
  const labels = Uint8Array.from(mask, (m) => (m ? 1 : 0));
  const small = 3000;
  close(pixelAuroc(heat.subarray(0, small), mask.subarray(0, small)), bruteAuroc([...heat.subarray(0, small)], [...labels.subarray(0, small)]), 1e-9);
  const pa = pixelAuroc(heat, mask);
  close(pa, auroc(heat, labels), 1e-12);
  close(pixelAp(heat, mask), averagePrecision(heat, labels), 1e-12);
  // Uniform scores shifted by 0.5 for positives: AUROC = 1 − ½·0.5² = 0.875 in expectation.
  close(pa, 0.875, 0.005);
});

test("meanStd uses the sample standard deviation", () => {
  const { mean, std, n } = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
  close(mean, 5);
  close(std, Math.sqrt(32 / 7));
  assert.equal(n, 8);
  assert.deepEqual(meanStd([0.9]), { mean: 0.9, std: 0, n: 1 });
  assert.ok(Number.isNaN(meanStd([]).mean));
});

test("PRO weighs every crack region equally and integrates up to the FPR limit", () => {
  // One 4×4 image: a 1-pixel region at (0,0) and a 3-pixel region along the bottom row; 12 normal pixels.
  const mask = new Uint8Array(16);
  mask[0] = 1;
  mask[13] = mask[14] = mask[15] = 1;
  const perfect = Float32Array.from(mask, (m) => m);
  close(pixelPro(perfect, mask, 4), 1, 1e-12);
  // The small region found first, the large one below every normal pixel: PRO is 1/2 from FPR 0 on.
  const half = Float32Array.from(mask, (m, k) => (k === 0 ? 2 : m ? -1 : 0.5 + k / 100));
  close(pixelPro(half, mask, 4), 0.5, 1e-12);
  // Two of the large region's three pixels on top, then its third tied with all normals: PRO = (0 + 2/3) / 2 = 1/3 at FPR 0,
  // rising linearly to 1/2 at FPR 1, so at the 0.3 limit the mean is 1/3 + (1/6)(0.3)/2.
  const tied = Float32Array.from(mask, (m, k) => (k === 13 || k === 14 ? 2 : k === 0 ? -1 : 0.5));
  close(pixelPro(tied, mask, 4), 1 / 3 + (1 / 6) * 0.15, 1e-12);
  // Regions never cross images: the same pixels split across two 2×2 images make two regions, not one.
  assert.ok(Number.isNaN(pixelPro(new Float32Array(8), new Uint8Array(8), 2)));
  assert.throws(() => pixelPro(new Float32Array(5), new Uint8Array(5), 2), /whole 2×2 images/);
});
