/**
 * Visualisations as PNG (encodePng): the forward process as a strip, the healing (reverse) trajectory,
 * samples drawn from pure noise beside their nearest training images (the plan's first question: does
 * diffusion memorise pixels or learn structure?), and panels of hardest cases. Heatmaps use a colour map.
 */
import * as tf from "@tensorflow/tfjs";
import { encodePng } from "./image";
import { mixSeed } from "./hash";
import { forwardNoise, NoiseGenerator } from "./random";
import { checkTimestep, qSample, type NoiseSchedule } from "./diffusion/schedule";
import { makeScheduler } from "./diffusion/schedulers";
import { reverseProcess, type EpsilonModel } from "./diffusion/sample";
import { gaussianBlur, healBatch, healNoise, makeHealScheduler, residualMap, imageScore, type HealOptions } from "./heal";
import type { ImageResult } from "./evaluate";

/** An RGB image in [0, 1], row-major H×W×3. */
export interface Tile {
  pixels: Float32Array;
  width: number;
  height: number;
}

/** Anchors of a perceptually ordered dark → bright map (close to matplotlib's "inferno"). */
const INFERNO: [number, number, number][] = [
  [0.0, 0.0, 0.02],
  [0.26, 0.04, 0.41],
  [0.58, 0.15, 0.4],
  [0.87, 0.32, 0.23],
  [0.99, 0.64, 0.04],
  [0.99, 1.0, 0.64],
];

/** Colour of a value in [0, 1] (clamped). */
export function colormap(value: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, value)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(v));
  const f = v - i;
  const a = INFERNO[i]!;
  const b = INFERNO[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** An image (size × size × channels in [0, 1]) as an RGB tile. */
export function imageTile(pixels: Float32Array, size: number, channels: number): Tile {
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = pixels[i * channels + (channels === 3 ? c : 0)]!;
  }
  return { pixels: out, width: size, height: size };
}

/** A heatmap (size × size) as a colour-mapped tile; values are divided by `max` (default: its own maximum). */
export function heatmapTile(heatmap: Float32Array, size: number, max?: number): Tile {
  const scale = max ?? Math.max(1e-6, maxOf(heatmap));
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) out.set(colormap(heatmap[i]! / scale), i * 3);
  return { pixels: out, width: size, height: size };
}

/** Largest value (a loop: spreading a large image into Math.max can overflow the call stack). */
function maxOf(values: Float32Array): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** A 0/1 mask as a white-on-black tile. */
export function maskTile(mask: Uint8Array, size: number): Tile {
  return imageTile(Float32Array.from(mask), size, 1);
}

/** Tiles in rows (rows may differ in length), separated by `gap` white pixels. */
export function composeGrid(rows: Tile[][], gap = 2): Tile {
  const cellW = Math.max(...rows.flat().map((t) => t.width));
  const cellH = Math.max(...rows.flat().map((t) => t.height));
  const cols = Math.max(...rows.map((r) => r.length));
  const width = cols * cellW + (cols + 1) * gap;
  const height = rows.length * cellH + (rows.length + 1) * gap;
  const pixels = new Float32Array(width * height * 3).fill(1);
  rows.forEach((row, r) =>
    row.forEach((tile, c) => {
      const left = gap + c * (cellW + gap);
      const top = gap + r * (cellH + gap);
      for (let y = 0; y < tile.height; y++) {
        const from = y * tile.width * 3;
        pixels.set(tile.pixels.subarray(from, from + tile.width * 3), ((top + y) * width + left) * 3);
      }
    }),
  );
  return { pixels, width, height };
}

export function tilePng(tile: Tile): Promise<Buffer> {
  return encodePng(tile.pixels, tile.width, tile.height, 3);
}

