/**
 * In-training evaluation: on the validation split only (the test split is for `eval`), so whatever a run
 * reports or is tuned on while training never saw a test image.
 */
import type { DataSource } from "../config";
import type { Sample } from "../data/types";
import { summarise } from "../evaluate";
import type { RunLogger } from "../logger";
import type { Detector } from "../methods/detector";
import { loadRunData, logSkipped, type RunDataOptions } from "./data";
import { scoreSamples } from "./eval";

export interface ValidationResult {
  val_image_auroc: number | null;
  val_pixel_auroc: number | null;
  n_val: number;
}

/** The labelled validation split of a run's data. */
export async function loadValidation(
  data: DataSource,
  shape: { size: number; channels: 1 | 3 },
  fractions: Pick<RunDataOptions, "testFraction" | "valFraction" | "roots">,
  logger: RunLogger,
): Promise<Sample[]> {
  const dataset = await loadRunData(data, { ...shape, ...fractions, split: "val" });
  logSkipped((line) => logger.log(line), dataset);
  return dataset.samples;
}

/** Scores the validation samples, logs val/* metrics at `step` and returns them. */
export async function validate(detector: Detector, samples: Sample[], logger: RunLogger, step: number): Promise<ValidationResult | null> {
  if (samples.length === 0) return null;
  const { results, seconds } = await scoreSamples(detector, samples);
  const s = summarise(results, seconds, detector.callsPerImage);
  const values: Record<string, number> = {};
  if (s.image_auroc !== null) values["val/image_auroc"] = s.image_auroc;
  if (s.pixel_auroc !== null) values["val/pixel_auroc"] = s.pixel_auroc;
  await logger.metrics(step, values);
  logger.log(`step ${step}: validation (${samples.length} images): image AUROC ${s.image_auroc?.toFixed(3) ?? "n/a"}, pixel AUROC ${s.pixel_auroc?.toFixed(3) ?? "n/a"}`);
  return { val_image_auroc: s.image_auroc, val_pixel_auroc: s.pixel_auroc, n_val: samples.length };
}
