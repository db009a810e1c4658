/**
 * Files of the non-diffusion methods (autoencoder, students): a JSON header (format, method, size, channels,
 * the architecture, how it was trained, the tensor list) and the float32 weights, in the same two shapes as
 * a DDPM checkpoint (workers/ml/checkpoint.ts): one byte array ("CDCK", uint32 header length, header, zero
 * padding to a multiple of 4, floats) for the worker's artifacts, or MODEL_DIR/model.json + weights.bin.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Weights } from "../unet";

export const MODEL_FORMAT = "crackdiff-model";
const MAGIC = "CDCK";

export interface ModelMeta {
  method: string;
  size: number;
  channels: 1 | 3;
  /** The network's architecture (what its constructor needs). */
  config: Record<string, unknown>;
  /** How it was trained: data, split, seed, trainImages (fingerprints), … */
  training: Record<string, unknown>;
}

export interface ModelHeader extends ModelMeta {
  format: typeof MODEL_FORMAT;
  version: 1;
  tensors: { name: string; shape: number[] }[];
}

export interface ModelFile {
  header: ModelHeader;
  /** The weights by name; the caller disposes them. */
  values: Map<string, tf.Tensor>;
}

async function floatsOf(names: string[], weights: Weights): Promise<Float32Array> {
  const parts = await Promise.all(names.map(async (n) => (await weights.get(n)!.data()) as Float32Array));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function headerOf(meta: ModelMeta, weights: Weights): ModelHeader {
  return { format: MODEL_FORMAT, version: 1, ...meta, tensors: [...weights].map(([name, t]) => ({ name, shape: t.shape })) };
}

export async function encodeModel(meta: ModelMeta, weights: Weights): Promise<Uint8Array> {
  const header = headerOf(meta, weights);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((8 + json.length) / 4) * 4;
  const floats = await floatsOf(header.tensors.map((t) => t.name), weights);
  const bytes = new Uint8Array(dataStart + floats.byteLength);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(4, json.length, true);
  bytes.set(json, 8);
  bytes.set(new Uint8Array(floats.buffer), dataStart);
  return bytes;
}

/** The JSON header of a CDCK byte array (a DDPM checkpoint's or a model's), and where its floats start. */
export function readHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error("not a Crackdiff model (bad magic bytes)");
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + length > bytes.length) throw new Error("model: truncated header");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, unknown>;
  return { header, dataStart: Math.ceil((8 + length) / 4) * 4 };
}

export function decodeModel(bytes: Uint8Array): ModelFile {
  const { header, dataStart } = readHeader(bytes);
  return modelFrom(header, bytes.subarray(dataStart));
}

export async function saveModelDir(dir: string, meta: ModelMeta, weights: Weights): Promise<void> {
  const header = headerOf(meta, weights);
  const floats = await floatsOf(header.tensors.map((t) => t.name), weights);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "weights.bin"), new Uint8Array(floats.buffer));
  await writeFile(path.join(dir, "model.json"), JSON.stringify(header, null, 1) + "\n");
}

export async function loadModelDir(dir: string): Promise<ModelFile> {
  const [json, data] = await Promise.all([readFile(path.join(dir, "model.json"), "utf8"), readFile(path.join(dir, "weights.bin"))]);
  return modelFrom(JSON.parse(json) as Record<string, unknown>, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function modelFrom(raw: Record<string, unknown>, data: Uint8Array): ModelFile {
  if (raw.format !== MODEL_FORMAT) throw new Error(`model: format "${String(raw.format)}" is not ${MODEL_FORMAT}`);
  const header = raw as unknown as ModelHeader;
  const total = header.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (data.byteLength < total * 4) throw new Error(`model: weights are truncated (${data.byteLength} bytes, need ${total * 4})`);
  const floats = new Float32Array(data.slice(0, total * 4).buffer);
  const values = new Map<string, tf.Tensor>();
  let offset = 0;
  for (const { name, shape } of header.tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    values.set(name, tf.tensor(floats.subarray(offset, offset + n), shape));
    offset += n;
  }
  return { header, values };
}