/** Tensor [1, H, W, C] in [−1, 1] → pixels in [0, 1]. */
async function toPixels(x: tf.Tensor4D): Promise<Float32Array> {
  const t = tf.tidy(() => x.add(1).div(2).clipByValue(0, 1));
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

/**
 * Forward process q(x_t | x_0) of one image at several t, with one ε for all of them (Ho et al. Eq. 4),
 * so the strip shows the same noise taking over as ᾱ_t falls.
 */
export async function forwardStrip(
  schedule: NoiseSchedule,
  image: Float32Array,
  size: number,
  channels: 1 | 3,
  timesteps: number[] = [0, 50, 100, 250, 500, 750, schedule.T],
  seed = 0,
): Promise<{ png: Buffer; timesteps: number[] }> {
  timesteps.forEach((t) => checkTimestep(schedule, t));
  const x0 = tf.tidy(() => tf.tensor4d(image, [1, size, size, channels]).mul(2).sub(1) as tf.Tensor4D);
  const noise = forwardNoise(schedule.noise, x0.shape, mixSeed(seed, 0xf0)) as tf.Tensor4D;
  const tiles: Tile[] = [];
  for (const t of timesteps) {
    const xt = qSample(schedule, x0, noise, t);
    tiles.push(imageTile(await toPixels(xt), size, channels));
    xt.dispose();
  }
  tf.dispose([x0, noise]);
  return { png: await tilePng(composeGrid([tiles])), timesteps };
}

/**
 * The healing trajectory of one image: y | x_t₀ | x̂_0 predicted at intermediate steps | final x̂_0 |
 * heatmap (| mask when given). Returns the PNG, the image score and the steps shown.
 */
export async function healingTrajectory(
  model: EpsilonModel,
  schedule: NoiseSchedule,
  image: Float32Array,
  size: number,
  channels: 1 | 3,
  options: HealOptions,
  extra: { id?: string; mask?: Uint8Array | null; frames?: number } = {},
): Promise<{ png: Buffer; score: number; shownSteps: number[] }> {
  const scheduler = makeHealScheduler(schedule, options);
  const frames = Math.min(extra.frames ?? 4, scheduler.timesteps.length);
  // Which steps' x̂_0 to show: evenly spread over the trajectory, always including the first.
  const wanted = new Set(Array.from({ length: frames }, (_, i) => Math.floor((i * scheduler.timesteps.length) / frames)));
  const intermediates: Tile[] = [];
  const shownSteps: number[] = [];
  const y = tf.tidy(() => tf.tensor4d(image, [1, size, size, channels]).mul(2).sub(1) as tf.Tensor4D);
  const predictions: tf.Tensor4D[] = [];
  const { healed, start } = await healBatch(model, scheduler, y, healNoise(options.seed, 0, [extra.id ?? "image"], schedule.noise), {
    keepStart: true,
    onStep: ({ index, t, predOriginal }) => {
      if (wanted.has(index)) {
        predictions.push(predOriginal.clone());
        shownSteps.push(t);
      }
    },
  });
  for (const p of predictions) intermediates.push(imageTile(await toPixels(p), size, channels));
  const heat = tf.tidy(() => gaussianBlur(residualMap(y, healed, options.residual), options.smoothSigma));
  const heatmap = (await heat.data()) as Float32Array;
  const row: Tile[] = [
    imageTile(image, size, channels),
    imageTile(await toPixels(start!), size, channels),
    ...intermediates,
    imageTile(await toPixels(healed), size, channels),
    heatmapTile(heatmap, size),
  ];
  if (extra.mask) row.push(maskTile(extra.mask, size));
  tf.dispose([y, healed, start!, heat, ...predictions]);
  return { png: await tilePng(composeGrid([row])), score: imageScore(heatmap, options), shownSteps };
}

/**
 * Draws `count` samples from pure noise (DDIM, `steps` calls from T) and finds each one's nearest training
 * image. Distances are RMS pixel differences in [0, 1] units; `trainNearestRms` (the median distance from a
 * training image to its nearest other training image) is the yardstick: samples far closer to a training image
 * than training images are to each other would be copies.
 */
export async function samplesVsNearest(
  model: EpsilonModel,
  schedule: NoiseSchedule,
  trainImages: Float32Array[],
  size: number,
  channels: 1 | 3,
  options: { count: number; steps: number; seed: number },
): Promise<{ png: Buffer; distances: number[]; nearestIndex: number[]; trainNearestRms: number }> {
  if (trainImages.length === 0) throw new Error("samplesVsNearest: no training images to compare with");
  const scheduler = makeScheduler("ddim", schedule);
  scheduler.setTimesteps(Math.min(options.steps, schedule.T), schedule.T);
  const ids = Array.from({ length: options.count }, (_, i) => i);
  const generator = NoiseGenerator.forBatch(options.seed, ids, schedule.noise);
  const xT = generator.draw([size, size, channels]);
  const x0 = await reverseProcess(model, scheduler, xT, { generator });
  const samples = await toPixels(x0);
  tf.dispose([xT, x0]);
  const pixels = size * size * channels;
  const rms = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let i = 0; i < pixels; i++) s += (a[i]! - b[i]!) ** 2;
    return Math.sqrt(s / pixels);
  };
  const distances: number[] = [];
  const nearestIndex: number[] = [];
  const sampleTiles: Tile[] = [];
  const nearestTiles: Tile[] = [];
  for (let i = 0; i < options.count; i++) {
    const sample = samples.subarray(i * pixels, (i + 1) * pixels);
    let best = Infinity;
    let bestIndex = 0;
    trainImages.forEach((train, j) => {
      const d = rms(sample, train);
      if (d < best) [best, bestIndex] = [d, j];
    });
    distances.push(best);
    nearestIndex.push(bestIndex);
    sampleTiles.push(imageTile(sample, size, channels));
    nearestTiles.push(imageTile(trainImages[bestIndex]!, size, channels));
  }
  const trainNearest = trainImages.slice(0, 64).map((a, i) =>
    Math.min(...trainImages.map((b, j) => (i === j ? Infinity : rms(a, b)))),
  );
  trainNearest.sort((a, b) => a - b);
  const trainNearestRms = trainNearest.length ? trainNearest[Math.floor(trainNearest.length / 2)]! : Number.NaN;
  return { png: await tilePng(composeGrid([sampleTiles, nearestTiles])), distances, nearestIndex, trainNearestRms };
}

/** Rows of image (| healed) | heatmap (| mask) for per-image results, heatmaps on one shared scale. */
export async function resultsPanel(results: ImageResult[], size: number, channels: 1 | 3): Promise<Buffer> {
  if (results.length === 0) throw new Error("resultsPanel: no results to show");
  const max = Math.max(1e-6, ...results.map((r) => maxOf(r.heatmap)));
  const rows = results.map((r) => {
    const row = [imageTile(r.image, size, channels)];
    if (r.healed) row.push(imageTile(r.healed, size, channels));
    row.push(heatmapTile(r.heatmap, size, max));
    if (r.mask) row.push(maskTile(r.mask, size));
    return row;
  });
  return tilePng(composeGrid(rows));
}
