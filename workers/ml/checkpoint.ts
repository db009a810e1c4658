/**
 * Checkpoints of a trained DDPM: the weights used for sampling (the EMA) plus everything needed to use them
 * again — architecture, noise schedule, image size and channels, how it was trained.
 *
 * As bytes (the worker stores them via logger.artifact): "CDCK", a little-endian uint32 header length, the
 * JSON header, zero padding to a multiple of 4, then every tensor's float32 values in header order.
 * As a folder (the CLI): MODEL_DIR/model.json (the same header) and MODEL_DIR/weights.bin (the floats).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { makeSchedule, type NoiseSchedule, type ScheduleKind } from "./diffusion/schedule";
import { validateNoiseSpec, type NoiseSpec } from "./noise";
import { UNet, validateUNetConfig, type UNetConfig, type Weights } from "./unet";

const MAGIC = "CDCK";
const FORMAT = "crackdiff-ddpm";
const VERSION = 1;

export interface CheckpointMeta {
  method: "ddpm";
  unet: UNetConfig;
  /** The forward process; `noise` is ε's distribution (absent in files from before it was an option: Gaussian). */
  schedule: { kind: ScheduleKind; T: number; noise?: NoiseSpec };
  /** Images are size × size × channels. */
  size: number;
  channels: 1 | 3;
  /** How it was trained (iters, batch, lr, seed, data, final loss, …); informational. */
  training: Record<string, unknown>;
}

interface Header extends CheckpointMeta {
  format: typeof FORMAT;
  version: number;
  tensors: { name: string; shape: number[] }[];
}

/** A loaded teacher: the network with its weights, its schedule and what the checkpoint said. */
export interface Teacher {
  model: UNet;
  schedule: NoiseSchedule;
  meta: CheckpointMeta;
}

function buildHeader(meta: CheckpointMeta, weights: Weights): Header {
  const specs = UNet.specs(meta.unet);
  for (const spec of specs) {
    const w = weights.get(spec.name);
    if (!w) throw new Error(`checkpoint: missing weight "${spec.name}"`);
    if (!tf.util.arraysEqual(w.shape, spec.shape)) throw new Error(`checkpoint: weight "${spec.name}" has shape [${w.shape}], expected [${spec.shape}]`);
  }
  return { format: FORMAT, version: VERSION, ...meta, tensors: specs };
}

async function weightBytes(header: Header, weights: Weights): Promise<Float32Array> {
  const total = header.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const { name } of header.tensors) {
    const values = (await weights.get(name)!.data()) as Float32Array;
    out.set(values, offset);
    offset += values.length;
  }
  return out;
}

/** Serialises weights + meta to one byte array (see the file comment for the layout). */
export async function encodeCheckpoint(meta: CheckpointMeta, weights: Weights): Promise<Uint8Array> {
  const header = buildHeader(meta, weights);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 8 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const floats = await weightBytes(header, weights);
  const bytes = new Uint8Array(dataStart + floats.byteLength);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(4, json.length, true);
  bytes.set(json, 8);
  bytes.set(new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength), dataStart);
  return bytes;
}

/** Rebuilds the teacher from `encodeCheckpoint`'s bytes. */
export function decodeCheckpoint(bytes: Uint8Array): Teacher {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error("checkpoint: not a Crackdiff checkpoint (bad magic bytes)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new Error("checkpoint: truncated header");
  const header = parseHeader(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  const dataStart = Math.ceil((8 + headerLength) / 4) * 4;
  return teacherFrom(header, bytes.subarray(dataStart));
}

/** Writes MODEL_DIR/model.json and MODEL_DIR/weights.bin. */
export async function saveCheckpointDir(dir: string, meta: CheckpointMeta, weights: Weights): Promise<void> {
  const header = buildHeader(meta, weights);
  const floats = await weightBytes(header, weights);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "weights.bin"), new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength));
  await writeFile(path.join(dir, "model.json"), JSON.stringify(header, null, 2) + "\n");
}

/** Loads a folder written by saveCheckpointDir. */
export async function loadCheckpointDir(dir: string): Promise<Teacher> {
  let json: string;
  let data: Buffer;
  try {
    json = await readFile(path.join(dir, "model.json"), "utf8");
    data = await readFile(path.join(dir, "weights.bin"));
  } catch (err) {
    throw new Error(`checkpoint: cannot read ${dir}/model.json and weights.bin (${(err as Error).message})`);
  }
  return teacherFrom(parseHeader(json), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function parseHeader(json: string): Header {
  let header: Header;
  try {
    header = JSON.parse(json) as Header;
  } catch {
    throw new Error("checkpoint: header is not valid JSON");
  }
  if (header.format !== FORMAT) throw new Error(`checkpoint: format "${String(header.format)}" is not ${FORMAT}`);
  if (header.version !== VERSION) throw new Error(`checkpoint: version ${header.version} is not supported (expected ${VERSION})`);
  validateUNetConfig(header.unet);
  if (header.schedule.noise) validateNoiseSpec(header.schedule.noise);
  return header;
}

function teacherFrom(header: Header, data: Uint8Array): Teacher {
  const total = header.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (data.byteLength < total * 4) throw new Error(`checkpoint: weights are truncated (${data.byteLength} bytes, need ${total * 4})`);
  // Copy into an aligned buffer: a Buffer from a file may start at any byte offset.
  const floats = new Float32Array(data.slice(0, total * 4).buffer);
  const { format: _format, version: _version, tensors, ...meta } = header;
  const model = new UNet(meta.unet);
  const values = new Map<string, tf.Tensor>();
  let offset = 0;
  for (const { name, shape } of tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    values.set(name, tf.tensor(floats.subarray(offset, offset + size), shape));
    offset += size;
  }
  try {
    model.assign(values);
  } catch (err) {
    model.dispose();
    throw new Error(`checkpoint: does not match its architecture: ${(err as Error).message}`);
  } finally {
    tf.dispose([...values.values()]);
  }
  return { model, schedule: makeSchedule(meta.schedule.kind, { T: meta.schedule.T, noise: meta.schedule.noise }), meta };
}
