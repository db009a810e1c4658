/**
 * Detection metrics, pure TS (no tfjs): image-level AUROC, average precision and best F1, pixel-level AUROC
 * and AP over millions of pixels, and mean ± std over seeds.
 *
 * Convention: labels are 1 = positive (crack), 0 = negative; a higher score means "more likely a crack".
 * Undefined cases return NaN rather than throwing, so one empty class does not abort a whole evaluation
 * (JSON.stringify turns NaN into null): AUROC is NaN unless both classes are present; AP and best F1 are
 * NaN when there is no positive. Malformed input (length mismatch, a label other than 0/1, a NaN score)
 * throws.
 *
 * All of them rest on one exact pass: positives' and negatives' scores are sorted apart (typed-array sorts,
 * O(n log n), no index arrays), then merged from the highest score down, one step per distinct score, so
 * tied scores always move together (the ROC/PR curve jumps diagonally over a tie instead of guessing
 * an order).
 */

export interface F1Result {
  f1: number;
  /** Predict "crack" when score >= threshold. */
  threshold: number;
  precision: number;
  recall: number;
}

/** Area under the ROC curve; tied scores count 1/2 (Mann–Whitney U / trapezoid rule). NaN without both classes. */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return aurocOfSorted(...splitByLabel(scores, labels));
}

/**
 * Average precision as sklearn's average_precision_score: AP = Σ_n (R_n − R_{n−1}) P_n over the distinct
 * thresholds from the highest score down (step-wise, no interpolation; tied scores form one threshold).
 * NaN when there is no positive.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return apOfSorted(...splitByLabel(scores, labels));
}

/**
 * The threshold (one of the scores; predict positive when score >= threshold) that maximises
 * F1 = 2TP / (2TP + FP + FN). Ties in F1 keep the higher threshold. NaN fields when there is no positive.
 */
export function bestF1(scores: ArrayLike<number>, labels: ArrayLike<number>): F1Result {
  const [pos, neg] = splitByLabel(scores, labels);
  const P = pos.length;
  let best: F1Result = { f1: Number.NaN, threshold: Number.NaN, precision: Number.NaN, recall: Number.NaN };
  if (P === 0) return best;
  best.f1 = -1;
  walkThresholds(pos, neg, (threshold, tp, fp) => {
    const f1 = (2 * tp) / (tp + fp + P);
    if (f1 > best.f1) best = { f1, threshold, precision: tp / (tp + fp), recall: tp / P };
  });
  return best;
}

/**
 * Pixel-level AUROC over concatenated heatmaps and masks (mask nonzero = crack pixel). Exact, with memory of
 * one Float32 copy of the heatmap (4 bytes per pixel): ~10 M pixels take ~40 MB and a few seconds.
 */
export function pixelAuroc(heatmaps: Float32Array, masks: Uint8Array): number {
  return aurocOfSorted(...splitPixels(heatmaps, masks));
}

/** Pixel-level average precision (as averagePrecision), exact; same memory as pixelAuroc. */
export function pixelAp(heatmaps: Float32Array, masks: Uint8Array): number {
  return apOfSorted(...splitPixels(heatmaps, masks));
}

/**
 * Per-region overlap (PRO, Bergmann et al. 2020, MVTec AD): every connected crack region (8-connected, per
 * image) counts equally however many pixels it has, so one wide crack cannot hide many missed thin ones.
 * At each threshold, PRO = mean over regions of the share of the region's pixels at or above it, and FPR =
 * share of normal pixels at or above it; returns the area under PRO(FPR) for FPR in [0, maxFpr], divided by
 * maxFpr (1 = perfect). Exact over all distinct thresholds, ties moving together. NaN without a crack region.
 */
