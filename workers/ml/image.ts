/** Image encoding and decoding through sharp (prebuilt binaries from npm). */
import sharp from "sharp";

/**
 * Encodes a size-aware float image (values in [0, 1], row-major H×W×C) as PNG.
 * Values are clamped; C is 1 (grayscale) or 3 (RGB).
 */
export async function encodePng(
  pixels: Float32Array | Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 = 1,
): Promise<Buffer> {
  const bytes =
    pixels instanceof Uint8Array
      ? pixels
      : Uint8Array.from(pixels, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    raw: { width, height, channels },
  })
    .png()
    .toBuffer();
}
