/**
 * Inference speed of the students (and the autoencoder) at the default sizes, on the same 64×64 images as
 * the heal bench, and their speed-up over DDIM-10 and DDPM-250 healing there. Random weights: speed does
 * not depend on them. `benchStudents(args, heal)` → `[{method, img_per_s, ms_per_image, params,
 * speedup_vs_ddim, speedup_vs_ddpm}]`. Options: --images N (16), --size (64), --student-rounds R (5).
 */
import type { Args } from "../cli/args";
import { Autoencoder, aeDetector, defaultAeConfig } from "../ml/methods/ae";
import type { Detector } from "../ml/methods/detector";
import { defaultHealOptions } from "../ml/heal";
import { Student, studentDetector } from "../ml/methods/student";

export async function benchStudents(args: Args, heal: Record<string, unknown> | null): Promise<Record<string, unknown>[]> {
  const count = args.number("images", 16);
  const size = args.number("size", 64);
  const rounds = args.number("student-rounds", 5);
  const images = Array.from({ length: count }, (_, i) => ({
    id: `bench-${i}`,
    image: Float32Array.from({ length: size * size }, (_, k) => 0.5 + 0.3 * Math.sin(k * 0.37 + i)),
  }));
  // The default image score (segment pooling included) is part of each method's cost.
  const { topkPercent: topk, lineLength: line, background } = defaultHealOptions;
  const base = { channels: 1 as const, width: 16, levels: 3, targetScale: 1, topk, line, background };
  const detectors: Detector[] = [
    studentDetector(new Student({ ...base, kind: "single", stages: 1 }), size, { trainedOn: null, validation: null, settings: {}, batchSize: count }),
    studentDetector(new Student({ ...base, kind: "c2f", stages: 3 }), size, { trainedOn: null, validation: null, settings: {}, batchSize: count }),
    aeDetector(new Autoencoder({ channels: 1, ...defaultAeConfig }), size, { trainedOn: null, validation: null, batchSize: count }),
  ];
  const ddimRate = typeof heal?.img_per_s === "number" ? heal.img_per_s : null;
  const ddpmRate = typeof (heal?.ddpm as { img_per_s?: number } | undefined)?.img_per_s === "number" ? (heal!.ddpm as { img_per_s: number }).img_per_s : null;
  const out: Record<string, unknown>[] = [];
  for (const detector of detectors) {
    try {
      await detector.heatmaps(images); // warm-up
      const rates: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const started = performance.now();
        await detector.heatmaps(images);
        rates.push(count / ((performance.now() - started) / 1000));
      }
      const rate = rates.sort((a, b) => a - b)[rates.length >> 1]!;
      out.push({
        method: detector.method,
        img_per_s: rate,
        ms_per_image: 1000 / rate,
        params: detector.params,
        calls_per_image: detector.callsPerImage,
        speedup_vs_ddim: ddimRate ? rate / ddimRate : null,
        speedup_vs_ddpm: ddpmRate ? rate / ddpmRate : null,
      });
      console.error(`  ${detector.method}: ${rate.toFixed(1)} img/s`);
    } finally {
      detector.dispose();
    }
  }
  return out;
}