export function pixelPro(heatmaps: Float32Array, masks: Uint8Array, size: number, maxFpr = 0.3): number {
  if (heatmaps.length !== masks.length) {
    throw new Error(`heatmaps and masks differ in length (${heatmaps.length} vs ${masks.length} pixels)`);
  }
  const pixels = size * size;
  if (!Number.isInteger(size) || size < 1 || masks.length % pixels !== 0) throw new Error(`masks are not whole ${size}×${size} images`);
  const region = new Int32Array(masks.length).fill(-1);
  const regionSizes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < masks.length; start++) {
    if (masks[start] === 0 || region[start] !== -1) continue;
    const id = regionSizes.length;
    const base = start - (start % pixels);
    let count = 0;
    region[start] = id;
    stack.push(start);
    while (stack.length > 0) {
      const k = stack.pop()!;
      count++;
      const y = Math.floor((k - base) / size);
      const x = (k - base) % size;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const ny = y + dy;
          const nx = x + dx;
          if (ny < 0 || ny >= size || nx < 0 || nx >= size) continue;
          const nk = base + ny * size + nx;
          if (masks[nk] !== 0 && region[nk] === -1) {
            region[nk] = id;
            stack.push(nk);
          }
        }
      }
    }
    regionSizes.push(count);
  }
  const R = regionSizes.length;
  if (R === 0) return Number.NaN;
  const [pos, neg] = splitPixels(heatmaps, masks);
  // Each crack pixel weighs 1 / (its region's size · R), in the order of `pos` (ascending value).
  const crack: { v: number; w: number }[] = [];
  for (let k = 0; k < masks.length; k++) if (region[k]! >= 0) crack.push({ v: heatmaps[k]!, w: 1 / (regionSizes[region[k]!]! * R) });
  crack.sort((a, b) => a.v - b.v);
  const weights = Float64Array.from(crack, (c) => c.w);
  let area = 0;
  let prevFpr = 0;
  let prevPro = 0;
  let pro = 0;
  let i = pos.length - 1;
  let j = neg.length - 1;
  while (i >= 0 || j >= 0) {
    const threshold = Math.max(i >= 0 ? pos[i]! : -Infinity, j >= 0 ? neg[j]! : -Infinity);
    while (i >= 0 && pos[i] === threshold) pro += weights[i--]!;
    while (j >= 0 && neg[j] === threshold) j--;
    const fpr = (neg.length - 1 - j) / Math.max(1, neg.length);
    if (fpr >= maxFpr) {
      // Interpolate the segment up to the cut-off.
      const share = fpr > prevFpr ? (maxFpr - prevFpr) / (fpr - prevFpr) : 0;
      area += (maxFpr - prevFpr) * (prevPro + (share * (pro - prevPro)) / 2);
      return area / maxFpr;
    }
    area += (fpr - prevFpr) * (prevPro + pro) / 2;
    prevFpr = fpr;
    prevPro = pro;
  }
  return area / maxFpr;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value) of per-seed results. NaN when empty. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i]! - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : 0, n };
}

/** F1, precision and recall of the fixed rule "score >= threshold" (NaN fields when there is no positive). */
export function f1AtThreshold(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): F1Result {
  const [pos, neg] = splitByLabel(scores, labels);
  if (pos.length === 0) return { f1: Number.NaN, threshold, precision: Number.NaN, recall: Number.NaN };
  let tp = 0;
  let fp = 0;
  for (const v of pos) if (v >= threshold) tp++;
  for (const v of neg) if (v >= threshold) fp++;
  return { f1: (2 * tp) / (tp + fp + pos.length), threshold, precision: tp + fp > 0 ? tp / (tp + fp) : Number.NaN, recall: tp / pos.length };
}

/** The q-quantile (0 ≤ q ≤ 1) of values, linearly interpolated between order statistics (numpy's default). */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * A percentile-bootstrap 95 % interval of the AUROC: `resamples` times, the positives and the negatives are
 * each resampled with replacement (stratified, so every resample has both classes), AUROC recomputed; the
 * 2.5th and 97.5th percentiles of those bound the interval. Seeded (mulberry32), so it is reproducible.
 * [NaN, NaN] without both classes.
 */
export function bootstrapAuroc(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  { resamples = 1000, seed = 0 }: { resamples?: number; seed?: number } = {},
): [number, number] {
  const [pos, neg] = splitByLabel(scores, labels);
  if (pos.length === 0 || neg.length === 0) return [Number.NaN, Number.NaN];
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let r = Math.imul(state ^ (state >>> 15), 1 | state);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const draw = (from: Float64Array) => {
    const out = new Float64Array(from.length);
    for (let i = 0; i < out.length; i++) out[i] = from[Math.floor(random() * from.length)]!;
    return out.sort();
  };
  const values = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) values[r] = aurocOfSorted(draw(pos), draw(neg));
  return [quantile(values, 0.025), quantile(values, 0.975)];
}

