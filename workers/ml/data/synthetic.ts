/**
 * Synthetic concrete with cracks and exact masks, deterministic by seed. Tests and the
 * first-run demo use it; it also makes the plan's failure cases controllable: faint and hairline cracks,
 * and distractors (stains, water streaks, tide marks) that are dark but are not cracks.
 *
 * Every length is given at a 64-pixel reference and scaled with the image (u = size / 64), so a 128-pixel
 * render shows the same scene at twice the resolution. Hairlines keep a floor of half a pixel.
 * Only our own PRNG is used (never Math.random): same options → same pixels, on every machine.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { encodeMaskPng, encodePng } from "../image";
import { seededRandom } from "../hash";
import type { Sample } from "./types";

export interface SyntheticOptions {
  /** Total number of images. */
  count: number;
  /** Images are size × size, grayscale. */
  size: number;
  seed: number;
  /** Share of images that get cracks (default 0.5). */
  positiveFraction?: number;
  /** Probability that an image (of either class) gets one or two distractors (default 0.3). */
  distractorRate?: number;
}

/** What was drawn into one image: the ground truth behind the pixels, for failure analysis. */
export interface SyntheticInfo {
  id: string;
  /** Per main crack: width in pixels at this size, strength (opacity of its dark interior, 0..1). */
  cracks: { width: number; strength: number; faint: boolean; hairline: boolean; branches: number }[];
  distractors: ("stain" | "streak" | "tide-mark")[];
  /** Crack pixels in the mask. */
  crackPixels: number;
}

/** Generates the dataset in memory: negatives first, then positives, each in index order (the loader's order). */
export function generateSynthetic(opts: SyntheticOptions): Sample[] {
  return generateSyntheticWithInfo(opts).samples;
}

