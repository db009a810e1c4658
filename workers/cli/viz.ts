/**
 * `npm run cli -- viz --model MODEL_DIR --image FILE --out DIR [--mask FILE] [--data DIR [--split train|all]
 *  [--count N]] [--sampler ddpm|ddim] [--steps S] [--t0 T] [--seed K] [--smooth SIGMA] [--residual dark|abs] --json`
 * Writes DIR/forward.png (x_0 → x_T at several t), DIR/trajectory.png (y | x_t0 | intermediate x̂0 | x̂0 |
 * heatmap (| mask)) and, with --data, DIR/samples.png: samples from pure noise (top row) above their nearest
 * Negative training images (bottom row), with the distances in the JSON.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { initBackend } from "../ml/backend";
import { loadCheckpointDir } from "../ml/checkpoint";
import { defaultHealOptions, RESIDUALS } from "../ml/heal";
import { decodeImage, decodeMask } from "../ml/image";
import { loadRunData, trainingSplit } from "../ml/runners/data";
import { healOptionsOf } from "../ml/runners/heal-eval";
import { epsilonModel } from "../ml/train";
import { forwardStrip, healingTrajectory, samplesVsNearest } from "../ml/viz";
import { UsageError, type Command } from "./args";

export default (async (args) => {
  const modelDir = args.required("model");
  const imageFile = args.required("image");
  const out = args.required("out");
  const sampler = args.choice("sampler", ["ddpm", "ddim"] as const, "ddim");
  const t0 = args.number("t0", defaultHealOptions.t0);
  const seed = args.number("seed", 0);
  const { backend } = await initBackend();
  const teacher = await loadCheckpointDir(modelDir);
  try {
    const { size, channels } = teacher.meta;
    const options = healOptionsOf({
      sampler,
      steps: args.number("steps"),
      t0,
      seeds: 1,
      seed,
      topk: args.number("topk", defaultHealOptions.topkPercent),
      line: args.number("line", defaultHealOptions.lineLength),
      background: args.number("background", defaultHealOptions.background),
      smooth: args.number("smooth", defaultHealOptions.smoothSigma),
      residual: args.choice("residual", RESIDUALS, defaultHealOptions.residual),
    });
    if (!Number.isInteger(t0) || t0 < 1 || t0 > teacher.schedule.T) throw new UsageError(`--t0 must be an integer in [1, ${teacher.schedule.T}]`);
    if (!(options.steps >= 1 && options.steps <= t0)) throw new UsageError(`--steps must be in [1, t0 = ${t0}]`);
    let image: Float32Array;
    try {
      image = await decodeImage(imageFile, { size, channels });
    } catch (err) {
      throw new UsageError(`cannot read --image ${imageFile}: ${(err as Error).message}`);
    }
    const maskFile = args.string("mask");
    const mask = maskFile ? await decodeMask(maskFile, size) : null;
    await mkdir(out, { recursive: true });
    const eps = epsilonModel(teacher.model);

    const forward = await forwardStrip(teacher.schedule, image, size, channels, undefined, seed);
    await writeFile(path.join(out, "forward.png"), forward.png);
    const trajectory = await healingTrajectory(eps, teacher.schedule, image, size, channels, options, {
      id: path.basename(imageFile),
      mask,
    });
    await writeFile(path.join(out, "trajectory.png"), trajectory.png);
    const result: Record<string, unknown> = {
      backend,
      forward: path.resolve(out, "forward.png"),
      forward_timesteps: forward.timesteps,
      trajectory: path.resolve(out, "trajectory.png"),
      trajectory_steps: trajectory.shownSteps,
      sampler: options.sampler,
      steps: options.steps,
      t0,
      score: trajectory.score,
    };

    const data = args.string("data");
    if (data) {
      const split = args.choice("split", ["train", "all"] as const, "train");
      const dataset = await loadRunData(
        { folder: data },
        { size, channels, split: trainingSplit(split), testFraction: args.number("test-fraction", 0.3), valFraction: args.number("val-fraction", 0.1), roots: "anywhere" },
      );
      const train = dataset.samples.filter((s) => s.label === 0).map((s) => s.image);
      const count = args.number("count", 8);
      if (!Number.isInteger(count) || count < 1 || count > 64) throw new UsageError("--count must be an integer in [1, 64]");
      const samples = await samplesVsNearest(eps, teacher.schedule, train, size, channels, { count, steps: args.number("sample-steps", 50), seed });
      await writeFile(path.join(out, "samples.png"), samples.png);
      Object.assign(result, {
        samples: path.resolve(out, "samples.png"),
        nearest_rms: samples.distances,
        train_nearest_rms: samples.trainNearestRms,
      });
    }
    console.error(`viz: wrote ${path.resolve(out)}`);
    return result;
  } finally {
    teacher.model.dispose();
  }
}) satisfies Command;
