/**
 * Content fingerprints of images, so a model can record which images it trained on and an evaluation can
 * refuse to score them as test data, whatever their file names. Two independent 32-bit hashes of the
 * float32 pixels (as decoded at the model's size) make a 64-bit id; pure TS.
 */
import { fmix32 } from "../hash";

export function imageFingerprint(image: Float32Array): string {
  const words = new Uint32Array(image.buffer, image.byteOffset, image.length);
  let a = 0x243f6a88 ^ image.length;
  let b = 0x85a308d3;
  for (let i = 0; i < words.length; i++) {
    a = Math.imul(a ^ words[i]!, 0x01000193);
    b = fmix32(b ^ words[i]!) + i;
  }
  return fmix32(a).toString(16).padStart(8, "0") + fmix32(b >>> 0).toString(16).padStart(8, "0");
}

/** The fingerprints of images, sorted (stored in a model's metadata). */
export function fingerprints(images: Float32Array[]): string[] {
  return [...new Set(images.map(imageFingerprint))].sort();
}