export function generateSyntheticWithInfo(opts: SyntheticOptions): { samples: Sample[]; info: SyntheticInfo[] } {
  const { count, size, seed, positiveFraction = 0.5, distractorRate = 0.3 } = opts;
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw new Error(`size must be an integer in 8..1024, got ${size}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  if (!(positiveFraction >= 0 && positiveFraction <= 1)) throw new Error(`positiveFraction must be in [0, 1], got ${positiveFraction}`);
  if (!(distractorRate >= 0 && distractorRate <= 1)) throw new Error(`distractorRate must be in [0, 1], got ${distractorRate}`);

  const positives = Math.round(count * positiveFraction);
  const negatives = count - positives;
  const digits = Math.max(4, String(count).length);
  const samples: Sample[] = [];
  const info: SyntheticInfo[] = [];
  for (const [label, n, prefix, className] of [
    [0, negatives, "neg", "Negative"],
    [1, positives, "pos", "Positive"],
  ] as const) {
    for (let index = 0; index < n; index++) {
      const stem = `${prefix}-${String(index).padStart(digits, "0")}`;
      const id = `${className}/${stem}`;
      // Each image has its own stream, so image k is the same whatever the count.
      const rng = seededRandom(imageSeed(seed, label, index));
      const scene = renderScene(rng, size, label === 1, distractorRate);
      samples.push({ id, label, image: scene.image, mask: scene.mask, source: `synthetic:${seed}:${stem}` });
      info.push({ id, cracks: scene.cracks, distractors: scene.distractors, crackPixels: countOnes(scene.mask) });
    }
  }
  return { samples, info };
}

/**
 * Writes DIR/Negative/*.png, DIR/Positive/*.png and DIR/Masks/*.png (crack = 255, same stem as its
 * positive), plus DIR/synthetic.json (the options and what each image contains). Files of an earlier
 * synthetic run (neg-/pos-NNNN.png) are removed first so a re-run never mixes two datasets; nothing else
 * in DIR is touched.
 */
export async function writeSyntheticDataset(
  dir: string,
  opts: SyntheticOptions,
): Promise<{ negative: number; positive: number; masks: number }> {
  const { samples, info } = generateSyntheticWithInfo(opts);
  const folders = { Negative: path.join(dir, "Negative"), Positive: path.join(dir, "Positive"), Masks: path.join(dir, "Masks") };
  for (const folder of Object.values(folders)) {
    await mkdir(folder, { recursive: true });
    for (const file of await readdir(folder)) {
      if (/^(neg|pos)-\d+\.png$/.test(file)) await rm(path.join(folder, file));
    }
  }
  const counts = { negative: 0, positive: 0, masks: 0 };
  const { size } = opts;
  const writeOne = async (sample: Sample) => {
    const stem = sample.id.slice(sample.id.indexOf("/") + 1);
    const folder = sample.label === 1 ? folders.Positive : folders.Negative;
    await writeFile(path.join(folder, `${stem}.png`), await encodePng(sample.image, size, size, 1));
    if (sample.label === 1) {
      counts.positive++;
      await writeFile(path.join(folders.Masks, `${stem}.png`), await encodeMaskPng(sample.mask!, size, size));
      counts.masks++;
    } else {
      counts.negative++;
    }
  };
  // A few encodes in flight keep sharp's thread pool busy without queueing hundreds of buffers.
  for (let i = 0; i < samples.length; i += 8) await Promise.all(samples.slice(i, i + 8).map(writeOne));
  const { positiveFraction = 0.5, distractorRate = 0.3 } = opts;
  await writeFile(
    path.join(dir, "synthetic.json"),
    JSON.stringify({ generator: "crackdiff-synthetic-v1", ...opts, positiveFraction, distractorRate, images: info }, null, 1),
  );
  return counts;
}

// --- random numbers -----------------------------------------------------------------------------------

export type Rng = () => number;

/** One 32-bit seed from (dataset seed, label, index), well mixed so neighbouring images are unrelated. */
function imageSeed(seed: number, label: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [label, index]) {
    h = Math.imul(h ^ v, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();

/** Standard normal by Box–Muller. */
function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

const smoothstep = (edge0: number, edge1: number, x: number) => {
  if (edge1 <= edge0) return x >= edge1 ? 1 : 0;
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
};

/**
 * Value noise on a random lattice with `cells` cells across the image, smooth (quintic) interpolation;
 * returns a size × size field in [0, 1].
 */
function valueNoise(rng: Rng, size: number, cells: number): Float32Array {
  const n = Math.max(1, Math.ceil(cells)) + 2;
  const lattice = Float32Array.from({ length: n * n }, () => rng());
  const offsetX = rng();
  const offsetY = rng();
  const field = new Float32Array(size * size);
  const fade = (t: number) => t * t * t * (t * (t * 6 - 15) + 10);
  for (let y = 0; y < size; y++) {
    const gy = ((y + 0.5) / size) * cells + offsetY;
    const y0 = Math.floor(gy);
    const ty = fade(gy - y0);
    for (let x = 0; x < size; x++) {
      const gx = ((x + 0.5) / size) * cells + offsetX;
      const x0 = Math.floor(gx);
      const tx = fade(gx - x0);
      const a = lattice[y0 * n + x0]!;
      const b = lattice[y0 * n + x0 + 1]!;
      const c = lattice[(y0 + 1) * n + x0]!;
      const d = lattice[(y0 + 1) * n + x0 + 1]!;
      field[y * size + x] = (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
  }
  return field;
}

/** Fractal (multi-octave) value noise, zero-mean, roughly in [−0.5, 0.5]. */
function fbm(rng: Rng, size: number, baseCells: number, octaves: number, gain = 0.5): Float32Array {
  const out = new Float32Array(size * size);
  let amplitude = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const cells = baseCells * 2 ** o;
    if (cells > size) break; // finer than a pixel: that is the grain's job
    const layer = valueNoise(rng, size, cells);
    for (let i = 0; i < out.length; i++) out[i]! += amplitude * (layer[i]! - 0.5);
    total += amplitude;
    amplitude *= gain;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= total;
  return out;
}

// --- the scene ----------------------------------------------------------------------------------------

interface Scene {
  image: Float32Array;
  mask: Uint8Array;
  cracks: SyntheticInfo["cracks"];
  distractors: SyntheticInfo["distractors"];
}

function renderScene(rng: Rng, size: number, cracked: boolean, distractorRate: number): Scene {
  const u = size / 64;
  const image = renderConcrete(rng, size, u);
  const distractors: Scene["distractors"] = [];
  if (rng() < distractorRate) {
    const n = rng() < 0.7 ? 1 : 2;
    for (let k = 0; k < n; k++) distractors.push(drawDistractor(rng, image, size, u));
  }
  let mask: Uint8Array = new Uint8Array(size * size);
  let cracks: Scene["cracks"] = [];
  if (cracked) {
    // A crack that wanders off the image almost at once would leave (nearly) no crack; redraw it.
    for (let attempt = 0; attempt < 50; attempt++) {
      const drawn = drawCracks(rng, size, u);
      if (countOnes(drawn.mask) >= 0.3 * size || attempt === 49) {
        compositeCracks(image, drawn.alpha, drawn.darkTone);
        mask = drawn.mask;
        cracks = drawn.cracks;
        break;
      }
    }
  }
  // Sensor noise last, over everything, so a crack's pixels are as noisy as the concrete around them.
  const grain = uniform(rng, 0.01, 0.03);
  for (let i = 0; i < image.length; i++) image[i] = Math.min(1, Math.max(0, image[i]! + grain * gaussian(rng)));
  return { image, mask, cracks, distractors };
}

/** Concrete: a base tone, mottling, multi-octave noise, aggregate speckle, dark pores and a lighting gradient. */
function renderConcrete(rng: Rng, size: number, u: number): Float32Array {
  const base = uniform(rng, 0.45, 0.75);
  const image = new Float32Array(size * size).fill(base);

  // Cement paste: broad mottling plus a fine multi-octave texture.
  const mottling = fbm(rng, size, uniform(rng, 1.5, 3), 2);
  const texture = fbm(rng, size, uniform(rng, 5, 8), 4, 0.7);
  const sand = valueNoise(rng, size, 32); // ~2-pixel grains at 64 px, scaled with the image
  const mottlingAmp = uniform(rng, 0.04, 0.12);
  const textureAmp = uniform(rng, 0.06, 0.14);
  const sandAmp = uniform(rng, 0.03, 0.08);
  for (let i = 0; i < image.length; i++) {
    image[i]! += mottlingAmp * mottling[i]! + textureAmp * texture[i]! + sandAmp * (sand[i]! - 0.5);
  }

  // Aggregate speckle: many small soft blobs, lighter or darker than the paste (sand and gravel grains).
  const speckles = Math.round(uniform(rng, 0.03, 0.1) * size * size / (u * u));
  for (let k = 0; k < speckles; k++) {
    const pebble = rng() < 0.1;
    const radius = Math.max(0.5, (pebble ? uniform(rng, 1.8, 3.5) : uniform(rng, 0.5, 1.5)) * u);
    const delta = (rng() < 0.55 ? 1 : -1) * (pebble ? uniform(rng, 0.02, 0.05) : uniform(rng, 0.02, 0.07));
    stampDisc(image, size, uniform(rng, 0, size), uniform(rng, 0, size), radius, delta, 0.8);
  }

  // Pores: air voids, small and round, with a dark centre — dark like a crack, but not elongated.
  const pores = Math.floor(uniform(rng, 0, 1) ** 2 * 14);
  for (let k = 0; k < pores; k++) {
    const radius = Math.max(0.5, uniform(rng, 0.4, 1.6) * u);
    stampDisc(image, size, uniform(rng, 0, size), uniform(rng, 0, size), radius, -uniform(rng, 0.1, 0.3), 0.5);
  }

  // Lighting: a linear gradient across the patch and a mild vignette.
  const angle = uniform(rng, 0, 2 * Math.PI);
  const slope = uniform(rng, 0, 0.12);
  const vignette = uniform(rng, 0, 0.08);
  const gx = Math.cos(angle);
  const gy = Math.sin(angle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const nx = (x + 0.5) / size - 0.5;
      const ny = (y + 0.5) / size - 0.5;
      image[y * size + x]! += slope * (nx * gx + ny * gy) - vignette * 2 * (nx * nx + ny * ny);
    }
  }
  return image;
}

/** Adds `delta` inside a disc with a soft rim of `softness` × radius. */
function stampDisc(image: Float32Array, size: number, cx: number, cy: number, radius: number, delta: number, softness: number) {
  const reach = radius + 1;
  for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(size - 1, Math.ceil(cy + reach)); y++) {
    for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(size - 1, Math.ceil(cx + reach)); x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      const weight = 1 - smoothstep(radius * (1 - softness), radius + 0.5, d);
      if (weight > 0) image[y * size + x]! += delta * weight;
    }
  }
}

/**
 * Distractors darken the surface without being cracks (the masks stay zero):
 * stain — a broad irregular blotch; tide mark — a blotch whose dried rim is darker than its inside;
 * streak — a soft vertical water run-off line, wide and low-contrast, fading downwards.
 */
function drawDistractor(rng: Rng, image: Float32Array, size: number, u: number): SyntheticInfo["distractors"][number] {
  const pick = rng();
  if (pick < 0.7) {
    const tide = pick >= 0.45;
    const cx = uniform(rng, 0.15, 0.85) * size;
    const cy = uniform(rng, 0.15, 0.85) * size;
    const radius = uniform(rng, 0.12, 0.35) * size;
    const darkness = uniform(rng, 0.04, 0.14);
    const rimDarkness = tide ? uniform(rng, 0.05, 0.12) : 0;
    const rimWidth = uniform(rng, 0.8, 2) * u;
    const wobble = fbm(rng, size, 3, 3); // irregular outline
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy) / (radius * (1 + 1.2 * wobble[i]!));
        const inside = 1 - smoothstep(0.75, 1.05, d);
        const rim = Math.exp(-((((d - 1) * radius) / rimWidth) ** 2));
        image[i]! *= 1 - darkness * inside * (tide ? 0.5 : 1) - rimDarkness * rim;
      }
    }
    return tide ? "tide-mark" : "stain";
  }
  // A run-off streak from an upper point downwards, slightly wavy, a few pixels wide, soft-edged.
  const x0 = uniform(rng, 0.1, 0.9) * size;
  const top = uniform(rng, -0.2, 0.5) * size;
  const length = uniform(rng, 0.3, 0.9) * size;
  const width = uniform(rng, 2, 5) * u;
  const darkness = uniform(rng, 0.05, 0.13);
  const waveAmp = uniform(rng, 0, 2) * u;
  const wavePhase = uniform(rng, 0, 2 * Math.PI);
  const waveLength = uniform(rng, 0.3, 0.8) * size;
  for (let y = 0; y < size; y++) {
    const along = (y + 0.5 - top) / length;
    if (along < 0 || along > 1) continue;
    const strength = smoothstep(0, 0.1, along) * (1 - smoothstep(0.4, 1, along));
    const centre = x0 + waveAmp * Math.sin(wavePhase + (2 * Math.PI * y) / waveLength);
    for (let x = 0; x < size; x++) {
      const profile = Math.exp(-(((x + 0.5 - centre) / (width / 2)) ** 2));
      image[y * size + x]! *= 1 - darkness * strength * profile;
    }
  }
  return "streak";
}

// --- cracks -------------------------------------------------------------------------------------------

interface CrackNode {
  x: number;
  y: number;
  /** Full width in pixels at this node. */
  width: number;
  /** Opacity of the crack's dark interior here, 0..1 (strength × end fade). */
  alpha: number;
  /** The end fade alone (1 in the body, → 0 at a faded tip); the mask stops where it drops below 0.2. */
  fade: number;
}

interface DrawnCracks {
  alpha: Float32Array;
  mask: Uint8Array;
  darkTone: number;
  cracks: SyntheticInfo["cracks"];
}

/** One or two main cracks, each a branching random walk; returns per-pixel opacity and the exact mask. */
function drawCracks(rng: Rng, size: number, u: number): DrawnCracks {
  const alpha = new Float32Array(size * size);
  const mask = new Uint8Array(size * size);
  const cracks: DrawnCracks["cracks"] = [];
  const roughness = fbm(rng, size, uniform(rng, 16, 24), 2); // jagged edges: the width wobbles pixel by pixel
  const mainCracks = rng() < 0.8 ? 1 : 2;
  for (let c = 0; c < mainCracks; c++) {
    // Width: hairline (a pixel or less) / medium / wide. Strength: faint / moderate / strong.
    const w = rng();
    const width = w < 0.35 ? uniform(rng, 0.5, 1.1) : w < 0.85 ? uniform(rng, 1.1, 2.6) * u : uniform(rng, 2.6, 4.5) * u;
    const s = rng();
    const strength = s < 0.2 ? uniform(rng, 0.3, 0.5) : s < 0.55 ? uniform(rng, 0.5, 0.75) : uniform(rng, 0.75, 0.95);
    const start = crackStart(rng, size);
    const paths: CrackNode[][] = [];
    walkCrack(rng, size, u, start.x, start.y, start.angle, uniform(rng, 0.6, 1.6) * size, width, strength, !start.atEdge, 0, paths);
    for (const nodes of paths) rasterise(nodes, size, u, roughness, alpha, mask);
    cracks.push({
      width: round3(width),
      strength: round3(strength),
      faint: s < 0.2,
      hairline: w < 0.35,
      branches: paths.length - 1,
    });
  }
  return { alpha, mask, darkTone: uniform(rng, 0.08, 0.22), cracks };
}

/** 60 %: enters from an edge, heading inwards; 40 %: starts (faded in) somewhere inside. */
function crackStart(rng: Rng, size: number): { x: number; y: number; angle: number; atEdge: boolean } {
  if (rng() < 0.6) {
    const side = Math.floor(rng() * 4);
    const along = uniform(rng, 0.1, 0.9) * size;
    const inward = [Math.PI / 2, Math.PI, -Math.PI / 2, 0][side]!; // top, right, bottom, left
    const [x, y] = [[along, -1], [size + 1, along], [along, size + 1], [-1, along]][side]!;
    return { x: x!, y: y!, angle: inward + uniform(rng, -0.8, 0.8), atEdge: true };
  }
  return { x: uniform(rng, 0.2, 0.8) * size, y: uniform(rng, 0.2, 0.8) * size, angle: uniform(rng, 0, 2 * Math.PI), atEdge: false };
}

/**
 * A crack as a random walk with momentum: the heading drifts smoothly (tortuous path) with small kinks,
 * pulled weakly back to its initial course so it does not curl up. Width wobbles along the way; the ends
 * fade (a tip inside the image thins and lightens to nothing). Branches split off at 25–70°, thinner,
 * fainter and shorter, up to two levels deep. Appends this path and its branches to `paths`.
 */
function walkCrack(
  rng: Rng, size: number, u: number, x: number, y: number, angle: number, length: number,
  width: number, strength: number, fadeIn: boolean, depth: number, paths: CrackNode[][],
): void {
  const step = 1.5 * u;
  const steps = Math.max(2, Math.round(length / step));
  const course = angle;
  let turn = 0;
  const points: { x: number; y: number }[] = [{ x, y }];
  for (let k = 0; k < steps; k++) {
    turn = 0.85 * turn + 0.05 * gaussian(rng);
    const kink = rng() < 0.08 ? 0.6 * gaussian(rng) : 0; // concrete breaks around aggregate: sudden kinks
    angle += turn + kink + 0.2 * gaussian(rng) + 0.05 * (course - angle);
    x += step * Math.cos(angle);
    y += step * Math.sin(angle);
    points.push({ x, y });
    if (x < -width - 2 || y < -width - 2 || x > size + width + 2 || y > size + width + 2) break;
  }
  const leftImage = !(x >= 0 && y >= 0 && x <= size && y <= size);
  const n = points.length;
  const fadeInSteps = fadeIn ? Math.round(n * uniform(rng, 0.1, 0.35)) : 0;
  const fadeOutSteps = leftImage ? 0 : Math.round(n * uniform(rng, 0.15, 0.4));
  // Width along the path: random variation, interpolated between knots every 4 steps.
  const knots = Array.from({ length: Math.ceil(n / 4) + 2 }, () => uniform(rng, 0.6, 1.4));
  const nodes: CrackNode[] = points.map((p, k) => {
    const fade = smoothstep(-1, fadeInSteps, k) * smoothstep(-1, fadeOutSteps, n - 1 - k);
    const knot = k / 4;
    const k0 = Math.floor(knot);
    const wobble = knots[k0]! + (knots[k0 + 1]! - knots[k0]!) * (knot - k0);
    return { x: p.x, y: p.y, width: Math.max(0.5, width * wobble * (0.4 + 0.6 * fade)), alpha: strength * fade, fade };
  });
  paths.push(nodes);

  if (depth >= 2 || n < 8) return;
  const branches = rng() < 0.55 ? Math.floor(uniform(rng, 1, depth === 0 ? 3.99 : 2.5)) : 0;
  for (let b = 0; b < branches; b++) {
    const at = Math.floor(uniform(rng, 0.15, 0.8) * (n - 1));
    const node = nodes[at]!;
    if (node.fade < 0.5) continue;
    const next = nodes[at + 1]!;
    const heading = Math.atan2(next.y - node.y, next.x - node.x);
    const side = rng() < 0.5 ? -1 : 1;
    walkCrack(
      rng, size, u, node.x, node.y, heading + side * uniform(rng, 0.45, 1.2),
      length * uniform(rng, 0.15, 0.45), Math.max(0.5, node.width * uniform(rng, 0.4, 0.75)),
      node.alpha * uniform(rng, 0.7, 1), false, depth + 1, paths,
    );
  }
}

/**
 * Draws a polyline into the opacity map (max over overlapping segments, so crossings do not double-darken)
 * and the mask. A pixel's opacity is the exact 1-D box-filter coverage of the crack's cross-section by the
 * pixel, so a 0.6-pixel hairline darkens its pixels by 60 % of a full crack. The mask holds every pixel
 * whose centre lies within the (roughened) half-width — or within half a pixel, so hairlines stay
 * 8-connected — wherever the end fade is at least 0.2.
 */
function rasterise(nodes: CrackNode[], size: number, u: number, roughness: Float32Array, alpha: Float32Array, mask: Uint8Array) {
  for (let k = 0; k + 1 < nodes.length; k++) {
    const a = nodes[k]!;
    const b = nodes[k + 1]!;
    const reach = Math.max(a.width, b.width) * 0.75 + 1.5;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const lengthSq = dx * dx + dy * dy || 1;
    for (let py = Math.max(0, Math.floor(Math.min(a.y, b.y) - reach)); py <= Math.min(size - 1, Math.ceil(Math.max(a.y, b.y) + reach)); py++) {
      for (let px = Math.max(0, Math.floor(Math.min(a.x, b.x) - reach)); px <= Math.min(size - 1, Math.ceil(Math.max(a.x, b.x) + reach)); px++) {
        const cx = px + 0.5;
        const cy = py + 0.5;
        const t = Math.min(1, Math.max(0, ((cx - a.x) * dx + (cy - a.y) * dy) / lengthSq));
        const d = Math.hypot(cx - (a.x + t * dx), cy - (a.y + t * dy));
        const i = py * size + px;
        const smoothHalfWidth = (a.width + t * (b.width - a.width)) / 2;
        // Ragged edges of up to ±0.45 px at 64 px: relative for thin cracks, absolute for wide ones.
        const halfWidth = smoothHalfWidth + 0.9 * roughness[i]! * Math.min(smoothHalfWidth, u);
        const coverage = Math.max(0, Math.min(d + 0.5, halfWidth) - Math.max(d - 0.5, -halfWidth));
        const opacity = Math.min(1, coverage) * (a.alpha + t * (b.alpha - a.alpha));
        if (opacity > alpha[i]!) alpha[i] = opacity;
        const fade = a.fade + t * (b.fade - a.fade);
        if (fade >= 0.2 && d <= Math.max(halfWidth, 0.5)) mask[i] = 1;
      }
    }
  }
}

/** A crack is a shadowed gap: blend each pixel towards a dark tone by its opacity. */
function compositeCracks(image: Float32Array, alpha: Float32Array, darkTone: number) {
  for (let i = 0; i < image.length; i++) {
    const a = alpha[i]!;
    if (a > 0) image[i] = image[i]! * (1 - a) + darkTone * a;
  }
}

function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
