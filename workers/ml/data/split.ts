/**
 * Deterministic train/test splits by a hash of the sample id (e.g. "Positive/00001"): the same file lands in
 * the same split on every machine, in every run, whatever else is in the folder, so adding images never
 * moves old ones between train and test. Pure TS (no Node APIs) so the UI can show a split too.
 */
import { fmix32 } from "../hash";

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

/** "test" when the id's hash falls below testFraction, else "train". */
export function splitOf(id: string, testFraction: number): "train" | "test" {
  if (!(testFraction >= 0 && testFraction <= 1)) {
    throw new Error(`testFraction must be in [0, 1], got ${testFraction}`);
  }
  return unitHash(id) < testFraction ? "test" : "train";
}

/** Whether an id belongs to the requested split ("all" keeps everything). */
export function inSplit(id: string, split: "train" | "test" | "all", testFraction: number): boolean {
  return split === "all" || splitOf(id, testFraction) === split;
}
