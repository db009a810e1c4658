/**
 * The one interface every method is evaluated through (anomalib style: each method keeps its network,
 * training loop, loss and anomaly map to itself; evaluation only sees this). A detector maps images to
 * anomaly heatmaps and image scores, says what one image costs (network calls, parameters), which images
 * it (and its teacher) trained on, and where its validation images come from.
 */
import type { DataSource } from "../config";

export interface DetectorOutput {
  /** size × size anomaly map (≥ 0, higher = more likely crack). */
  heatmap: Float32Array;
  /** Image score (pooled heatmap). */
  score: number;
  /** The reconstruction (x̂_0, an autoencoder's output) in [0, 1] when the method has one. */
  reconstruction: Float32Array | null;
}

/** The data a model was trained from, so its validation split (never trained on) can be loaded again. */
export interface ValidationSource {
  data: DataSource;
  testFraction: number;
  valFraction: number;
}

export interface Detector {
  /** "ddpm" (healing with DDPM or DDIM), "ae", "student-single", "student-c2f". */
  readonly method: string;
  readonly size: number;
  readonly channels: 1 | 3;
  readonly params: number;
  readonly callsPerImage: number;
  /** Method settings worth reporting beside the metrics (sampler, steps, t0, targets, stages, …). */
  readonly settings: Record<string, string | number>;
  /** Fingerprints of every image the model or its teacher trained on; null when the model did not record them. */
  readonly trainedOn: ReadonlySet<string> | null;
  readonly validation: ValidationSource | null;
  /** Heatmaps and scores of images (each size × size × channels in [0, 1]); ids key any per-image randomness. */
  heatmaps(
    images: { id: string; image: Float32Array }[],
    hooks?: { onProgress?: (done: number, total: number) => void; checkCancelled?: () => void },
  ): Promise<DetectorOutput[]>;
  dispose(): void;
}

/** What a trained model records about its training set (kept in its metadata's `training`). */
export interface TrainingRecord {
  data: DataSource;
  split: "train" | "all";
  testFraction: number;
  valFraction: number;
  /** Content fingerprints (workers/ml/data/fingerprint.ts) of the images it trained on. */
  trainImages: string[];
}

/** The validation source and trained-on set from a model's `training` metadata (absent in old models). */
export function readTrainingRecord(training: Record<string, unknown>): { validation: ValidationSource | null; trainedOn: string[] | null } {
  const trainedOn = Array.isArray(training.trainImages) ? (training.trainImages as string[]) : null;
  const data = training.dataSource as DataSource | undefined;
  const validation =
    data && typeof training.testFraction === "number" && typeof training.valFraction === "number"
      ? { data, testFraction: training.testFraction, valFraction: training.valFraction }
      : null;
  return { validation, trainedOn };
}