// ---------------------------------------------------------------------------------------------------------

type Sorted = Float64Array | Float32Array;

/** Trapezoid area under the ROC curve traced by walkThresholds: each step adds ΔFP · (TP_before + ΔTP / 2). */
function aurocOfSorted(pos: Sorted, neg: Sorted): number {
  const P = pos.length;
  const N = neg.length;
  if (P === 0 || N === 0) return Number.NaN;
  let area = 0;
  let prevTp = 0;
  let prevFp = 0;
  walkThresholds(pos, neg, (_, tp, fp) => {
    area += (fp - prevFp) * (prevTp + (tp - prevTp) / 2);
    prevTp = tp;
    prevFp = fp;
  });
  return area / (P * N);
}

function apOfSorted(pos: Sorted, neg: Sorted): number {
  const P = pos.length;
  if (P === 0) return Number.NaN;
  let ap = 0;
  let prevTp = 0;
  walkThresholds(pos, neg, (_, tp, fp) => {
    ap += ((tp - prevTp) / P) * (tp / (tp + fp));
    prevTp = tp;
  });
  return ap;
}

/**
 * Visits every distinct score from the highest down with the cumulative true and false positives of the rule
 * "score >= threshold". `pos` and `neg` must be sorted ascending.
 */
function walkThresholds(pos: Sorted, neg: Sorted, visit: (threshold: number, tp: number, fp: number) => void): void {
  let i = pos.length - 1;
  let j = neg.length - 1;
  while (i >= 0 || j >= 0) {
    const threshold = Math.max(i >= 0 ? pos[i]! : -Infinity, j >= 0 ? neg[j]! : -Infinity);
    while (i >= 0 && pos[i] === threshold) i--;
    while (j >= 0 && neg[j] === threshold) j--;
    visit(threshold, pos.length - 1 - i, neg.length - 1 - j);
  }
}

/** Scores of the positives and of the negatives, each sorted ascending. */
function splitByLabel(scores: ArrayLike<number>, labels: ArrayLike<number>): [Float64Array, Float64Array] {
  if (scores.length !== labels.length) {
    throw new Error(`scores and labels differ in length (${scores.length} vs ${labels.length})`);
  }
  let P = 0;
  for (let k = 0; k < labels.length; k++) {
    const label = labels[k];
    if (label !== 0 && label !== 1) throw new Error(`labels must be 0 or 1; labels[${k}] is ${label}`);
    if (Number.isNaN(scores[k])) throw new Error(`scores[${k}] is NaN`);
    P += label;
  }
  const pos = new Float64Array(P);
  const neg = new Float64Array(labels.length - P);
  let p = 0;
  let q = 0;
  for (let k = 0; k < labels.length; k++) {
    if (labels[k] === 1) pos[p++] = scores[k]!;
    else neg[q++] = scores[k]!;
  }
  return [pos.sort(), neg.sort()];
}

/** Heatmap values at crack pixels and at normal pixels, each sorted ascending (Float32, no precision lost). */
function splitPixels(heatmaps: Float32Array, masks: Uint8Array): [Float32Array, Float32Array] {
  if (heatmaps.length !== masks.length) {
    throw new Error(`heatmaps and masks differ in length (${heatmaps.length} vs ${masks.length} pixels)`);
  }
  let P = 0;
  for (let k = 0; k < masks.length; k++) if (masks[k] !== 0) P++;
  const pos = new Float32Array(P);
  const neg = new Float32Array(masks.length - P);
  let p = 0;
  let q = 0;
  for (let k = 0; k < masks.length; k++) {
    const v = heatmaps[k]!;
    if (Number.isNaN(v)) throw new Error(`heatmap pixel ${k} is NaN`);
    if (masks[k] !== 0) pos[p++] = v;
    else neg[q++] = v;
  }
  return [pos.sort(), neg.sort()];
}
