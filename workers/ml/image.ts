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

/** How a decoded image is brought to the run's square resolution. */
export interface DecodeOptions {
  /** Output is size × size (aspect ratio is not kept: the whole image is stretched, so nothing is cropped). */
  size: number;
  /**
   * 1 = grayscale: relative luminance computed in linear light, then sRGB-encoded again (libvips' b-w);
   * 3 = RGB. Grayscale inputs are replicated to RGB when 3 is asked for.
   */
  channels: 1 | 3;
}

/**
 * Decodes an image file or buffer (JPEG, PNG, WebP, TIFF, GIF, … — whatever sharp reads), applies its EXIF
 * orientation, drops alpha, converts to grayscale or RGB and resizes to size × size (Lanczos-3).
 * Returns row-major H×W×C floats in [0, 1]. Throws on unreadable or corrupt data (sharp fails on
 * decoder warnings such as a truncated JPEG, so a half-written file is not silently half-grey).
 */
export async function decodeImage(input: string | Buffer, { size, channels }: DecodeOptions): Promise<Float32Array> {
  checkSize(size);
  let pipeline = sharp(input, { autoOrient: true, failOn: "warning" })
    .removeAlpha()
    .resize(size, size, { fit: "fill" });
  pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace("srgb");
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true }).catch(explainDecodeError);
  if (info.width !== size || info.height !== size || info.channels !== channels) {
    throw new Error(`decoded ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×${channels}`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! / 255;
  return out;
}

/**
 * Decodes a binary mask (crack = bright): grayscale, resized to size × size with nearest neighbour so no
 * in-between values appear, then thresholded at > 127. Returns size × size values 0/1.
 */
export async function decodeMask(input: string | Buffer, size: number): Promise<Uint8Array> {
  checkSize(size);
  const { data, info } = await sharp(input, { failOn: "warning" })
    .removeAlpha()
    .greyscale()
    .resize(size, size, { fit: "fill", kernel: "nearest" })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch(explainDecodeError);
  if (info.width !== size || info.height !== size || info.channels !== 1) {
    throw new Error(`decoded mask ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×1`);
  }
  const mask = new Uint8Array(size * size);
  for (let i = 0; i < mask.length; i++) mask[i] = data[i]! > 127 ? 1 : 0;
  return mask;
}

/** libvips says "Warning treated as error due to failOn setting" for a truncated file; say what it means. */
function explainDecodeError(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  throw new Error(`corrupt or unreadable image (${message})`);
}

/** Encodes a 0/1 mask as a grayscale PNG with crack = 255 (the folder-dataset convention). */
export async function encodeMaskPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  return encodePng(Uint8Array.from(mask, (v) => (v ? 255 : 0)), width, height, 1);
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new Error(`image size must be an integer in 1..4096, got ${size}`);
  }
}
