/**
 * Any trained model back as a Detector, from the bytes of its "checkpoint" artifact (a DDPM checkpoint or a
 * model file; the header's format says which): a teacher heals with the given options, the autoencoder
 * scores its residual by their residual, smoothing and top-k rules, a student ignores them.
 */
import { decodeCheckpoint } from "../checkpoint";
import type { HealOptions } from "../heal";
import { Autoencoder, aeDetector, type AeConfig } from "./ae";
import { readTrainingRecord, type Detector } from "./detector";
import { decodeModel, MODEL_FORMAT, readHeader } from "./modelfile";
import { Student, studentDetector, type StudentConfig } from "./student";
import { teacherDetector } from "./teacher";

export function decodeDetector(bytes: Uint8Array, healOptions: HealOptions, batchSize = 32): Detector {
  const { header } = readHeader(bytes);
  if (header.format !== MODEL_FORMAT) return teacherDetector(decodeCheckpoint(bytes), { ...healOptions, batchSize });
  const { header: meta, values } = decodeModel(bytes);
  const { validation, trainedOn } = readTrainingRecord(meta.training);
  try {
    if (meta.method === "ae") {
      const ae = new Autoencoder({ ...(meta.config as unknown as AeConfig), channels: meta.channels });
      ae.params.assign(values);
      return aeDetector(ae, meta.size, { trainedOn, validation, batchSize }, healOptions);
    }
    if (meta.method === "student-single" || meta.method === "student-c2f") {
      const student = new Student({ ...(meta.config as unknown as StudentConfig), channels: meta.channels });
      student.params.assign(values);
      const targets = meta.training.targets as Record<string, string | number> | undefined;
      const settings: Record<string, string | number> = {};
      for (const key of ["targets", "sampler", "steps", "t0"] as const) if (targets?.[key] !== undefined) settings[`teacher_${key}`] = targets[key]!;
      return studentDetector(student, meta.size, { trainedOn, validation, settings, batchSize });
    }
    throw new Error(`model: unknown method "${meta.method}"`);
  } finally {
    for (const v of values.values()) v.dispose();
  }
}
