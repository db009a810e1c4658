/**
 * Deterministic train/validation/test splits by a hash of the sample id (e.g. "Positive/00001"): the same
 * file lands in the same split on every machine, in every run, whatever else is in the folder, so adding
 * images never moves old ones between splits. Pure TS (no Node APIs) so the UI can show a split too.
 *
 * The id's hash u ∈ [0, 1) decides: u < testFraction → test; u < testFraction + valFraction → validation;
 * else train. The test band does not depend on valFraction, so adding a validation split never moves an
 * image into or out of the test split. Training never uses the validation band (see trainingSplit).
 */
import { fmix32 } from "../hash";

export type SplitName = "train" | "val" | "test";

/** 32-bit FNV-1a over the UTF-8 bytes of `text`, followed by MurmurHash3's fmix32 finaliser. */
export function stableHash32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  // FNV-1a alone mixes the last characters only into the higher bits; names like 00001/00002 differ
  // exactly there, so avalanche the whole word before using it as a uniform number.
  return fmix32(h);
}

/** The id's hash as a number in [0, 1). */
export function unitHash(id: string): number {
  return stableHash32(id) / 2 ** 32;
}

/** Which split an id belongs to (see the file comment). */
export function splitOf(id: string, testFraction: number, valFraction = 0): SplitName {
  if (!(testFraction >= 0 && testFraction <= 1)) {
    throw new Error(`testFraction must be in [0, 1], got ${testFraction}`);
  }
  if (!(valFraction >= 0 && testFraction + valFraction <= 1)) {
    throw new Error(`valFraction must be in [0, 1 − testFraction], got ${valFraction}`);
  }
  const u = unitHash(id);
  return u < testFraction ? "test" : u < testFraction + valFraction ? "val" : "train";
}

/**
 * Whether an id belongs to the requested split. "all" keeps everything; "train+test" keeps everything but
 * the validation split (what a model trains on when it is told to use all data).
 */
export function inSplit(
  id: string,
  split: "train" | "val" | "test" | "all" | "train+test",
  testFraction: number,
  valFraction = 0,
): boolean {
  if (split === "all") return true;
  const of = splitOf(id, testFraction, valFraction);
  return split === "train+test" ? of !== "val" : of === split;
}
